//! What the rules need from the socket tables, gathered while streaming: counts and small
//! per-key maps, plus the few sockets that look wrong. Never every socket, so the summary's
//! memory stays flat on a healthy machine of any size.

use std::net::{IpAddr, SocketAddr};

use crate::model::{FastMap as HashMap, FastSet as HashSet, KernelContext};
use crate::model::{Socket, SocketKind, Tally, TcpState, TimerKind};

/// The few thresholds that decide what is gathered while streaming (which sockets are kept
/// for a rule), taken from the rules' entries by [`Limits::of`](super::Limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A SYN_SENT socket resent this often counts as retried (`syn_sent_stuck`).
    pub syn_sent_min_retransmits: u32,
    /// Unread bytes that make a socket worth keeping (`rx_backlog`).
    pub rx_warn_bytes: u64,
    /// Retransmits and zero-window bytes that do the same for sent data (`tx_backlog`).
    pub tx_warn_retransmits: u32,
    pub tx_warn_zero_window_bytes: u64,
}

/// Sockets of one kind of trouble, by where they point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pile {
    pub total: u64,
    pub by_local_port: HashMap<u16, u64>,
    pub by_peer: HashMap<IpAddr, u64>,
    /// Inodes of the ones a process may hold (not 0).
    pub inodes: Vec<u64>,
    pub max_retransmits: u32,
    /// Sockets whose timer has already fired at least once (a FIN or SYN resent): healthy
    /// traffic moves on within one round trip and never counts here.
    pub resent: u64,
}

impl Pile {
    fn add(&mut self, s: &Socket, keep_inode: bool) {
        *self.by_local_port.entry(s.local.port()).or_default() += 1;
        *self.by_peer.entry(s.remote.ip()).or_default() += 1;
        self.count(s, keep_inode);
    }

    /// Counts `s` without its local port and peer (an outbound socket: its local port is one
    /// the kernel picked, its peer is the server's, counted by endpoint elsewhere).
    fn count(&mut self, s: &Socket, keep_inode: bool) {
        self.total += 1;
        if keep_inode && s.inode != 0 {
            self.inodes.push(s.inode);
        }
        self.max_retransmits = self.max_retransmits.max(s.retransmits);
        if s.retransmits > 0 {
            self.resent += 1;
        }
    }
}

/// Sockets of one state that this host opened (an ephemeral local port with no listener on it),
/// by the remote endpoint they were opened toward: the client side of a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    pub total: u64,
    pub by_remote: HashMap<SocketAddr, u64>,
    /// Inodes of the ones a process may hold (not 0).
    pub inodes: Vec<u64>,
}

impl Outbound {
    fn add(&mut self, s: &Socket, keep_inode: bool) {
        self.total += 1;
        *self.by_remote.entry(s.remote).or_default() += 1;
        if keep_inode && s.inode != 0 {
            self.inodes.push(s.inode);
        }
    }
}

/// Local ports in use toward one destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortUse {
    /// Every socket holding a local port toward it, TIME_WAIT included.
    pub held: u64,
    /// TIME_WAIT mini-sockets older than a second: with `tcp_tw_reuse` (1, or 2 toward
    /// loopback) connect() takes their port over (`tcp_twsk_unique`), so they leave it free.
    pub time_wait_reusable: u64,
    /// Every TIME_WAIT mini-socket toward it: this host closed those connections first.
    pub time_wait: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynRecv {
    pub total: u64,
    /// SYN-ACK resent at least once: the peer has not completed the handshake.
    pub resent: u64,
    /// By source address (its length is the number of sources).
    pub by_peer: HashMap<IpAddr, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynSent {
    pub total: u64,
    /// SYN resent at least `min_retransmits` times.
    pub retried: u64,
    pub inodes: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub local: SocketAddr,
    /// Accept-queue length.
    pub queued: u32,
    /// The backlog, when the source knows it (sock_diag).
    pub backlog: Option<u32>,
    pub inode: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observations {
    /// Every socket, before filters: the denominators of shares.
    pub all: Tally,
    /// Every CLOSE_WAIT socket; its local ports and peers are the accepted ones' only.
    pub close_wait: Pile,
    /// The CLOSE_WAIT sockets this host opened: a client (a connection pool) whose server
    /// closed, by that server's endpoint.
    pub close_wait_outbound: Outbound,
    /// CLOSE_WAIT with unread data (at least the FIN): the application is not reading.
    pub close_wait_unread: u64,
    /// CLOSE_WAIT with inode 0: closed by the peer before the application accept()ed it.
    pub close_wait_unaccepted: u64,
    /// Local ports in use per (local IP, remote IP, remote port), for ephemeral-port pressure.
    pub destinations: HashMap<(IpAddr, IpAddr, u16), PortUse>,
    pub syn_recv: HashMap<u16, SynRecv>,
    /// Connections on listening ports (every state but LISTEN and SYN_RECV: ESTABLISHED, and
    /// the TIME_WAIT and closing states that short-lived connections leave): the listener's
    /// traffic, against which its unfinished handshakes are weighed.
    pub connections_per_listener: HashMap<u16, u64>,
    pub listeners: Vec<Listener>,
    pub syn_sent: HashMap<SocketAddr, SynSent>,
    pub fin_wait1: Pile,
    pub fin_wait2_orphaned: Pile,
    pub fin_wait2_held: Pile,
    pub last_ack: Pile,
    pub closing: Pile,
    /// Sockets with at least the warning amount of unread data.
    pub rx_backlog: Vec<Socket>,
    /// Sockets retransmitting, or stuck behind a zero window with data queued.
    pub tx_trouble: Vec<Socket>,
    /// Time-wait mini-sockets seen (TIME_WAIT and orphaned FIN_WAIT2), for when sockstat is missing.
    pub time_wait_minis: u64,
    /// `ip_local_port_range` as read, so only ephemeral local ports count toward destinations.
    port_range: Option<(u16, u16)>,
    /// Ports with a listener: connections accepted on them use no ephemeral port, even when the
    /// listener itself sits in the ephemeral range (bind to port 0). The kernel lists listeners
    /// first in each table, so they are known before their connections stream by.
    listening_ports: HashSet<u16>,
    /// Local ports whose sockets `check` judges apart (config `[ports.N]`), and their counts by
    /// state.
    watched_ports: HashSet<u16>,
    pub port_states: HashMap<(u16, TcpState), u64>,
    /// Keep the inodes of anomalous sockets: needed to name their processes, or to follow them
    /// across runs; otherwise memory would grow with every CLOSE_WAIT for nothing.
    keep_inodes: bool,
    syn_sent_min_retransmits: u32,
    rx_warn: u64,
    tx_warn_retransmits: u32,
    tx_warn_zero_window_bytes: u64,
    /// USER_HZ: the unit of `timer_ticks`.
    clock_ticks: u64,
}

/// How long a TIME_WAIT socket lasts (`TCP_TIMEWAIT_LEN`), and how old it must be before
/// `tcp_tw_reuse` lets connect() take its port (`tcp_twsk_unique`: a timestamp more than 1 s old).
const TIME_WAIT_SECS: u64 = 60;
const REUSE_AFTER_SECS: u64 = 1;

impl Observations {
    /// Observations for the rules as their thresholds set them ([`Limits`]): which SYN_SENT
    /// sockets count as retried, and which sockets' queues are kept.
    pub fn new(limits: Limits, context: &KernelContext) -> Observations {
        Observations {
            port_range: context.sysctl.ip_local_port_range,
            syn_sent_min_retransmits: limits.syn_sent_min_retransmits,
            rx_warn: limits.rx_warn_bytes,
            tx_warn_retransmits: limits.tx_warn_retransmits,
            tx_warn_zero_window_bytes: limits.tx_warn_zero_window_bytes,
            keep_inodes: true,
            clock_ticks: 100,
            ..Observations::default()
        }
    }

    /// Whether to keep the inodes of anomalous sockets (default: yes).
    pub fn keep_inodes(&mut self, keep: bool) {
        self.keep_inodes = keep;
    }

    /// USER_HZ, for the timer column (`sysconf(_SC_CLK_TCK)`; 100 unless told).
    pub fn clock_ticks(&mut self, ticks: u64) {
        self.clock_ticks = ticks.max(1);
    }

    /// Counts the sockets of these local ports by state as well.
    pub fn watch_ports(&mut self, ports: impl IntoIterator<Item = u16>) {
        self.watched_ports.extend(ports);
    }

    /// Every socket, filtered or not: shares are taken against the whole table, and a listener
    /// the filters leave out still says its port is no ephemeral one.
    pub fn count_all(&mut self, s: &Socket) {
        self.all.add(s.family, s.state);
        if s.state == TcpState::Listen {
            self.listening_ports.insert(s.local.port());
        }
    }

    /// Whether this host opened `s`: its local port is in `ip_local_port_range` (known) and no
    /// listener has it.
    fn outbound(&self, s: &Socket) -> bool {
        self.port_range
            .is_some_and(|(lo, hi)| (lo..=hi).contains(&s.local.port()))
            && s.remote.port() != 0
            && !self.listening_ports.contains(&s.local.port())
    }

    /// A socket that passed the filters.
    pub fn observe(&mut self, s: &Socket) {
        if self.watched_ports.contains(&s.local.port()) {
            *self
                .port_states
                .entry((s.local.port(), s.state))
                .or_default() += 1;
        }
        if s.kind == SocketKind::TimeWait {
            self.time_wait_minis += 1;
        }
        if s.state == TcpState::Listen {
            self.listening_ports.insert(s.local.port());
        } else if self.outbound(s) {
            let e = self
                .destinations
                .entry((s.local.ip(), s.remote.ip(), s.remote.port()))
                .or_default();
            e.held += 1;
            if s.kind == SocketKind::TimeWait && s.state == TcpState::TimeWait {
                e.time_wait += 1;
            }
            let left = TIME_WAIT_SECS.saturating_sub(REUSE_AFTER_SECS) * self.clock_ticks;
            if s.kind == SocketKind::TimeWait
                && s.state == TcpState::TimeWait
                && s.timer_ticks < left
            {
                e.time_wait_reusable += 1;
            }
        }
        if !matches!(s.state, TcpState::Listen | TcpState::SynRecv)
            && self.listening_ports.contains(&s.local.port())
        {
            *self
                .connections_per_listener
                .entry(s.local.port())
                .or_default() += 1;
        }
        match s.state {
            TcpState::CloseWait => {
                if self.outbound(s) {
                    self.close_wait.count(s, self.keep_inodes);
                    self.close_wait_outbound.add(s, self.keep_inodes);
                } else {
                    self.close_wait.add(s, self.keep_inodes);
                }
                if s.rx_queue > 0 {
                    self.close_wait_unread += 1;
                }
                if s.inode == 0 {
                    self.close_wait_unaccepted += 1;
                }
            }
            TcpState::SynRecv => {
                let e = self.syn_recv.entry(s.local.port()).or_default();
                e.total += 1;
                if s.retransmits > 0 {
                    e.resent += 1;
                }
                *e.by_peer.entry(s.remote.ip()).or_default() += 1;
            }
            TcpState::Listen => self.listeners.push(Listener {
                local: s.local,
                queued: s.rx_queue,
                backlog: s.backlog,
                inode: s.inode,
            }),
            TcpState::SynSent => {
                let e = self.syn_sent.entry(s.remote).or_default();
                e.total += 1;
                if s.retransmits >= self.syn_sent_min_retransmits {
                    e.retried += 1;
                    if self.keep_inodes && s.inode != 0 {
                        e.inodes.push(s.inode);
                    }
                }
            }
            TcpState::FinWait1 => self.fin_wait1.add(s, self.keep_inodes),
            TcpState::FinWait2 if s.kind == SocketKind::TimeWait => {
                self.fin_wait2_orphaned.add(s, self.keep_inodes)
            }
            TcpState::FinWait2 => self.fin_wait2_held.add(s, self.keep_inodes),
            TcpState::LastAck => self.last_ack.add(s, self.keep_inodes),
            TcpState::Closing => self.closing.add(s, self.keep_inodes),
            _ => {}
        }
        if matches!(s.state, TcpState::Established | TcpState::CloseWait)
            && u64::from(s.rx_queue) >= self.rx_warn
        {
            self.rx_backlog.push(*s);
        }
        // The persist timer runs only while the peer advertises a zero window and data waits;
        // its probe counter may stay 0 for a long time (it counts unanswered probes only), so
        // the timer itself is the signal. Both sources report it.
        let zero_window = s.timer == TimerKind::Persist
            && u64::from(s.tx_queue) >= self.tx_warn_zero_window_bytes;
        if s.kind == SocketKind::Full
            && !matches!(s.state, TcpState::SynSent | TcpState::Listen)
            && (s.retransmits >= self.tx_warn_retransmits || zero_window)
        {
            self.tx_trouble.push(*s);
        }
    }

    pub fn established(&self) -> u64 {
        self.all.state_total(TcpState::Established)
    }
}

#[cfg(test)]
mod tests;
