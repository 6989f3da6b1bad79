//! A14 `tx_backlog`: sockets retransmitting without an answer, or stuck behind a peer's zero
//! window with data queued, per peer. The observations keep only those sockets.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::culprits::{Unnamed, first_peer, peer_culprits, process_culprits, unnamed};
use super::words::{plural, strings, unnamed_text};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::MIB;
use crate::diagnose::{Input, Outcome};
use crate::model::TimerKind;
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<TxBacklog> = RuleDef {
    id: "tx_backlog",
    catalog: "A14",
    meaning: "Sockets retransmitting without answer, or stuck behind a peer's zero window (the persist timer runs) with data queued, per peer.",
    why: "The peer is not reading, is dead, or the path drops packets; without TCP_USER_TIMEOUT such sockets can live for many minutes. The persist timer is the zero-window signal: its probe counter can stay 0 for 30 s and more.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: TxBacklog {
        warn_retransmits: 5,
        crit_retransmits: 10,
        warn_zero_window_bytes: MIB,
    },
    describe: |t| {
        format!(
            "warning at {}+ retransmits or {} MiB behind a zero window; critical at {}+ retransmits",
            t.warn_retransmits,
            t.warn_zero_window_bytes / MIB,
            t.crit_retransmits
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// The thresholds; `[rules.tx_backlog]` in the config file sets them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxBacklog {
    pub warn_retransmits: u32,
    pub crit_retransmits: u32,
    /// A socket whose peer advertises a zero window counts when this much waits to be sent.
    pub warn_zero_window_bytes: u64,
}

fn judge(s: &Input, th: &TxBacklog) -> Outcome {
    let stuck = &s.obs.tx_trouble;
    if stuck.is_empty() {
        return Outcome::Quiet;
    }
    let worst = stuck.iter().map(|x| x.retransmits).max().unwrap_or(0);
    let behind_zero_window = || stuck.iter().filter(|x| x.timer == TimerKind::Persist);
    let sev = Severity::warning_or_critical(worst >= th.crit_retransmits);
    let mut peers: HashMap<std::net::IpAddr, u64> = HashMap::new();
    for x in stuck {
        *peers.entry(x.remote.ip()).or_default() += 1;
    }
    let inodes: Vec<u64> = stuck.iter().map(|x| x.inode).filter(|&i| i != 0).collect();
    let processes = process_culprits(s, &inodes);
    let culprits_peers = peer_culprits(&peers);
    let facts = TxBacklogFacts {
        sockets: stuck.len(),
        zero_window: behind_zero_window().count(),
        max_retransmits: worst,
        thresholds: *th,
        zero_window_bytes: behind_zero_window().map(|x| u64::from(x.tx_queue)).sum(),
        top_peer: first_peer(&culprits_peers),
        unnamed: unnamed(s, &processes, !inodes.is_empty()),
    };
    let worst_peer = facts.top_peer.as_ref().map(|(addr, _)| addr.clone());
    let next = vec![
        match &worst_peer {
            Some(addr) => format!(
                "ss -tnoi '( dst {addr} )'   # retrans, rto, cwnd and timers per connection"
            ),
            None => "ss -tnoi state established".into(),
        },
        match &worst_peer {
            Some(addr) => format!("sockscope list --sort tx -p -o --dst {addr}"),
            None => "sockscope list --sort tx -p -o".into(),
        },
        "Set TCP_USER_TIMEOUT or keepalive on long-lived connections.".into(),
    ];
    let mut culprits = processes;
    culprits.extend(culprits_peers);
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts)
            .with_next_steps(next)
            .with_culprits(culprits)
            .with_inodes(inodes),
    )
}

/// Sockets that cannot deliver: retransmitting without an answer, or behind a zero window.
#[derive(Debug, Serialize)]
pub struct TxBacklogFacts {
    pub sockets: usize,
    /// Behind a peer's zero window (the persist timer runs).
    pub zero_window: usize,
    pub max_retransmits: u32,
    pub thresholds: TxBacklog,
    /// Bytes waiting behind zero windows.
    #[serde(skip)]
    pub zero_window_bytes: u64,
    #[serde(skip)]
    pub top_peer: Option<(String, u64)>,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

impl Facts for TxBacklogFacts {
    fn title(&self) -> String {
        "Connections that cannot deliver their data".into()
    }

    fn summary(&self) -> String {
        let retransmitting = self.sockets - self.zero_window;
        let mut parts = Vec::new();
        if retransmitting > 0 {
            parts.push(format!(
                "{retransmitting} retransmitting without an answer (the worst {} times)",
                self.max_retransmits
            ));
        }
        if self.zero_window > 0 {
            parts.push(format!(
                "{} stalled behind a peer's zero window ({} KiB waiting to be sent)",
                self.zero_window,
                self.zero_window_bytes / 1024
            ));
        }
        let mut summary = format!(
            "{} cannot deliver data: {}.",
            plural(self.sockets as u64, "socket"),
            parts.join(", ")
        );
        if let Some((addr, count)) = &self.top_peer {
            summary.push_str(&format!(" Most point at {addr} ({count})."));
        }
        summary.push_str(&unnamed_text("Sender", self.unnamed));
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "The peer is not reading (a zero window).",
            "Packet loss or an MTU black hole on the path.",
            "The peer is dead; without keepalive or TCP_USER_TIMEOUT the connection waits out tcp_retries2 (about 15 minutes).",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, severity};
    use crate::model::{Socket, TcpState};

    fn sender(tx: u32, timer: TimerKind, retransmits: u32) -> Socket {
        let mut s = Socket::for_test(TcpState::Established, "10.0.0.1:44000", "10.0.0.50:9000");
        s.tx_queue = tx;
        s.timer = timer;
        s.retransmits = retransmits;
        s
    }

    pub(super) fn example() -> Finding {
        fired(judge(
            &RULE,
            &ctx(),
            &[sender(4 << 20, TimerKind::Persist, 0)],
        ))
    }

    #[test]
    fn the_persist_timer_marks_a_zero_window_before_any_probe_is_counted() {
        let f = fired(judge(
            &RULE,
            &ctx(),
            &[sender(4 << 20, TimerKind::Persist, 0)],
        ));
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<TxBacklogFacts>(&f);
        assert_eq!((seen.zero_window, seen.zero_window_bytes), (1, 4 << 20));
        let summary = f.facts.summary();
        assert!(summary.contains("4096 KiB waiting"), "{summary}");
        assert_quiet(judge(
            &RULE,
            &ctx(),
            &[sender(64 << 10, TimerKind::Persist, 0)],
        ));
    }

    #[test]
    fn retransmits_warn_then_turn_critical() {
        assert_quiet(judge(
            &RULE,
            &ctx(),
            &[sender(1000, TimerKind::Retransmit, 4)],
        ));
        let warn = judge(&RULE, &ctx(), &[sender(1000, TimerKind::Retransmit, 5)]);
        assert_eq!(severity(&warn), Some(Severity::Warning));
        let crit = judge(&RULE, &ctx(), &[sender(1000, TimerKind::Retransmit, 10)]);
        assert_eq!(severity(&crit), Some(Severity::Critical));
    }
}
