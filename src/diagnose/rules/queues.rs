//! Rules about data stuck in socket queues: unread receive data (A13) and unsent or
//! unacknowledged send data (A14).

use std::collections::HashMap;

use serde_json::json;

use super::{strings, who};
use crate::diagnose::thresholds::Thresholds;
use crate::diagnose::{Input, Outcome, peer_culprits, plural, process_culprits};
use crate::model::TimerKind;
use crate::report::{Finding, Severity};

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
    let mut summary = format!(
        "{} at least {} KiB of received data the application has not read ({} KiB in all, {} KiB on the worst).",
        if slow.len() == 1 {
            "1 socket holds".to_string()
        } else {
            format!("{} sockets hold", slow.len())
        },
        t.rx_backlog.warn_bytes / 1024,
        bytes / 1024,
        worst / 1024
    );
    if let Some(text) = who(s, &processes, !inodes.is_empty()) {
        summary.push_str(&format!(" Reader: {text}."));
    }
    let mut culprits = processes;
    culprits.extend(peer_culprits(&peers));
    Outcome::Fired(Finding::new(
        "rx_backlog",
        Severity::Warning,
        "Applications not reading their sockets".into(),
        summary,
        json!({
            "sockets": slow.len(),
            "unread_bytes": bytes,
            "worst_bytes": worst,
            "thresholds": { "warn_bytes": t.rx_backlog.warn_bytes },
        }),
        strings(&[
            "The application is blocked: locks, a slow downstream call, garbage-collection pauses.",
            "Its event loop is starved of CPU.",
            "A bug that stops reading one connection.",
        ]),
        vec![
            "sockscope list --sort rx -p | head".into(),
            "nstat -az TcpExtTCPRcvQDrop TcpExtTCPWantZeroWindowAdv TcpExtTCPToZeroWindowAdv"
                .into(),
        ],
        culprits,
        inodes,
    ))
}

pub fn tx_backlog(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.tx_backlog;
    let stuck = &s.obs.tx_trouble;
    if stuck.is_empty() {
        return Outcome::Quiet;
    }
    let worst = stuck.iter().map(|x| x.retransmits).max().unwrap_or(0);
    let zero_window = stuck
        .iter()
        .filter(|x| x.timer == TimerKind::Persist)
        .count();
    let sev = Severity::warning_or_critical(worst >= th.crit_retransmits);
    let mut peers: HashMap<std::net::IpAddr, u64> = HashMap::new();
    for x in stuck {
        *peers.entry(x.remote.ip()).or_default() += 1;
    }
    let inodes: Vec<u64> = stuck.iter().map(|x| x.inode).filter(|&i| i != 0).collect();
    let processes = process_culprits(s, &inodes);
    let culprits_peers = peer_culprits(&peers);
    let worst_peer = match culprits_peers.first() {
        Some(crate::report::Culprit::Peer { addr, .. }) => Some(addr.clone()),
        _ => None,
    };
    let retransmitting = stuck.len() - zero_window;
    let mut parts = Vec::new();
    if retransmitting > 0 {
        parts.push(format!(
            "{retransmitting} retransmitting without an answer (the worst {worst} times)"
        ));
    }
    if zero_window > 0 {
        let queued: u64 = stuck
            .iter()
            .filter(|x| x.timer == TimerKind::Persist)
            .map(|x| u64::from(x.tx_queue))
            .sum();
        parts.push(format!(
            "{zero_window} stalled behind a peer's zero window ({} KiB waiting to be sent)",
            queued / 1024
        ));
    }
    let mut summary = format!(
        "{} cannot deliver data: {}.",
        plural(stuck.len() as u64, "socket"),
        parts.join(", ")
    );
    if let Some(crate::report::Culprit::Peer { addr, count }) = culprits_peers.first() {
        summary.push_str(&format!(" Most point at {addr} ({count})."));
    }
    if let Some(text) = who(s, &processes, !inodes.is_empty()) {
        summary.push_str(&format!(" Sender: {text}."));
    }
    let mut culprits = processes;
    culprits.extend(culprits_peers);
    Outcome::Fired(Finding::new(
        "tx_backlog",
        sev,
        "Connections that cannot deliver their data".into(),
        summary,
        json!({
            "sockets": stuck.len(),
            "zero_window": zero_window,
            "max_retransmits": worst,
            "thresholds": {
                "warn_retransmits": th.warn_retransmits,
                "crit_retransmits": th.crit_retransmits,
                "warn_zero_window_bytes": th.warn_zero_window_bytes,
            },
        }),
        strings(&[
            "The peer is not reading (a zero window).",
            "Packet loss or an MTU black hole on the path.",
            "The peer is dead; without keepalive or TCP_USER_TIMEOUT the connection waits out tcp_retries2 (about 15 minutes).",
        ]),
        vec![
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
        ],
        culprits,
        inodes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{ctx, fired, judge, severity};
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
        assert_eq!(f.evidence["zero_window"], 1);
        assert!(f.summary.contains("4096 KiB waiting"), "{}", f.summary);
        assert_eq!(
            judge(
                tx_backlog,
                &ctx(),
                &[sender(64 << 10, TimerKind::Persist, 0)]
            ),
            Outcome::Quiet
        );
    }

    #[test]
    fn retransmits_warn_then_turn_critical() {
        assert_eq!(
            judge(
                tx_backlog,
                &ctx(),
                &[sender(1000, TimerKind::Retransmit, 4)]
            ),
            Outcome::Quiet
        );
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
        assert_eq!(
            judge(rx_backlog, &ctx(), &[reader((1 << 20) - 1)]),
            Outcome::Quiet
        );
        let f = fired(judge(rx_backlog, &ctx(), &[reader(2 << 20)]));
        assert_eq!(f.evidence["worst_bytes"], 2 << 20);
    }
}
