//! Hand-built observations and remembered runs for the rules' unit tests.

use std::collections::BTreeMap;

use crate::diagnose::observe::Observations;
use crate::diagnose::rule::Rule;
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::Thresholds;
use crate::diagnose::{Input, Outcome, Processes};
use crate::model::{KernelContext, Socket, SocketKind, TcpState, TimerKind};
use crate::report::{Finding, Severity};

/// A stock 6.x kernel's context, as the fixture trees have it.
pub fn ctx() -> KernelContext {
    let mut c = KernelContext::default();
    c.sysctl.ip_local_port_range = Some((32768, 60999));
    c.sysctl.tcp_max_tw_buckets = Some(131072);
    c.sysctl.tcp_max_orphans = Some(131072);
    c.sysctl.tcp_syncookies = Some(1);
    c.sysctl.somaxconn = Some(4096);
    c.sysctl.tcp_mem = Some([287898, 383867, 575796]);
    c.sysctl.tcp_tw_reuse = Some(2);
    c
}

/// Observations of `sockets` (listeners first, as the kernel lists them).
pub fn observe(ctx: &KernelContext, sockets: &[Socket]) -> Observations {
    let mut o = Observations::new(crate::diagnose::observe::Limits::default(), ctx);
    for s in sockets {
        o.count_all(s);
        o.observe(s);
    }
    o
}

/// Runs the one-collection `rule` with the default thresholds and no owners.
pub fn judge(rule: &dyn Rule, ctx: &KernelContext, sockets: &[Socket]) -> Outcome {
    let obs = observe(ctx, sockets);
    let input = Input {
        obs: &obs,
        ctx,
        owners: None,
        processes: Processes::Skipped,
        evidence: None,
        flows: None,
    };
    match rule.judge_once(&input, &Thresholds::default()) {
        Some(outcome) => outcome,
        None => panic!("{} does not judge one collection", rule.id()),
    }
}

/// Runs the `rule` that judges destroy events over `window` (of `secs`), on an empty table
/// and the stock context's port sysctls.
pub fn judge_followed(
    rule: &dyn Rule,
    window: &crate::report::flows::Window,
    secs: f64,
) -> Outcome {
    let ctx = ctx();
    let obs = observe(&ctx, &[]);
    let input = Input {
        obs: &obs,
        ctx: &ctx,
        owners: None,
        processes: Processes::Skipped,
        evidence: None,
        flows: Some(crate::diagnose::flows::Followed {
            window,
            secs,
            sysctls: &ctx.sysctl,
        }),
    };
    match rule.judge_once(&input, &Thresholds::default()) {
        Some(outcome) => outcome,
        None => panic!("{} does not judge destroy events", rule.id()),
    }
}

/// The finding, or a panic saying what came instead.
pub fn fired(outcome: Outcome) -> Finding {
    match outcome {
        Outcome::Fired(f) => f,
        other => panic!("expected a finding, got {other:?}"),
    }
}

/// The finding's facts as the rule's own type, or a panic saying what came instead.
pub fn facts<T: std::any::Any>(f: &Finding) -> &T {
    match f.facts_as::<T>() {
        Some(facts) => facts,
        None => panic!("{} has other facts: {:?}", f.id, f.facts),
    }
}

/// Quiet, or a panic saying what came instead.
pub fn assert_quiet(outcome: Outcome) {
    assert!(
        matches!(outcome, Outcome::Quiet),
        "expected quiet, got {outcome:?}"
    );
}

pub fn severity(outcome: &Outcome) -> Option<Severity> {
    match outcome {
        Outcome::Fired(f) => Some(f.severity),
        _ => None,
    }
}

/// `n` sockets in `state` from `local` toward distinct ports of `peer`, each with
/// `retransmits` and `timer`.
pub fn many(
    n: usize,
    state: TcpState,
    local: &str,
    peer: &str,
    retransmits: u32,
    timer: TimerKind,
) -> Vec<Socket> {
    (0..n)
        .map(|i| {
            let mut s = Socket::for_test(state, local, &format!("{peer}:{}", 40000 + i));
            s.retransmits = retransmits;
            s.timer = timer;
            s
        })
        .collect()
}

/// As [`many`], but request or TIME_WAIT mini-sockets (no inode).
pub fn minis(n: usize, state: TcpState, local: &str, peer: &str, retransmits: u32) -> Vec<Socket> {
    let mut v = many(n, state, local, peer, retransmits, TimerKind::Off);
    for s in &mut v {
        s.kind = if state == TcpState::SynRecv {
            SocketKind::Request
        } else {
            SocketKind::TimeWait
        };
        s.inode = 0;
    }
    v
}

/// `n` sockets in `state` on local port 8080 from distinct ports of 10.0.0.5.
pub fn pile(n: usize, state: TcpState) -> Vec<Socket> {
    many(n, state, "10.0.0.1:8080", "10.0.0.5", 0, TimerKind::Off)
}

/// [`ctx`] with sockstat's orphans, TIME_WAIT and memory pages.
pub fn with_sockstat(orphan: u64, tw: u64, mem: u64) -> KernelContext {
    let mut c = ctx();
    c.sockstat = Some(crate::model::Sockstat {
        orphan,
        tw,
        mem,
        ..Default::default()
    });
    c
}

/// What a two-run rule's test remembers, owned; [`Remembered::runs`] is the rules' view of it.
pub struct Remembered {
    pub now: u64,
    pub stuck_after: u64,
    pub thresholds: Thresholds,
    pub close_wait_now: Vec<u64>,
    pub close_wait: BTreeMap<u64, u64>,
    pub fin_wait2: BTreeMap<u64, u64>,
    pub accept_queues: BTreeMap<String, (u32, u64)>,
    pub history: BTreeMap<String, Vec<u64>>,
}

impl Default for Remembered {
    /// At 1000 s, stuck after 300 s, nothing remembered.
    fn default() -> Remembered {
        Remembered {
            now: 1000,
            stuck_after: 300,
            thresholds: Thresholds::default(),
            close_wait_now: Vec::new(),
            close_wait: BTreeMap::new(),
            fin_wait2: BTreeMap::new(),
            accept_queues: BTreeMap::new(),
            history: BTreeMap::new(),
        }
    }
}

impl Remembered {
    pub fn runs(&self) -> Runs<'_> {
        Runs {
            now: self.now,
            stuck_after: self.stuck_after,
            thresholds: &self.thresholds,
            owners: None,
            close_wait_now: &self.close_wait_now,
            close_wait: &self.close_wait,
            fin_wait2: &self.fin_wait2,
            accept_queues: &self.accept_queues,
            history: &self.history,
            evidence: None,
        }
    }

    /// Runs a rule over the remembered sockets.
    pub fn judge(&self, rule: &dyn Rule) -> Outcome {
        match rule.judge_remembered(&self.runs()) {
            Some(outcome) => outcome,
            None => panic!("{} does not judge remembered sockets", rule.id()),
        }
    }

    /// Runs a rule over an interval of `seconds` from counters `before` to `now`, with the
    /// reset rates of earlier runs.
    pub fn judge_interval(
        &self,
        rule: &dyn Rule,
        seconds: u64,
        before: &[(&str, i64)],
        now: &[(&str, i64)],
        reset_rates: &[f64],
    ) -> Outcome {
        let map = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let (before, now) = (map(before), map(now));
        let interval = Interval::new(seconds * 1000, &before, &now, reset_rates);
        match rule.judge_interval(&self.runs(), &interval) {
            Some(outcome) => outcome,
            None => panic!("{} does not judge an interval", rule.id()),
        }
    }
}
