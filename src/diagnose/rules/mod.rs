//! The rules, grouped by what they look at. Each is `fn(&Input, &Thresholds) -> Outcome`.

pub mod limits;
pub mod listen;
pub mod queues;
pub mod states;

use crate::model::KernelContext;
use crate::report::Culprit;

use super::{Input, Processes};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Why a rule's input is missing, from what the context reader recorded.
fn missing(ctx: &KernelContext, what: &str, per_netns: bool) -> String {
    match ctx.missing.iter().find(|(p, _)| p.ends_with(what)) {
        Some((path, why)) => format!("{what} unknown: cannot read '{}': {why}", path.display()),
        None if per_netns => format!(
            "{what} unknown: with --pid, /proc/sys shows this process's network namespace, not the target's"
        ),
        None => format!("{what} unknown: not a well-formed value"),
    }
}

/// Why no process is named when one was wanted (the `Who:` line names those found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unnamed {
    /// `--no-processes`.
    NotLookedUp,
    /// Looked up, and none found (the attribution notes say why).
    NotIdentified,
}

impl Unnamed {
    pub fn text(self) -> &'static str {
        match self {
            Unnamed::NotLookedUp => "processes not looked up (--no-processes)",
            Unnamed::NotIdentified => {
                "their processes could not be identified (see the attribution notes)"
            }
        }
    }
}

/// Why no process is named among `culprits` when `wanted`; `None` when one is, or none was
/// wanted, or owners are still to be looked up.
fn unnamed(s: &Input, culprits: &[Culprit], wanted: bool) -> Option<Unnamed> {
    let named = culprits
        .iter()
        .any(|c| matches!(c, Culprit::Process { .. }));
    match (named, s.processes) {
        (true, _) => None,
        (false, Processes::Skipped) if wanted => Some(Unnamed::NotLookedUp),
        (false, Processes::LookedUp) if wanted => Some(Unnamed::NotIdentified),
        _ => None,
    }
}

/// ` Holder: processes not looked up (--no-processes).`, or nothing.
fn unnamed_text(role: &str, unnamed: Option<Unnamed>) -> String {
    unnamed.map_or(String::new(), |u| format!(" {role}: {}.", u.text()))
}

/// The first local port of `culprits`, and its count.
fn first_port(culprits: &[Culprit]) -> Option<(u16, u64)> {
    match culprits.first() {
        Some(Culprit::LocalPort { port, count }) => Some((*port, *count)),
        _ => None,
    }
}

/// The first peer of `culprits`, and its count.
fn first_peer(culprits: &[Culprit]) -> Option<(String, u64)> {
    match culprits.first() {
        Some(Culprit::Peer { addr, count }) => Some((addr.clone(), *count)),
        _ => None,
    }
}

/// Hand-built observations for the rules' unit tests.
#[cfg(test)]
pub(crate) mod testkit {
    use crate::diagnose::observe::Observations;
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
        let mut o = Observations::new(&Thresholds::default(), ctx);
        for s in sockets {
            o.count_all(s);
            o.observe(s);
        }
        o
    }

    /// Runs `rule` with the default thresholds and no owners.
    pub fn judge(
        rule: fn(&Input, &Thresholds) -> Outcome,
        ctx: &KernelContext,
        sockets: &[Socket],
    ) -> Outcome {
        let obs = observe(ctx, sockets);
        let input = Input {
            obs: &obs,
            ctx,
            owners: None,
            processes: Processes::Skipped,
        };
        rule(&input, &Thresholds::default())
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
    pub fn minis(
        n: usize,
        state: TcpState,
        local: &str,
        peer: &str,
        retransmits: u32,
    ) -> Vec<Socket> {
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
}
