//! What the README says about each rule: its meaning, its defaults and why, generated from the
//! same thresholds the code uses (a test keeps the README in sync).

use super::thresholds::{MIB, Thresholds};

/// What the README and `--help` say about one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    pub id: &'static str,
    /// Entry in `reference/diagnostics.md`.
    pub catalog: &'static str,
    pub meaning: &'static str,
    pub defaults: String,
    pub why: &'static str,
}

fn pct(f: f64) -> String {
    format!("{}%", (f * 100.0).round())
}

/// Every rule with its defaults, in the order the catalog lists them.
pub fn catalog(t: &Thresholds) -> Vec<RuleDoc> {
    vec![
        RuleDoc {
            id: "close_wait_excess",
            catalog: "A1",
            meaning: "Sockets whose peer has closed but the local application never called close(). Names the process, local port and peer, and whether the application still reads (Recv-Q 1: the peer's FIN is unread).",
            defaults: format!(
                "warning at {} and {} of ESTABLISHED; critical at {}, or {} in one process, or a holder at {} of its RLIMIT_NOFILE",
                t.close_wait.warn,
                pct(t.close_wait.warn_share_of_established),
                t.close_wait.crit,
                t.close_wait.crit_per_process,
                pct(t.close_wait.crit_fd_share)
            ),
            why: "No timer ends CLOSE_WAIT: each one is an fd leaked until the process exits. A few are in flight on any busy server; a share of ESTABLISHED scales with the machine.",
        },
        RuleDoc {
            id: "ephemeral_port_pressure",
            catalog: "A2",
            meaning: "Local ports from ip_local_port_range used toward one destination (local IP, remote IP, remote port) against the usable range. TIME_WAIT ports count unless tcp_tw_reuse lets connect() take them over (1, or the default 2 toward loopback, once a second old).",
            defaults: format!(
                "warning at {}, critical at {} of the range minus reserved ports",
                pct(t.ephemeral_ports.warn),
                pct(t.ephemeral_ports.crit)
            ),
            why: "Exhaustion is per destination, not per host: connect() fails with EADDRNOTAVAIL once one destination has used every port that cannot be reused. Counting reusable TIME_WAIT ports raised false criticals on loopback, where 150 further connects succeeded.",
        },
        RuleDoc {
            id: "time_wait_buckets",
            catalog: "A3",
            meaning: "TIME_WAIT sockets (sockstat tw) against net.ipv4.tcp_max_tw_buckets.",
            defaults: format!(
                "warning at {}, critical at {} of the limit",
                pct(t.time_wait_buckets.warn),
                pct(t.time_wait_buckets.crit)
            ),
            why: "At the limit the kernel closes connections without TIME_WAIT (TCPTimeWaitOverflow). TIME_WAIT totals alone are harmless.",
        },
        RuleDoc {
            id: "syn_recv_flood",
            catalog: "A4",
            meaning: "Half-open connections (SYN_RECV) per listening port, with how many sources and how many had their SYN-ACK resent (the client never sent the final ACK).",
            defaults: format!(
                "warning at {} on one port, or {} with their SYN-ACK resent that are {} of the listener's connections; critical at {} (one level higher with tcp_syncookies=0)",
                t.syn_recv.warn,
                t.syn_recv.warn_resent,
                pct(t.syn_recv.warn_resent_share),
                t.syn_recv.crit
            ),
            why: "A healthy handshake lasts one round trip, so resent SYN-ACKs are the signal: dropped final ACKs (firewall, asymmetric path) or a spoofed flood. Weighed against the listener's traffic (its connections in every state, TIME_WAIT included) so a few lossy clients on a busy port stay quiet.",
        },
        RuleDoc {
            id: "accept_queue_overflow",
            catalog: "A5",
            meaning: "Connections completed by the kernel but not yet accept()ed, per listener (LISTEN Recv-Q).",
            defaults: format!(
                "warning at {} waiting or {} of the backlog (sock_diag reports it; with /proc, net.core.somaxconn bounds it); critical when the queue reaches the backlog",
                t.accept_queue.warn,
                pct(t.accept_queue.warn_share_of_somaxconn)
            ),
            why: "A full queue drops new SYNs (ListenOverflows): clients see timeouts while the service looks idle. /proc does not show each listener's backlog, only its upper bound somaxconn; sock_diag does.",
        },
        RuleDoc {
            id: "syn_sent_stuck",
            catalog: "A6",
            meaning: "Outgoing connections still waiting for a SYN-ACK, per destination, after resending their SYN.",
            defaults: format!(
                "warning at {} to one destination that have each resent their SYN {}+ times; critical at {}, or {} destinations at once",
                t.syn_sent.warn,
                t.syn_sent.min_retransmits,
                t.syn_sent.crit,
                t.syn_sent.crit_destinations
            ),
            why: "A refused connection fails at once; only silently dropped SYNs pile up (firewall, dead host, full remote queue). One lost SYN is not a pattern, several to one destination are: one resend (about a second) flags an outage in its first seconds.",
        },
        RuleDoc {
            id: "fin_wait1_excess",
            catalog: "A7",
            meaning: "Our FIN not yet acknowledged, often with unsent data, usually orphaned.",
            defaults: format!(
                "warning at {}, or any with {}+ retransmits, or {} with their FIN resent that are {} of ESTABLISHED; critical at {}",
                t.fin_wait1.warn,
                t.fin_wait1.warn_retransmits,
                t.fin_wait1.warn_resent,
                pct(t.fin_wait1.warn_resent_share_of_established),
                t.fin_wait1.crit
            ),
            why: "The peer is not reading (zero window) or is gone; orphans hold memory until tcp_orphan_retries gives up. A FIN resent is never part of a healthy close, so a pile of them counts relative to the connections the host holds.",
        },
        RuleDoc {
            id: "fin_wait2_excess",
            catalog: "A8",
            meaning: "FIN_WAIT2 sockets: orphaned ones (bounded by tcp_fin_timeout) per peer, and ones still held by a process after shutdown().",
            defaults: format!(
                "warning at {} orphaned toward one peer; information at {} held",
                t.fin_wait2.warn_orphans_per_peer, t.fin_wait2.info_held
            ),
            why: "Many orphans toward one peer mean that peer does not close: a CLOSE_WAIT leak on its side.",
        },
        RuleDoc {
            id: "last_ack_excess",
            catalog: "A9",
            meaning: "Our FIN, sent after the peer's, not yet acknowledged.",
            defaults: format!(
                "warning at {}, or any with {}+ retransmits, or {} with their FIN resent that are {} of ESTABLISHED; critical at {}",
                t.last_ack.warn,
                t.last_ack.warn_retransmits,
                t.last_ack.warn_resent,
                pct(t.last_ack.warn_resent_share_of_established),
                t.last_ack.crit
            ),
            why: "Normally one round trip; a pile-up of resent FINs means the peer vanished or a firewall forgot the connection.",
        },
        RuleDoc {
            id: "closing_excess",
            catalog: "A10",
            meaning: "Simultaneous closes whose FIN is not acknowledged.",
            defaults: format!(
                "warning at {}, critical at {}",
                t.closing.warn, t.closing.crit
            ),
            why: "Rare in healthy traffic; suggests lost ACKs or middleboxes mangling FINs.",
        },
        RuleDoc {
            id: "orphans_near_limit",
            catalog: "A11",
            meaning: "Orphaned sockets (sockstat orphan, host-wide) against net.ipv4.tcp_max_orphans.",
            defaults: format!(
                "warning at {}, critical at {} of the limit",
                pct(t.orphans.warn),
                pct(t.orphans.crit)
            ),
            why: "The kernel may start resetting orphans at a quarter of the limit (\"too many orphaned sockets\").",
        },
        RuleDoc {
            id: "tcp_memory_pressure",
            catalog: "A12",
            meaning: "TCP memory (sockstat mem, pages) against net.ipv4.tcp_mem.",
            defaults: format!(
                "warning at the pressure threshold (tcp_mem[1]); critical at {} of tcp_mem[2]",
                pct(t.tcp_memory.crit)
            ),
            why: "Under pressure the kernel shrinks buffers; past the maximum it drops data and logs \"out of memory -- consider tuning tcp_mem\".",
        },
        RuleDoc {
            id: "rx_backlog",
            catalog: "A13",
            meaning: "Sockets with unread received data (Recv-Q), per process: a slow or stuck reader.",
            defaults: format!(
                "warning at {} MiB unread on one socket",
                t.rx_backlog.warn_bytes / MIB
            ),
            why: "Unread data means the application is not reading: blocked workers, a starved event loop, or a bug.",
        },
        RuleDoc {
            id: "tx_backlog",
            catalog: "A14",
            meaning: "Sockets retransmitting without answer, or stuck behind a peer's zero window (the persist timer runs) with data queued, per peer.",
            defaults: format!(
                "warning at {}+ retransmits or {} MiB behind a zero window; critical at {}+ retransmits",
                t.tx_backlog.warn_retransmits,
                t.tx_backlog.warn_zero_window_bytes / MIB,
                t.tx_backlog.crit_retransmits
            ),
            why: "The peer is not reading, is dead, or the path drops packets; without TCP_USER_TIMEOUT such sockets can live for many minutes. The persist timer is the zero-window signal: its probe counter can stay 0 for 30 s and more.",
        },
        RuleDoc {
            id: "conntrack_near_limit",
            catalog: "A15",
            meaning: "Connection-tracking entries against nf_conntrack_max (only when the module is loaded).",
            defaults: format!(
                "warning at {}, critical at {} of the limit",
                pct(t.conntrack.warn),
                pct(t.conntrack.crit)
            ),
            why: "A full table drops new packets (\"nf_conntrack: table full, dropping packet\").",
        },
        RuleDoc {
            id: "risky_settings",
            catalog: "A18",
            meaning: "Settings worth knowing during an incident: syncookies off, a small somaxconn, a low TIME_WAIT or orphan limit that is a quarter used, tcp_tw_reuse changed.",
            defaults: "information only".to_string(),
            why: "Not wrong in themselves, but each changes how the failures above play out.",
        },
    ]
}

/// The README's "Diagnostics" table, generated from the same defaults the code uses.
pub fn catalog_markdown(t: &Thresholds) -> String {
    let mut out =
        String::from("| id | what it means | default thresholds | why |\n|---|---|---|---|\n");
    for r in catalog(t) {
        out.push_str(&format!(
            "| `{}` ({}) | {} | {} | {} |\n",
            r.id, r.catalog, r.meaning, r.defaults, r.why
        ));
    }
    out
}
