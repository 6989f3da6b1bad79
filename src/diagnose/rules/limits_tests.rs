//! The limit rules on hand-built observations and context.

use super::*;
use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, minis, severity};
use crate::model::{KernelContext, Sockstat};

/// 167 TIME_WAIT toward `dst` from a 200-port range, `left` ticks before each expires.
fn time_waits(local: &str, dst: &str, left: u64) -> Vec<crate::model::Socket> {
    let mut v = minis(
        167,
        crate::model::TcpState::TimeWait,
        &format!("{local}:40000"),
        "0.0.0.0",
        0,
    );
    for (i, s) in v.iter_mut().enumerate() {
        s.local = format!("{local}:{}", 40000 + i).parse().unwrap();
        s.remote = dst.parse().unwrap();
        s.timer_ticks = left;
    }
    v
}

fn range_and_reuse(reuse: Option<u64>) -> KernelContext {
    let mut c = ctx();
    c.sysctl.ip_local_port_range = Some((40000, 40199));
    c.sysctl.tcp_tw_reuse = reuse;
    c
}

#[test]
fn time_wait_ports_the_kernel_reuses_are_not_counted() {
    let old = time_waits("127.0.0.1", "127.0.0.1:5000", 3000);
    assert_quiet(judge(ephemeral_ports, &range_and_reuse(Some(2)), &old));
    assert_quiet(judge(ephemeral_ports, &range_and_reuse(Some(1)), &old));
    let f = fired(judge(ephemeral_ports, &range_and_reuse(Some(0)), &old));
    assert_eq!(f.severity, Severity::Critical);
    let e = facts::<EphemeralFacts>(&f);
    assert_eq!(e.time_wait_reuse, Reuse::Off);
    assert_eq!((e.ports_in_use, e.usable_ports), (167, 200));
    assert!(
        f.facts.evidence()["time_wait_reuse"]
            .as_str()
            .unwrap()
            .contains("tcp_tw_reuse = 0")
    );
    // Reuse 2 is for loopback only; an unknown setting assumes no reuse.
    let remote = time_waits("10.0.0.1", "10.0.0.5:5432", 3000);
    assert_eq!(
        severity(&judge(ephemeral_ports, &range_and_reuse(Some(2)), &remote)),
        Some(Severity::Critical)
    );
    assert_quiet(judge(ephemeral_ports, &range_and_reuse(Some(1)), &remote));
    let f = fired(judge(ephemeral_ports, &range_and_reuse(None), &old));
    assert_eq!(facts::<EphemeralFacts>(&f).time_wait_reuse, Reuse::Unknown);
    let summary = f.facts.summary();
    assert!(summary.contains("no reuse was assumed"), "{summary}");
    // Less than a second old: not reusable yet.
    let young = time_waits("127.0.0.1", "127.0.0.1:5000", 5950);
    let f = fired(judge(ephemeral_ports, &range_and_reuse(Some(2)), &young));
    assert_eq!(facts::<EphemeralFacts>(&f).time_wait_reusable, 0);
}

#[test]
fn a_missing_port_range_skips_the_rule() {
    let mut c = ctx();
    c.sysctl.ip_local_port_range = None;
    assert!(matches!(
        judge(ephemeral_ports, &c, &[]),
        Outcome::Skipped(_)
    ));
}

fn with_sockstat(orphan: u64, tw: u64, mem: u64) -> KernelContext {
    let mut c = ctx();
    c.sockstat = Some(Sockstat {
        orphan,
        tw,
        mem,
        ..Sockstat::default()
    });
    c
}

#[test]
fn kernel_limits_by_share() {
    // tcp_max_tw_buckets and tcp_max_orphans are 131072 in ctx().
    assert_eq!(
        severity(&judge(
            time_wait_buckets,
            &with_sockstat(0, 110_000, 0),
            &[]
        )),
        Some(Severity::Warning)
    );
    assert_quiet(judge(time_wait_buckets, &with_sockstat(0, 100_000, 0), &[]));
    assert_eq!(
        severity(&judge(orphans, &with_sockstat(70_000, 0, 0), &[])),
        Some(Severity::Critical)
    );
    assert_quiet(judge(orphans, &with_sockstat(30_000, 0, 0), &[]));
    assert_eq!(
        severity(&judge(tcp_memory, &with_sockstat(0, 0, 400_000), &[])),
        Some(Severity::Warning)
    );
    assert_quiet(judge(tcp_memory, &with_sockstat(0, 0, 300_000), &[]));
    let mut c = ctx();
    c.conntrack = Some((950, 1000));
    assert_eq!(
        severity(&judge(conntrack, &c, &[])),
        Some(Severity::Critical)
    );
    c.conntrack = None;
    assert_quiet(judge(conntrack, &c, &[]));
}

#[test]
fn host_wide_limits_missing_in_a_namespace_are_skipped_not_guessed() {
    let mut c = with_sockstat(0, 0, 0);
    c.sysctl.tcp_max_orphans = None;
    c.sysctl.tcp_mem = None;
    assert!(matches!(judge(orphans, &c, &[]), Outcome::Skipped(_)));
    assert!(matches!(judge(tcp_memory, &c, &[]), Outcome::Skipped(_)));
}

#[test]
fn risky_settings_suggests_only_keys_that_exist() {
    let mut c = ctx();
    c.sysctl.tcp_syncookies = Some(0);
    c.sysctl.tcp_max_orphans = None;
    let f = fired(judge(risky_settings, &c, &[]));
    let step = &f.next_steps[0];
    assert!(step.contains("net.ipv4.tcp_syncookies"), "{step}");
    assert!(!step.contains("tcp_max_orphans"), "{step}");
    assert_quiet(judge(risky_settings, &ctx(), &[]));
}
