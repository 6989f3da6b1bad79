//! Our own types for what the kernel reports: states, sockets, per-state counts, state sets and
//! the kernel context. Nothing here reads the system; the collector fills these in and
//! everything else consumes them.

mod call;
mod context;
mod counts;
mod state_set;
mod table;
mod tcp_info;

pub use call::Call;
pub use context::{KernelContext, LocalPorts, Sockstat, Sysctls};
pub use counts::{StateCounts, Tally};
pub use state_set::{SELECTORS, StateSelector, StateSet};
pub use table::{SocketTable, SortFields, sort_renumbering};
pub use tcp_info::TcpInfo;

/// The hash map of every per-socket path (observations, groups, the list's IPv6 index):
/// foldhash is several times faster than SipHash and still seeded per process, so remote peers
/// cannot aim collisions at it. Maps built once per finding or per process use std's.
pub type FastMap<K, V> = foldhash::HashMap<K, V>;
pub type FastSet<T> = foldhash::HashSet<T>;

use std::fmt;
use std::net::SocketAddr;

/// The address family of the socket itself, as `ss -4`/`-6` count it: an IPv4 client of a
/// dual-stack listener is an IPv6 socket even though its addresses print as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    pub fn index(self) -> usize {
        match self {
            Family::Ipv4 => 0,
            Family::Ipv6 => 1,
        }
    }

    /// The lower-case key used in JSON and Prometheus labels.
    pub fn key(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// A TCP state as the kernel numbers them (`include/net/tcp_states.h`).
///
/// Codes we do not know are kept as `Unknown(code)` rather than rejected: a newer kernel may add
/// states, and a count must never silently drop sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    Unknown(u8),
}

impl TcpState {
    /// The eleven states the kernel reports, in kernel code order (the JSON key order).
    pub const KNOWN: [TcpState; 11] = [
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Closing,
    ];

    /// The same states in the order a connection lives through them: how people read a table.
    pub const LIFECYCLE: [TcpState; 11] = [
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Close,
    ];

    pub fn from_code(code: u8) -> TcpState {
        match code {
            0x01 => TcpState::Established,
            0x02 => TcpState::SynSent,
            0x03 => TcpState::SynRecv,
            0x04 => TcpState::FinWait1,
            0x05 => TcpState::FinWait2,
            0x06 => TcpState::TimeWait,
            0x07 => TcpState::Close,
            0x08 => TcpState::CloseWait,
            0x09 => TcpState::LastAck,
            0x0A => TcpState::Listen,
            0x0B => TcpState::Closing,
            // TCP_NEW_SYN_RECV: a request socket. /proc prints these as 03 already; sock_diag
            // reports 12, and ss shows them as SYN-RECV, so we count them there too.
            0x0C => TcpState::SynRecv,
            other => TcpState::Unknown(other),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            TcpState::Established => 0x01,
            TcpState::SynSent => 0x02,
            TcpState::SynRecv => 0x03,
            TcpState::FinWait1 => 0x04,
            TcpState::FinWait2 => 0x05,
            TcpState::TimeWait => 0x06,
            TcpState::Close => 0x07,
            TcpState::CloseWait => 0x08,
            TcpState::LastAck => 0x09,
            TcpState::Listen => 0x0A,
            TcpState::Closing => 0x0B,
            TcpState::Unknown(code) => code,
        }
    }

    /// Position in [`TcpState::KNOWN`], or `None` for an unknown code.
    pub fn index(self) -> Option<usize> {
        match self {
            TcpState::Unknown(_) => None,
            known => Some(usize::from(known.code()) - 1),
        }
    }

    /// netstat's name, used everywhere a person reads a state and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
            TcpState::Unknown(_) => "UNKNOWN",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpState::Unknown(code) => write!(f, "UNKNOWN({code:#04X})"),
            known => f.write_str(known.name()),
        }
    }
}

/// Which kernel timer is pending on a socket (the `tr` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    Off,
    /// Retransmit, RACK reorder or tail-loss probe.
    Retransmit,
    Keepalive,
    TimeWait,
    /// Zero-window probe.
    Persist,
    Unknown(u8),
}

impl TimerKind {
    pub fn from_code(code: u8) -> TimerKind {
        match code {
            0 => TimerKind::Off,
            1 => TimerKind::Retransmit,
            2 => TimerKind::Keepalive,
            3 => TimerKind::TimeWait,
            4 => TimerKind::Persist,
            other => TimerKind::Unknown(other),
        }
    }
}

/// Which kind of kernel object a line describes; they differ in what their fields mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKind {
    /// A full socket (17 or more fields).
    Full,
    /// A TIME_WAIT mini-socket, also used for orphaned FIN_WAIT2 (12 fields, inode 0).
    TimeWait,
    /// A request socket waiting for the handshake's final ACK (12 fields, state SYN_RECV).
    Request,
}

/// One TCP socket as the kernel reported it. Addresses of IPv4-mapped IPv6 sockets are stored
/// as plain IPv4 (the peer is an IPv4 host); `family` still says IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    pub family: Family,
    pub kind: SocketKind,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    /// Unacknowledged bytes (for LISTEN: 0).
    pub tx_queue: u32,
    /// Unread bytes; for LISTEN the accept-queue length.
    pub rx_queue: u32,
    pub timer: TimerKind,
    /// Ticks (USER_HZ) until the timer fires.
    pub timer_ticks: u64,
    /// Unrecovered RTO retransmits; for request sockets, SYN-ACK resends.
    pub retransmits: u32,
    pub uid: u32,
    /// Unanswered zero-window or keepalive probes.
    pub probes: u32,
    /// 0 when no process can own the socket (orphans, accept-queue children, mini-sockets).
    pub inode: u64,
    /// A listener's backlog (the accept-queue limit). Only sock_diag reports it; `None` from
    /// `/proc` and for other states.
    pub backlog: Option<u32>,
}

#[cfg(test)]
impl Socket {
    /// A full socket for unit tests: `local` and `remote` as `"127.0.0.1:80"`, the family taken
    /// from the local address, inode 1, everything else zero.
    pub(crate) fn for_test(state: TcpState, local: &str, remote: &str) -> Socket {
        let local: SocketAddr = local.parse().expect("a socket address");
        Socket {
            family: if local.is_ipv4() {
                Family::Ipv4
            } else {
                Family::Ipv6
            },
            kind: SocketKind::Full,
            local,
            remote: remote.parse().expect("a socket address"),
            state,
            tx_queue: 0,
            rx_queue: 0,
            timer: TimerKind::Off,
            timer_ticks: 0,
            retransmits: 0,
            uid: 0,
            probes: 0,
            inode: 1,
            backlog: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips() {
        for (i, state) in TcpState::KNOWN.iter().enumerate() {
            assert_eq!(TcpState::from_code(state.code()), *state);
            assert_eq!(state.index(), Some(i));
        }
    }

    #[test]
    fn new_syn_recv_counts_as_syn_recv_and_unknown_codes_are_kept() {
        assert_eq!(TcpState::from_code(0x0C), TcpState::SynRecv);
        assert_eq!(TcpState::from_code(0x0D), TcpState::Unknown(0x0D));
        assert_eq!(TcpState::from_code(0x0D).to_string(), "UNKNOWN(0x0D)");
        assert_eq!(TcpState::from_code(0).index(), None);
    }

    #[test]
    fn lifecycle_order_holds_every_known_state_once() {
        let mut sorted = TcpState::LIFECYCLE;
        sorted.sort();
        assert_eq!(sorted, TcpState::KNOWN);
    }
}
