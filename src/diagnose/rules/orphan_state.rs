//! What FIN_WAIT1 (A7) and LAST_ACK (A9) share: orphans whose FIN is not acknowledged, judged
//! by their number, their retransmits, and FINs resent against the connections the host holds.

use serde::{Deserialize, Serialize};

use super::culprits::{first_peer, first_port, peer_culprits, port_culprits};
use super::words::{pct, plural, strings};
use crate::diagnose::Input;
use crate::diagnose::Outcome;
use crate::diagnose::evidence::Purpose;
use crate::diagnose::observe::Pile;
use crate::model::TcpState;
use crate::report::{Facts, Finding, Severity};

/// The thresholds of both rules; `[rules.fin_wait1_excess]` and `[rules.last_ack_excess]` set
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orphans {
    /// Warning at this many, whatever else the host holds…
    pub warn: u64,
    pub crit: u64,
    /// …or when any socket in the state has retransmitted this often…
    pub warn_retransmits: u32,
    /// …or when this many have already resent their FIN…
    pub warn_resent: u64,
    /// …and they are at least this share of ESTABLISHED (a pile-up relative to the host).
    pub warn_resent_share_of_established: f64,
}

/// The thresholds in words, for the README.
pub fn describe(t: &Orphans) -> String {
    format!(
        "warning at {}, or any with {}+ retransmits, or {} with their FIN resent that are {} of ESTABLISHED; critical at {}",
        t.warn,
        t.warn_retransmits,
        t.warn_resent,
        pct(t.warn_resent_share_of_established),
        t.crit
    )
}

/// Shared shape of the orphan-state rules (FIN_WAIT1, LAST_ACK).
pub fn judge_orphans(
    s: &Input,
    id: &'static str,
    pile: &Pile,
    th: &Orphans,
    words: &'static OrphanWords,
    extra_step: Option<&str>,
) -> Outcome {
    let n = pile.total;
    let established = s.obs.established();
    // Many at once on any host, a socket retransmitting for long, or a pile-up of FINs already
    // resent that is large next to the connections the host holds.
    let piled_up = pile.resent >= th.warn_resent
        && pile.resent as f64 >= th.warn_resent_share_of_established * established as f64;
    let warn = n >= th.warn || (n > 0 && pile.max_retransmits >= th.warn_retransmits) || piled_up;
    let Some(sev) = Severity::from_levels(warn, n >= th.crit) else {
        return Outcome::Quiet;
    };
    let peers = peer_culprits(&pile.by_peer);
    let ports = port_culprits(&pile.by_local_port);
    let facts = OrphanFacts {
        count: n,
        fin_resent: pile.resent,
        established,
        max_retransmits: pile.max_retransmits,
        thresholds: *th,
        words,
        top_port: first_port(&ports),
        top_peer: first_peer(&peers),
    };
    let state = words.state;
    let state_arg = state
        .to_lowercase()
        .replace('_', "-")
        .replace("wait1", "wait-1");
    let mut next = vec![match facts.top_port {
        Some((port, _)) => format!(
            "ss -tno state {state_arg} '( sport = :{port} )'   # timers and retransmits per peer"
        ),
        None => format!("ss -tno state {state_arg}   # timers and retransmits per peer"),
    }];
    next.push(format!(
        "sockscope top --by local-port --by peer --state {state_arg}"
    ));
    next.extend(extra_step.map(str::to_string));
    let mut culprits = ports;
    culprits.extend(peers);
    // How long their peers have been silent (orphans have no holder).
    let (evidence, _) = s
        .evidence
        .map(|e| e.for_finding(Some(words.tcp_state), &[], Purpose::Peers))
        .unwrap_or_default();
    Outcome::Fired(
        Finding::new(id, sev, facts)
            .with_next_steps(next)
            .with_culprits(culprits)
            .with_evidence(evidence),
    )
}

/// Orphans in FIN_WAIT1 or LAST_ACK: how many, how many resent their FIN, against the host.
#[derive(Debug, Serialize)]
pub struct OrphanFacts {
    pub count: u64,
    pub fin_resent: u64,
    pub established: u64,
    pub max_retransmits: u32,
    pub thresholds: Orphans,
    #[serde(skip)]
    pub words: &'static OrphanWords,
    #[serde(skip)]
    pub top_port: Option<(u16, u64)>,
    #[serde(skip)]
    pub top_peer: Option<(String, u64)>,
}

/// What an orphan-state finding says besides its numbers.
#[derive(Debug)]
pub struct OrphanWords {
    /// `FIN_WAIT1`
    pub state: &'static str,
    pub tcp_state: TcpState,
    pub meaning: &'static str,
    pub causes: &'static [&'static str],
}

impl Facts for OrphanFacts {
    fn title(&self) -> String {
        format!(
            "{} stuck in {}",
            plural(self.count, "connection"),
            self.words.state
        )
    }

    fn summary(&self) -> String {
        let mut summary = format!(
            "{} in {} ({} of them resent their FIN; {} ESTABLISHED on the host): {}",
            plural(self.count, "socket"),
            self.words.state,
            self.fin_resent,
            self.established,
            self.words.meaning
        );
        if self.max_retransmits > 0 {
            summary.push_str(&format!(
                " The worst has retransmitted {} times.",
                self.max_retransmits
            ));
        }
        if let Some((port, count)) = self.top_port {
            summary.push_str(&format!(" Most are on local port {port} ({count})"));
            if let Some((addr, count)) = &self.top_peer {
                summary.push_str(&format!(" and point at {addr} ({count})"));
            }
            summary.push('.');
        }
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(self.words.causes)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::diagnose::rule::Rule;
    use crate::diagnose::rules::testkit::{ctx, facts, fired, judge, many, severity};
    use crate::model::{Socket, TcpState, TimerKind};
    use crate::report::Culprit;

    /// `n` orphans (inode 0) in `state` on local port 7000 toward 10.0.0.42.
    pub fn orphans(state: TcpState, n: usize, retransmits: u32) -> Vec<Socket> {
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

    /// 12 orphans of `state` that resent their FIN, beside `established` connections.
    pub fn resending(state: TcpState, established: usize) -> Vec<Socket> {
        let mut v = many(
            established,
            TcpState::Established,
            "10.0.0.1:8080",
            "10.0.1.1",
            0,
            TimerKind::Off,
        );
        v.extend(orphans(state, 12, 2));
        v
    }

    /// What both rules must do: a pile-up of FINs resent is judged against the host.
    pub fn pile_up_relative_to_the_host(rule: &dyn Rule, state: TcpState) {
        let f = fired(judge(rule, &ctx(), &resending(state, 3)));
        assert_eq!(f.severity, Severity::Warning, "{state}");
        let seen = facts::<OrphanFacts>(&f);
        assert_eq!((seen.count, seen.fin_resent, seen.established), (12, 12, 3));
        assert_eq!(seen.top_port, Some((7000, 12)));
        let summary = f.facts.summary();
        assert!(summary.contains("local port 7000 (12)"), "{summary}");
        assert!(
            f.culprits
                .iter()
                .any(|c| matches!(c, Culprit::Peer { addr, .. } if addr == "10.0.0.42"))
        );
        // The same among 10 000 connections, or not yet resent: quiet.
        assert!(
            matches!(
                judge(rule, &ctx(), &resending(state, 10_000)),
                Outcome::Quiet
            ),
            "{state}"
        );
        let mut fresh = resending(state, 3);
        for s in &mut fresh {
            s.retransmits = 0;
        }
        assert!(
            matches!(judge(rule, &ctx(), &fresh), Outcome::Quiet),
            "{state}"
        );
        assert_eq!(
            severity(&judge(rule, &ctx(), &orphans(state, 500, 0))),
            Some(Severity::Critical)
        );
    }
}
