//! close_wait_excess on hand-built tables: shares, per-process limits, pools and their servers.

use super::*;
use crate::diagnose::rules::testkit::{
    assert_quiet, ctx, facts, fired, judge, many, pile, severity,
};
use crate::model::{Socket, TimerKind};
use crate::report::Finding;

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

pub(super) fn example() -> Finding {
    fired(judge(
        &RULE,
        &ctx(),
        &with(established(100), pile(25, TcpState::CloseWait)),
    ))
}

#[test]
fn close_wait_warns_by_count_and_share_and_is_critical_at_200() {
    let cw = |n| pile(n, TcpState::CloseWait);
    let f = fired(judge(&RULE, &ctx(), &with(established(100), cw(25))));
    assert_eq!(f.severity, Severity::Warning);
    let seen = facts::<CloseWaitFacts>(&f);
    assert_eq!(
        (seen.close_wait, seen.established, seen.top_port),
        (25, 100, Some((8080, 25)))
    );
    assert_quiet(judge(&RULE, &ctx(), &with(established(100), cw(19))));
    // 25 among 1000 ESTABLISHED is under 5%: a busy server's normal churn.
    assert_quiet(judge(&RULE, &ctx(), &with(established(1000), cw(25))));
    let out = judge(&RULE, &ctx(), &with(established(100), cw(210)));
    assert_eq!(severity(&out), Some(Severity::Critical));
}

/// `n` CLOSE_WAIT sockets of a pool on ephemeral ports toward 127.0.0.1:5432, inodes from
/// `first_inode`.
fn pool(n: usize, first_inode: u64) -> Vec<Socket> {
    (0..n)
        .map(|i| {
            let mut s = Socket::for_test(
                TcpState::CloseWait,
                &format!("127.0.0.1:{}", 50000 + i),
                "127.0.0.1:5432",
            );
            s.inode = first_inode + i as u64;
            s
        })
        .collect()
}

/// Judges `sockets` with each of `holders` (pid, comm, inodes) holding its sockets.
fn judge_held(sockets: &[Socket], holders: &[(u32, &str, Vec<u64>)]) -> Finding {
    use crate::report::{Owners, Process, WalkStats};
    let ctx = ctx();
    let obs = crate::diagnose::rules::testkit::observe(&ctx, sockets);
    let processes = holders
        .iter()
        .map(|(pid, comm, _)| Process::for_test(*pid, comm))
        .collect();
    let held = holders
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, inodes))| inodes.iter().map(move |&inode| (inode, i as u32)))
        .collect();
    let owners = Owners::new(processes, held, WalkStats::default());
    let input = Input {
        obs: &obs,
        ctx: &ctx,
        owners: Some(&owners),
        processes: Processes::LookedUp,
        evidence: None,
        flows: None,
    };
    match super::judge(&input, &RULE.defaults) {
        Outcome::Fired(f) => f,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pool_whose_server_closed_is_described_by_that_server() {
    let f = fired(crate::diagnose::rules::testkit::judge(
        &RULE,
        &ctx(),
        &pool(30, 100),
    ));
    let seen = facts::<CloseWaitFacts>(&f);
    assert_eq!(seen.opened_here, 30);
    assert_eq!(seen.top_port, None, "no local port of theirs is a culprit");
    let summary = seen.summary();
    assert!(
        summary.contains(" Most are toward 127.0.0.1:5432 (30)"),
        "{summary}"
    );
    assert!(!summary.contains("local port"), "{summary}");
    assert_eq!(
        f.next_steps[0],
        "ss -tnp state close-wait '( dport = :5432 )'"
    );
    assert_eq!(
        f.culprits.first(),
        Some(&Culprit::Destination {
            local_addr: None,
            addr: "127.0.0.1".into(),
            port: 5432,
            count: 30
        })
    );
}

#[test]
fn the_next_steps_follow_one_culprit_the_largest() {
    // A server leaking 20 accepted connections on :8080 (java), and a pool of 30 toward
    // a database that closed them (python3): the pool's endpoint and holder, not a mix.
    let mut leak = pile(20, TcpState::CloseWait);
    for (i, s) in leak.iter_mut().enumerate() {
        s.inode = 1000 + i as u64;
    }
    let mut sockets = pool(30, 100);
    sockets.extend(leak);
    let holders = [
        (7, "java", (1000..1020).collect()),
        (9, "python3", (100..130).collect()),
    ];
    let f = judge_held(&sockets, &holders);
    assert_eq!(
        f.next_steps[..2],
        [
            "ss -tnp state close-wait '( dport = :5432 )'".to_string(),
            "lsof -nP -p 9 -a -iTCP -sTCP:CLOSE_WAIT".to_string(),
        ]
    );
    assert!(
        f.next_steps
            .iter()
            .all(|s| !s.contains("sport") && !s.contains("-p 7 "))
    );
    let summary = f.facts.summary();
    assert!(
        summary.contains(" Most are toward 127.0.0.1:5432 (30), connections this host opened from ephemeral ports and the server closed; then on local port 8080 (20), and from 10.0.0.5 (20)."),
        "{summary}"
    );
    // The server's leak larger: its port and its holder.
    let mut leak = pile(40, TcpState::CloseWait);
    for (i, s) in leak.iter_mut().enumerate() {
        s.inode = 1000 + i as u64;
    }
    let mut sockets = pool(30, 100);
    sockets.extend(leak);
    let holders = [
        (7, "java", (1000..1040).collect()),
        (9, "python3", (100..130).collect()),
    ];
    let f = judge_held(&sockets, &holders);
    assert_eq!(
        f.next_steps[..2],
        [
            "ss -tnp state close-wait '( sport = :8080 )'".to_string(),
            "lsof -nP -p 7 -a -iTCP -sTCP:CLOSE_WAIT".to_string(),
        ]
    );
}

#[test]
fn mostly_unread_sockets_put_blocked_workers_first() {
    let mut unread = pile(25, TcpState::CloseWait);
    for s in &mut unread[..20] {
        s.rx_queue = 1;
    }
    let f = fired(judge(&RULE, &ctx(), &with(established(100), unread)));
    let seen = facts::<CloseWaitFacts>(&f);
    assert_eq!((seen.unread, seen.read_to_end_not_closed), (20, 5));
    assert!(f.facts.causes()[0].starts_with("Worker threads blocked"));
    let read = example();
    assert!(read.facts.causes()[0].starts_with("A missing close()"));
}
