//! The numbers the rules compare against, in one typed structure with documented defaults.
//!
//! The defaults are judgment calls, written relative to the kernel's own limits and to the
//! ESTABLISHED count wherever the catalog allows, so they hold on a small VM and on a proxy with
//! a million sockets alike. A quiet, healthy machine crosses none of them.

pub const MIB: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub close_wait: CloseWait,
    pub ephemeral_ports: Ratio,
    pub time_wait_buckets: Ratio,
    pub syn_recv: PerListener,
    pub accept_queue: AcceptQueue,
    pub syn_sent: SynSent,
    pub fin_wait1: Orphans,
    pub fin_wait2: FinWait2,
    pub last_ack: Orphans,
    pub closing: Count,
    pub orphans: Ratio,
    pub tcp_memory: Ratio,
    pub rx_backlog: RxBacklog,
    pub tx_backlog: TxBacklog,
    pub conntrack: Ratio,
}

/// A fill level: warning and critical as fractions of a limit.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    pub warn: f64,
    pub crit: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Count {
    pub warn: u64,
    pub crit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseWait {
    /// Warning when at least this many sockets are in CLOSE_WAIT…
    pub warn: u64,
    /// …and they are at least this fraction of ESTABLISHED.
    pub warn_share_of_established: f64,
    pub crit: u64,
    /// Critical when one process holds this many.
    pub crit_per_process: u64,
    /// Critical when a holder has used this fraction of its RLIMIT_NOFILE (EMFILE is near).
    pub crit_fd_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerListener {
    /// Warning when this many half-open connections sit on one port, whatever their age…
    pub warn: u64,
    pub crit: u64,
    /// …or when this many had their SYN-ACK resent (the client never sent the final ACK)…
    pub warn_resent: u64,
    /// …and they are at least this share of the listener's traffic (its connections in any
    /// state, TIME_WAIT included, and its SYN_RECV): a few lossy clients on a busy listener
    /// are normal.
    pub warn_resent_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptQueue {
    /// Warning when this many accepted connections wait on one listener…
    pub warn: u64,
    /// …or the queue reaches this fraction of somaxconn (the upper bound of any backlog).
    pub warn_share_of_somaxconn: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynSent {
    /// Warning when this many connection attempts to one destination…
    pub warn: u64,
    /// …have resent their SYN at least this often (1: about a second without an answer).
    pub min_retransmits: u32,
    pub crit: u64,
    /// Critical when this many destinations are affected at once.
    pub crit_destinations: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinWait2 {
    /// Warning when this many orphaned FIN_WAIT2 sockets point at one peer.
    pub warn_orphans_per_peer: u64,
    /// Information when this many FIN_WAIT2 sockets are still held by their process.
    pub info_held: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RxBacklog {
    /// Warning when one socket has this many unread bytes.
    pub warn_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxBacklog {
    pub warn_retransmits: u32,
    pub crit_retransmits: u32,
    /// A socket whose peer advertises a zero window counts when this much waits to be sent.
    pub warn_zero_window_bytes: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            close_wait: CloseWait {
                warn: 20,
                warn_share_of_established: 0.05,
                crit: 200,
                crit_per_process: 100,
                crit_fd_share: 0.8,
            },
            ephemeral_ports: Ratio {
                warn: 0.5,
                crit: 0.8,
            },
            time_wait_buckets: Ratio {
                warn: 0.8,
                crit: 1.0,
            },
            syn_recv: PerListener {
                warn: 256,
                crit: 1024,
                warn_resent: 10,
                warn_resent_share: 0.1,
            },
            accept_queue: AcceptQueue {
                warn: 100,
                warn_share_of_somaxconn: 0.5,
            },
            syn_sent: SynSent {
                warn: 5,
                min_retransmits: 1,
                crit: 50,
                crit_destinations: 5,
            },
            fin_wait1: Orphans {
                warn: 50,
                crit: 500,
                warn_retransmits: 5,
                warn_resent: 10,
                warn_resent_share_of_established: 0.05,
            },
            fin_wait2: FinWait2 {
                warn_orphans_per_peer: 1000,
                info_held: 100,
            },
            last_ack: Orphans {
                warn: 50,
                crit: 500,
                warn_retransmits: 3,
                warn_resent: 10,
                warn_resent_share_of_established: 0.05,
            },
            closing: Count {
                warn: 10,
                crit: 100,
            },
            orphans: Ratio {
                warn: 0.25,
                crit: 0.5,
            },
            tcp_memory: Ratio {
                warn: 1.0,
                crit: 0.9,
            },
            rx_backlog: RxBacklog { warn_bytes: MIB },
            tx_backlog: TxBacklog {
                warn_retransmits: 5,
                crit_retransmits: 10,
                warn_zero_window_bytes: MIB,
            },
            conntrack: Ratio {
                warn: 0.75,
                crit: 0.9,
            },
        }
    }
}
