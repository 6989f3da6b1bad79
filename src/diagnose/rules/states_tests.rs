//! The state rules on hand-built observations.

use super::*;
use crate::diagnose::rules::testkit::{
    assert_quiet, ctx, facts, fired, judge, many, minis, severity,
};
use crate::model::{Socket, TcpState, TimerKind};

fn established(n: usize) -> Vec<Socket> {
    many(
        n,
        TcpState::Established,
        "10.0.0.1:8080",
        "10.0.1.1",
        0,
        TimerKind::Off,
    )
}

fn with(mut base: Vec<Socket>, more: Vec<Socket>) -> Vec<Socket> {
    base.extend(more);
    base
}

#[test]
fn close_wait_warns_by_count_and_share_and_is_critical_at_200() {
    let cw = |n| {
        many(
            n,
            TcpState::CloseWait,
            "10.0.0.1:8080",
            "10.0.0.5",
            0,
            TimerKind::Off,
        )
    };
    let out = judge(close_wait, &ctx(), &with(established(100), cw(25)));
    assert_eq!(severity(&out), Some(Severity::Warning));
    assert_quiet(judge(close_wait, &ctx(), &with(established(100), cw(19))));
    // 25 among 1000 ESTABLISHED is under 5%: a busy server's normal churn.
    assert_quiet(judge(close_wait, &ctx(), &with(established(1000), cw(25))));
    let out = judge(close_wait, &ctx(), &with(established(100), cw(210)));
    assert_eq!(severity(&out), Some(Severity::Critical));
}

#[test]
fn one_resent_syn_to_one_destination_is_no_pattern_five_are() {
    let attempts = |n, r| {
        many(
            n,
            TcpState::SynSent,
            "10.0.0.1:41000",
            "192.0.2.80",
            r,
            TimerKind::Retransmit,
        )
        .into_iter()
        .map(|mut s| {
            // Attempts differ by local port; the destination is the same.
            (s.local, s.remote) = (s.remote, "192.0.2.80:443".parse().unwrap());
            s
        })
        .collect::<Vec<_>>()
    };
    let f = fired(judge(syn_sent, &ctx(), &attempts(30, 1)));
    assert_eq!(f.severity, Severity::Warning);
    let seen = facts::<SynSentFacts>(&f);
    assert_eq!(seen.worst.destination.to_string(), "192.0.2.80:443");
    assert_eq!((seen.worst.retried, seen.destinations_affected), (30, 1));
    let summary = f.facts.summary();
    assert!(summary.contains("at least once"), "{summary}");
    assert_quiet(judge(syn_sent, &ctx(), &attempts(4, 1)));
    // In their first second nothing was resent yet.
    assert_quiet(judge(syn_sent, &ctx(), &attempts(30, 0)));
    assert_eq!(
        severity(&judge(syn_sent, &ctx(), &attempts(50, 1))),
        Some(Severity::Critical)
    );
}

fn orphans(state: TcpState, n: usize, retransmits: u32) -> Vec<Socket> {
    let mut v = many(
        n,
        state,
        "10.0.0.1:7000",
        "10.0.0.42",
        retransmits,
        TimerKind::Retransmit,
    );
    for s in &mut v {
        s.inode = 0;
    }
    v
}

#[test]
fn orphans_resending_their_fin_pile_up_relative_to_the_host() {
    for (rule, state) in [
        (
            fin_wait1 as fn(&Input, &Thresholds) -> Outcome,
            TcpState::FinWait1,
        ),
        (last_ack, TcpState::LastAck),
    ] {
        let f = fired(judge(
            rule,
            &ctx(),
            &with(established(3), orphans(state, 12, 2)),
        ));
        assert_eq!(f.severity, Severity::Warning, "{state}");
        let seen = facts::<OrphanFacts>(&f);
        assert_eq!(seen.top_port, Some((7000, 12)));
        let summary = f.facts.summary();
        assert!(summary.contains("local port 7000 (12)"), "{summary}");
        assert!(
            f.culprits
                .iter()
                .any(|c| matches!(c, Culprit::Peer { addr, .. } if addr == "10.0.0.42"))
        );
        assert_eq!(seen.fin_resent, 12);
        // The same among 10 000 connections, or not yet resent: quiet.
        assert!(
            matches!(
                judge(
                    rule,
                    &ctx(),
                    &with(established(10_000), orphans(state, 12, 2))
                ),
                Outcome::Quiet
            ),
            "{state}"
        );
        assert!(
            matches!(
                judge(rule, &ctx(), &with(established(3), orphans(state, 12, 0))),
                Outcome::Quiet
            ),
            "{state}"
        );
        assert_eq!(
            severity(&judge(rule, &ctx(), &orphans(state, 500, 0))),
            Some(Severity::Critical)
        );
    }
}

#[test]
fn fin_wait2_orphans_toward_one_peer_and_held_ones() {
    let toward = |n| minis(n, TcpState::FinWait2, "10.0.0.1:33000", "10.0.0.7", 0);
    assert_eq!(
        severity(&judge(fin_wait2, &ctx(), &toward(1000))),
        Some(Severity::Warning)
    );
    assert_quiet(judge(fin_wait2, &ctx(), &toward(999)));
    let held = many(
        100,
        TcpState::FinWait2,
        "10.0.0.1:33000",
        "10.0.0.7",
        0,
        TimerKind::Off,
    );
    assert_eq!(
        severity(&judge(fin_wait2, &ctx(), &held)),
        Some(Severity::Info)
    );
}

#[test]
fn closing_warns_at_ten() {
    assert_eq!(
        severity(&judge(closing, &ctx(), &orphans(TcpState::Closing, 10, 0))),
        Some(Severity::Warning)
    );
    assert_quiet(judge(closing, &ctx(), &orphans(TcpState::Closing, 9, 0)));
}

#[test]
fn the_conntrack_sysctl_is_suggested_only_where_conntrack_is_loaded() {
    let pile = orphans(TcpState::LastAck, 50, 0);
    let without = fired(judge(last_ack, &ctx(), &pile));
    assert!(
        !without
            .next_steps
            .iter()
            .any(|s| s.contains("nf_conntrack")),
        "{:?}",
        without.next_steps
    );
    let mut c = ctx();
    c.conntrack = Some((10, 1000));
    let with_ct = fired(judge(last_ack, &c, &pile));
    assert!(
        with_ct
            .next_steps
            .iter()
            .any(|s| s.contains("nf_conntrack_tcp_timeout_last_ack"))
    );
}
