//! Rules about data stuck in socket queues: unread receive data (A13) and unsent or
//! unacknowledged send data (A14).

use std::collections::HashMap;

use serde::Serialize;

use super::{Unnamed, first_peer, strings, unnamed, unnamed_text};
use crate::diagnose::thresholds::{RxBacklog, Thresholds, TxBacklog};
use crate::diagnose::{Input, Outcome, peer_culprits, plural, process_culprits};
use crate::model::TimerKind;
use crate::report::{Facts, Finding, Severity};

pub fn rx_backlog(s: &Input, t: &Thresholds) -> Outcome {
    let slow = &s.obs.rx_backlog;
    if slow.is_empty() {
        return Outcome::Quiet;
    }
    let bytes: u64 = slow.iter().map(|x| u64::from(x.rx_queue)).sum();
    let worst = slow
        .iter()
        .max_by_key(|x| x.rx_queue)
        .map_or(0, |x| x.rx_queue);
    let inodes: Vec<u64> = slow.iter().map(|x| x.inode).filter(|&i| i != 0).collect();
    let processes = process_culprits(s, &inodes);
    let mut peers: HashMap<std::net::IpAddr, u64> = HashMap::new();
    for x in slow {
        *peers.entry(x.remote.ip()).or_default() += 1;
    }
    let facts = RxBacklogFacts {
        sockets: slow.len(),
        unread_bytes: bytes,
        worst_bytes: worst,
        thresholds: t.rx_backlog,
        unnamed: unnamed(s, &processes, !inodes.is_empty()),
    };
    let mut culprits = processes;
    culprits.extend(peer_culprits(&peers));
    Outcome::Fired(
        Finding::new("rx_backlog", Severity::Warning, facts)
            .with_next_steps(vec![
                "sockscope list --sort rx -p | head".into(),
                "nstat -az TcpExtTCPRcvQDrop TcpExtTCPWantZeroWindowAdv TcpExtTCPToZeroWindowAdv"
                    .into(),
            ])
            .with_culprits(culprits)
            .with_inodes(inodes),
    )
}

/// Sockets with at least the threshold of unread data.
#[derive(Debug, Serialize)]
pub struct RxBacklogFacts {
    pub sockets: usize,
    pub unread_bytes: u64,
    pub worst_bytes: u32,
    pub thresholds: RxBacklog,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

impl Facts for RxBacklogFacts {
    fn title(&self) -> String {
        "Applications not reading their sockets".into()
    }

    fn summary(&self) -> String {
        let mut summary = format!(
            "{} at least {} KiB of received data the application has not read ({} KiB in all, {} KiB on the worst).",
            if self.sockets == 1 {
                "1 socket holds".to_string()
            } else {
                format!("{} sockets hold", self.sockets)
            },
            self.thresholds.warn_bytes / 1024,
            self.unread_bytes / 1024,
            self.worst_bytes / 1024
        );
        summary.push_str(&unnamed_text("Reader", self.unnamed));
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "The application is blocked: locks, a slow downstream call, garbage-collection pauses.",
            "Its event loop is starved of CPU.",
            "A bug that stops reading one connection.",
        ])
    }
}

pub fn tx_backlog(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.tx_backlog;
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
        Finding::new("tx_backlog", sev, facts)
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

    #[test]
    fn the_persist_timer_marks_a_zero_window_before_any_probe_is_counted() {
        let f = fired(judge(
            tx_backlog,
            &ctx(),
            &[sender(4 << 20, TimerKind::Persist, 0)],
        ));
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<TxBacklogFacts>(&f);
        assert_eq!((seen.zero_window, seen.zero_window_bytes), (1, 4 << 20));
        let summary = f.facts.summary();
        assert!(summary.contains("4096 KiB waiting"), "{summary}");
        assert_quiet(judge(
            tx_backlog,
            &ctx(),
            &[sender(64 << 10, TimerKind::Persist, 0)],
        ));
    }

    #[test]
    fn retransmits_warn_then_turn_critical() {
        assert_quiet(judge(
            tx_backlog,
            &ctx(),
            &[sender(1000, TimerKind::Retransmit, 4)],
        ));
        let warn = judge(
            tx_backlog,
            &ctx(),
            &[sender(1000, TimerKind::Retransmit, 5)],
        );
        assert_eq!(severity(&warn), Some(Severity::Warning));
        let crit = judge(
            tx_backlog,
            &ctx(),
            &[sender(1000, TimerKind::Retransmit, 10)],
        );
        assert_eq!(severity(&crit), Some(Severity::Critical));
    }

    #[test]
    fn unread_data_warns_from_one_mebibyte() {
        let reader = |rx: u32| {
            let mut s = Socket::for_test(TcpState::Established, "10.0.0.1:9092", "10.0.0.8:50000");
            s.rx_queue = rx;
            s
        };
        assert_quiet(judge(rx_backlog, &ctx(), &[reader((1 << 20) - 1)]));
        let f = fired(judge(rx_backlog, &ctx(), &[reader(2 << 20)]));
        assert_eq!(facts::<RxBacklogFacts>(&f).worst_bytes, 2 << 20);
    }
}
