//! `compare` on hand-built runs: first run, counter resets, reboots, growth, stuck sockets.

use std::collections::BTreeMap;

use super::*;
use crate::diagnose::rules::close_wait_growing::GrowingFacts;
use crate::diagnose::rules::counter_rose::CounterRose;
use crate::diagnose::rules::resets_spike::ResetsFacts;
use crate::diagnose::rules::stuck::StuckFacts;
use crate::diagnose::runs::RESET_COUNTERS;
use crate::model::{Family, KernelContext, Socket};
use crate::report::Severity;

/// One run: its time, boot, CLOSE_WAIT sockets (by inode) and counters.
struct Run {
    now: u64,
    boot: &'static str,
    netns: Option<u64>,
    close_wait: Vec<u64>,
    counters: BTreeMap<String, i64>,
}

fn run(now: u64, close_wait: &[u64], counters: &[(&str, i64)]) -> Run {
    Run {
        now,
        boot: "boot-a",
        netns: Some(4026531840),
        close_wait: close_wait.to_vec(),
        counters: counters.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

/// Compares `r` with `prev` (stuck after 300 s); returns the comparison.
fn compare_run(prev: Option<&Saved>, r: &Run) -> Comparison {
    let ctx = KernelContext::default();
    let mut obs = Observations::new(crate::diagnose::observe::Limits::default(), &ctx);
    let mut tally = Tally::default();
    for &inode in &r.close_wait {
        let mut s = Socket::for_test(TcpState::CloseWait, "10.0.0.1:8080", "10.0.0.5:50000");
        s.inode = inode;
        obs.observe(&s);
        tally.add(Family::Ipv4, TcpState::CloseWait);
    }
    let cur = Current {
        now: r.now,
        now_ms: r.now * 1000,
        boot_id: Some(r.boot),
        netns: r.netns,
        tally: &tally,
        counters: &r.counters,
        obs: &obs,
        evidence: None,
    };
    compare(prev, &cur, &Settings::default(), 300, None)
}

fn ids(c: &Comparison) -> Vec<&str> {
    c.findings.iter().map(|f| f.id).collect()
}

#[test]
fn the_first_run_only_remembers() {
    let c = compare_run(None, &run(1000, &[1, 2], &[("TcpExt.ListenOverflows", 5)]));
    assert!(c.findings.is_empty());
    assert!(c.notes[0].contains("first run"), "{:?}", c.notes);
    assert_eq!(c.next.close_wait, BTreeMap::from([(1, 1000), (2, 1000)]));
}

#[test]
fn a_counter_that_grew_fires_and_one_that_went_backwards_is_a_reset() {
    let first = compare_run(None, &run(1000, &[], &[("TcpExt.ListenOverflows", 5)])).next;
    let grew = compare_run(
        Some(&first),
        &run(1060, &[], &[("TcpExt.ListenOverflows", 42)]),
    );
    assert_eq!(ids(&grew), vec!["listen_overflows"]);
    let rose = grew.findings[0].facts_as::<CounterRose>().unwrap();
    assert_eq!((rose.counter, rose.delta), ("TcpExt.ListenOverflows", 37));
    assert_eq!(rose.interval_s, 60.0);
    let reset = compare_run(
        Some(&first),
        &run(1060, &[], &[("TcpExt.ListenOverflows", 2)]),
    );
    assert!(reset.findings.is_empty(), "{:?}", ids(&reset));
    assert!(
        reset
            .notes
            .iter()
            .any(|n| n.contains("went backwards") && n.contains("counter reset")),
        "{:?}",
        reset.notes
    );
}

#[test]
fn a_reboot_skips_the_rates() {
    let first = compare_run(None, &run(1000, &[], &[("TcpExt.ListenOverflows", 5)])).next;
    let mut after = run(1060, &[], &[("TcpExt.ListenOverflows", 900)]);
    after.boot = "boot-b";
    let c = compare_run(Some(&first), &after);
    assert!(c.findings.is_empty(), "{:?}", ids(&c));
    assert!(
        c.notes.iter().any(|n| n.contains("rebooted")),
        "{:?}",
        c.notes
    );
}

#[test]
fn close_wait_growing_over_three_runs_is_critical() {
    let inodes = |n: u64| (1..=n).collect::<Vec<_>>();
    let a = compare_run(None, &run(1000, &inodes(20), &[])).next;
    let b = compare_run(Some(&a), &run(1060, &inodes(30), &[])).next;
    let c = compare_run(Some(&b), &run(1120, &inodes(40), &[]));
    let growing = c
        .findings
        .iter()
        .find(|f| f.id == "close_wait_growing")
        .unwrap();
    assert_eq!(growing.severity, Severity::Critical);
    assert_eq!(
        growing.facts_as::<GrowingFacts>().unwrap().series,
        [20, 30, 40]
    );
    // Up and down is a burst, not a leak.
    let c = compare_run(Some(&a), &run(1060, &inodes(10), &[]));
    assert!(!ids(&c).contains(&"close_wait_growing"));
}

#[test]
fn the_same_sockets_across_runs_are_stuck_new_ones_are_not() {
    let a = compare_run(None, &run(1000, &[1, 2, 3], &[])).next;
    // 200 s later: not yet past --stuck-after 300.
    let b = compare_run(Some(&a), &run(1200, &[1, 2, 3, 4], &[]));
    assert!(!ids(&b).contains(&"close_wait_stuck"));
    // 400 s after the first sighting: 1 and 2 are stuck; 3 closed; 4 is only 200 s old.
    let c = compare_run(Some(&b.next), &run(1400, &[1, 2, 4], &[]));
    let stuck = c
        .findings
        .iter()
        .find(|f| f.id == "close_wait_stuck")
        .unwrap();
    assert_eq!(stuck.inodes, vec![1, 2]);
    let facts = stuck.facts_as::<StuckFacts>().unwrap();
    assert_eq!((facts.sockets, facts.oldest_s), (2, 400));
}

#[test]
fn resets_after_quiet_runs_say_so_instead_of_an_infinite_ratio() {
    let mut saved = compare_run(None, &run_resets(0)).next;
    // Three quiet runs a minute apart: the usual rate is 0/s.
    for (i, now) in [1060, 1120, 1180].into_iter().enumerate() {
        let mut r = run_resets(0);
        r.now = now;
        let c = compare_run(Some(&saved), &r);
        assert!(c.findings.is_empty(), "run {i}: {:?}", ids(&c));
        saved = c.next;
    }
    let mut burst = run_resets(600);
    burst.now = 1240;
    let c = compare_run(Some(&saved), &burst);
    assert_eq!(ids(&c), vec!["resets_spike"]);
    let facts = c.findings[0].facts_as::<ResetsFacts>().unwrap();
    assert_eq!((facts.per_second, facts.median_per_second), (10.0, 0.0));
    let title = &c.findings[0].facts.title();
    assert!(
        title.contains("10.0/s") && title.contains("usually none"),
        "{title}"
    );
    assert!(!title.contains("inf"), "{title}");
}

/// A run at 1000 s whose reset counters add up to `resets`.
fn run_resets(resets: i64) -> Run {
    let mut r = run(1000, &[], &[]);
    for name in RESET_COUNTERS {
        r.counters.insert(name.to_string(), 0);
    }
    r.counters.insert("Tcp.EstabResets".into(), resets);
    r
}

#[test]
fn remembered_sockets_come_before_rates_and_resets_are_noted_in_reading_order() {
    let counters = |v: i64| {
        let mut c: Vec<(&str, i64)> = vec![
            ("TcpExt.ListenOverflows", v),
            ("Tcp.RetransSegs", v),
            ("Tcp.OutSegs", v),
        ];
        c.extend(RESET_COUNTERS.iter().map(|n| (*n, v)));
        c
    };
    let first = compare_run(None, &run(1000, &[1], &counters(50))).next;
    // The same socket 400 s later, and one overflow more: two warnings, the socket first.
    let c = compare_run(Some(&first), &run(1400, &[1], &counters(51)));
    assert_eq!(ids(&c), vec!["close_wait_stuck", "listen_overflows"]);
    assert_eq!(c.next.reset_rates, vec![6.0 / 400.0]);
    // Every counter went backwards: each is said once, in the order the rules read them, and
    // the reset rate stops at the first counter that was reset.
    let c = compare_run(Some(&first), &run(1400, &[1], &counters(7)));
    assert_eq!(ids(&c), vec!["close_wait_stuck"]);
    let reset: Vec<&str> = c
        .notes
        .iter()
        .map(|n| n.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        reset,
        vec![
            "TcpExt.ListenOverflows",
            "Tcp.RetransSegs",
            "Tcp.OutSegs",
            "Tcp.EstabResets"
        ]
    );
    assert!(c.next.reset_rates.is_empty());
}

/// No socket outlives a reboot, and inode numbers start again with the new boot: inode 9 now
/// is another socket than the inode 9 of the file, first seen before this boot.
#[test]
fn a_reboot_forgets_the_reset_rates_and_the_sockets() {
    let mut saved = compare_run(None, &run_resets(0)).next;
    saved.reset_rates = vec![1.0, 2.0];
    let mut after = run_resets(0);
    after.now = 1400;
    after.boot = "boot-b";
    after.close_wait = vec![9];
    saved.close_wait.insert(9, 1000);
    let c = compare_run(Some(&saved), &after);
    assert!(c.next.reset_rates.is_empty());
    assert!(c.findings.is_empty(), "{:?}", ids(&c));
    assert_eq!(c.next.close_wait, BTreeMap::from([(9, 1400)]));
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("rebooted") && n.contains("sockets are followed afresh")),
        "{:?}",
        c.notes
    );
}

/// The last run's clock said 1970 (a machine without a clock battery, before NTP): its times
/// are not this clock's, and a socket "first seen" then is not 56 years old.
#[test]
fn a_state_file_written_by_a_clock_decades_behind_starts_afresh() {
    let listen = |v| [("TcpExt.ListenOverflows", v)];
    let first = compare_run(None, &run(100, &[1, 2], &listen(5))).next;
    let now = 1_796_606_610;
    let c = compare_run(Some(&first), &run(now, &[1, 2], &listen(900)));
    assert!(c.findings.is_empty(), "{:?}", ids(&c));
    assert_eq!(c.next.close_wait, BTreeMap::from([(1, now), (2, now)]));
    assert!(
        c.notes.iter().any(|n| n.contains(
            "the state file was written 1796606510 s before this run (more than a year: a clock that was wrong then, or a file left unused)"
        ) && n.ends_with(": starting afresh")),
        "{:?}",
        c.notes
    );
    // The next run compares with this one as usual.
    let again = compare_run(Some(&c.next), &run(now + 400, &[1, 2], &listen(901)));
    assert_eq!(ids(&again), vec!["close_wait_stuck", "listen_overflows"]);
}

/// The last run's clock was years ahead (a wrong RTC, then NTP set it back): its times are in
/// this run's future. Kept, its sockets would never age until the clock caught up.
#[test]
fn a_state_file_written_by_a_clock_years_ahead_starts_afresh() {
    let now = 1_796_606_610;
    let later = now + 10 * 366 * 86_400;
    let first = compare_run(None, &run(later, &[1, 2], &[])).next;
    let c = compare_run(Some(&first), &run(now, &[1, 2], &[]));
    assert_eq!(c.next.close_wait, BTreeMap::from([(1, now), (2, now)]));
    assert!(
        c.notes.iter().any(|n| n.contains(&format!(
            "the state file was written {} s after this run's time (a clock that was ahead then, or has been set back)",
            later - now
        )) && n.ends_with(": starting afresh")),
        "{:?}",
        c.notes
    );
    let again = compare_run(Some(&c.next), &run(now + 400, &[1, 2], &[]));
    assert_eq!(ids(&again), vec!["close_wait_stuck"]);

    // A few seconds ahead is a clock stepped back a little: the file is kept, and a sighting
    // after this run's time counts from now.
    let mut prev = compare_run(None, &run(now - 600, &[1, 2], &[])).next;
    prev.written_at = now + 5;
    prev.written_at_ms = (now + 5) * 1000;
    prev.close_wait.insert(2, now + 5);
    let c = compare_run(Some(&prev), &run(now, &[1, 2], &[]));
    assert_eq!(
        c.next.close_wait,
        BTreeMap::from([(1, now - 600), (2, now)])
    );
    assert!(
        !c.notes.iter().any(|n| n.contains("starting afresh")),
        "{:?}",
        c.notes
    );
}

/// Times a file of ours could not hold: a first sighting after the file was written, or more
/// than a year ago. Counted from now, and said.
#[test]
fn first_sightings_the_file_could_not_have_written_count_from_now() {
    let now = 2_000_000_000;
    let mut prev = compare_run(None, &run(now - 600, &[1, 2, 3], &[])).next;
    prev.close_wait.insert(1, 100);
    prev.close_wait.insert(2, now - 60);
    let c = compare_run(Some(&prev), &run(now, &[1, 2, 3], &[]));
    assert_eq!(
        c.next.close_wait,
        BTreeMap::from([(1, now), (2, now), (3, now - 600)])
    );
    let stuck = c
        .findings
        .iter()
        .find(|f| f.id == "close_wait_stuck")
        .unwrap();
    assert_eq!(stuck.inodes, vec![3]);
    let facts = stuck.facts_as::<StuckFacts>().unwrap();
    assert_eq!((facts.sockets, facts.oldest_s), (1, 600));
    assert!(
        c.notes.iter().any(|n| n.starts_with(
            "2 first sightings in the state file are after it was written or more than a year old"
        )),
        "{:?}",
        c.notes
    );
}

#[test]
fn another_namespaces_state_file_starts_afresh() {
    let listen = [("TcpExt.ListenOverflows", 100)];
    let first = compare_run(None, &run(1000, &[], &listen));
    // The same file, next run, in another namespace with its own (higher) counters.
    let mut other = run(1060, &[], &[("TcpExt.ListenOverflows", 187)]);
    other.netns = Some(4026532999);
    let c = compare_run(Some(&first.next), &other);
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    assert!(
        c.notes.iter().any(
            |n| n.contains("another network namespace (net:[4026531840])")
                && n.contains("net:[4026532999]")
        ),
        "{:?}",
        c.notes
    );
    assert_eq!(c.next.netns, Some(4026532999));
    // The same namespace again compares as usual.
    let mut same = run(1120, &[], &[("TcpExt.ListenOverflows", 190)]);
    same.netns = Some(4026532999);
    let again = compare_run(Some(&c.next), &same);
    assert!(
        again.findings.iter().any(|f| f.id == "listen_overflows"),
        "{:?}",
        again.notes
    );
}
