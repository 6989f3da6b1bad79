//! A8 `fin_wait2_excess`: orphaned FIN_WAIT2 sockets piling up toward one peer (a CLOSE_WAIT
//! leak on its side), and sockets still held by a process after shutdown().

use serde::{Deserialize, Serialize};

use super::culprits::{Unnamed, peer_culprits, process_culprits, top, unnamed};
use super::words::{plural, strings, unnamed_text};
use crate::diagnose::evidence::Purpose;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome};
use crate::model::TcpState;
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<FinWait2> = RuleDef {
    id: "fin_wait2_excess",
    catalog: "A8",
    meaning: "FIN_WAIT2 sockets: orphaned ones (bounded by tcp_fin_timeout) per peer, and ones still held by a process after shutdown().",
    why: "Many orphans toward one peer mean that peer does not close: a CLOSE_WAIT leak on its side.",
    governs: Some(TcpState::FinWait2),
    reads: Reads::holders_of(TcpState::FinWait2),
    defaults: FinWait2 {
        warn_orphans_per_peer: 1000,
        info_held: 100,
    },
    describe: |t| {
        format!(
            "warning at {} orphaned toward one peer; information at {} held",
            t.warn_orphans_per_peer, t.info_held
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// The thresholds; `[rules.fin_wait2_excess]` in the config file sets them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinWait2 {
    /// Warning when this many orphaned FIN_WAIT2 sockets point at one peer.
    pub warn_orphans_per_peer: u64,
    /// Information when this many FIN_WAIT2 sockets are still held by their process.
    pub info_held: u64,
}

fn judge(s: &Input, th: &FinWait2) -> Outcome {
    let orphaned = &s.obs.fin_wait2_orphaned;
    let held = &s.obs.fin_wait2_held;
    let worst_peer = top(&orphaned.by_peer, 1).into_iter().next();
    let warn = worst_peer
        .as_ref()
        .is_some_and(|(_, n)| *n >= th.warn_orphans_per_peer);
    let info = held.total >= th.info_held;
    let sev = match (warn, info) {
        (true, _) => Severity::Warning,
        (false, true) => Severity::Info,
        _ => return Outcome::Quiet,
    };
    let processes = process_culprits(s, &held.inodes);
    let facts = FinWait2Facts {
        orphaned: orphaned.total,
        held: held.total,
        fin_timeout_s: s.ctx.sysctl.tcp_fin_timeout,
        thresholds: *th,
        not_closing: worst_peer.filter(|_| warn),
        unnamed: unnamed(s, &processes, true),
    };
    let mut culprits = processes;
    culprits.extend(peer_culprits(&orphaned.by_peer));
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts)
            .with_next_steps(vec![
                "sockscope top --by peer --state fin-wait-2".into(),
                "sysctl net.ipv4.tcp_fin_timeout".into(),
            ])
            .with_evidence(
                s.evidence
                    .map(|e| {
                        e.for_finding(Some(TcpState::FinWait2), &culprits, Purpose::Release)
                            .0
                    })
                    .unwrap_or_default(),
            )
            .with_culprits(culprits)
            .with_inodes(held.inodes.clone()),
    )
}

/// FIN_WAIT2: orphans waiting for a peer to close, and sockets still held after shutdown().
#[derive(Debug, Serialize)]
pub struct FinWait2Facts {
    pub orphaned: u64,
    pub held: u64,
    pub fin_timeout_s: Option<u64>,
    pub thresholds: FinWait2,
    /// The peer with the most orphans waiting for it, when they are past the threshold.
    #[serde(skip)]
    pub not_closing: Option<(std::net::IpAddr, u64)>,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

impl Facts for FinWait2Facts {
    fn title(&self) -> String {
        format!(
            "{} waiting in FIN_WAIT2",
            plural(self.orphaned + self.held, "connection")
        )
    }

    fn summary(&self) -> String {
        let mut summary = String::new();
        if let Some((peer, n)) = self.not_closing {
            summary.push_str(&format!(
                "{n} orphaned FIN_WAIT2 sockets wait for {peer} to close its side: that peer keeps connections in CLOSE_WAIT (a leak on its side). Each lasts up to tcp_fin_timeout. "
            ));
        }
        if self.held >= self.thresholds.info_held {
            summary.push_str(&format!(
                "{} FIN_WAIT2 sockets are still held by a process after shutdown(SHUT_WR); no timer ends them.",
                self.held
            ));
            summary.push_str(&unnamed_text("Holder", self.unnamed));
        }
        summary.trim_end().to_string()
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "The peer does not close its side: look for a CLOSE_WAIT leak there (sockscope on the peer).",
            "This host half-closes connections (shutdown) and keeps them open waiting for the peer.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, many, minis};
    use crate::model::TimerKind;

    pub(super) fn example() -> Finding {
        let toward = minis(1000, TcpState::FinWait2, "10.0.0.1:33000", "10.0.0.7", 0);
        fired(judge(&RULE, &ctx(), &toward))
    }

    #[test]
    fn fin_wait2_orphans_toward_one_peer_and_held_ones() {
        let toward = |n| minis(n, TcpState::FinWait2, "10.0.0.1:33000", "10.0.0.7", 0);
        let f = fired(judge(&RULE, &ctx(), &toward(1000)));
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<FinWait2Facts>(&f);
        assert_eq!(seen.orphaned, 1000);
        assert_eq!(seen.not_closing, Some(("10.0.0.7".parse().unwrap(), 1000)));
        assert_quiet(judge(&RULE, &ctx(), &toward(999)));
        let held = many(
            100,
            TcpState::FinWait2,
            "10.0.0.1:33000",
            "10.0.0.7",
            0,
            TimerKind::Off,
        );
        let f = fired(judge(&RULE, &ctx(), &held));
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(
            (facts::<FinWait2Facts>(&f).held, f.inodes.len()),
            (100, 100)
        );
    }
}
