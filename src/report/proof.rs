//! What a finding carries as proof, beyond its own numbers: the ages of the sockets behind it,
//! what its holders' threads wait on, how the peers they wait for behave, and what could not
//! be read. Data only: `diagnose` builds these from the samples `collect` read, `render` words
//! them (the table's `Evidence:` block, JSON's `evidence` list).

use std::net::SocketAddr;

use super::evidence::ThreadGap;
use crate::model::TcpState;

/// One piece of evidence behind a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    Ages(Ages),
    Threads(ThreadSummary),
    Peer(PeerHealth),
    /// A holder near its file-descriptor limit.
    Limits {
        pid: u32,
        comm: String,
        fds: u64,
        limit: u64,
    },
    /// Evidence that could not be read, and why: the finding keeps its generic causes.
    Missing {
        what: Proof,
        why: Gap,
    },
}

/// The kinds of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Ages,
    Threads,
}

/// Why evidence is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// The `/proc` tables carry no tcp_info; sock_diag does.
    ProcSource,
    /// The finding names no process (`--no-processes`, or holders that could not be found).
    NoHolder,
    /// The sockets are mini-sockets (orphaned FIN_WAIT2), which keep no tcp_info.
    MiniSockets,
    /// `--proc-root` reads a saved copy of `/proc`: no thread runs there.
    SavedCopy,
    /// Reading it failed: the error.
    Failed(String),
    /// The threads were read only partly, or not at all.
    Threads(ThreadGap),
}

/// How long the sockets of a finding have been in their state, from tcp_info.
#[derive(Debug, Clone, PartialEq)]
pub struct Ages {
    pub state: TcpState,
    pub since: AgeSince,
    /// Sockets with an age (full sockets with tcp_info).
    pub measured: u64,
    pub oldest_s: f64,
    pub median_s: f64,
    pub youngest_s: f64,
    /// How many are older than each mark, in seconds, for the marks the ages reach.
    pub older_than: Vec<(u64, u64)>,
    pub pattern: AgePattern,
    /// The oldest per local port, oldest first (a bounded few), for the exporter's series.
    pub oldest_by_port: Vec<(u16, f64)>,
}

/// What an age counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeSince {
    /// CLOSE_WAIT: the peer's FIN was its last segment (`tcpi_last_ack_recv`).
    PeerClosed,
    /// FIN_WAIT1/2, LAST_ACK, CLOSING: the last segment the peer sent.
    LastSegment,
    /// ESTABLISHED: the last data either way.
    Idle,
}

/// The shape of the ages: a leak that has been going on, or a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgePattern {
    /// All young, close together: one event, maybe still resolving.
    Burst,
    /// Spread out, the oldest far past any timeout: a steady leak.
    Steady,
    /// Neither clearly.
    Mixed,
}

/// What one holder's threads wait on.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadSummary {
    pub pid: u32,
    /// Untrusted: escape before printing.
    pub comm: String,
    /// Threads in the process, and how many were read.
    pub total: u32,
    pub read: u32,
    /// Largest first.
    pub groups: Vec<ThreadGroup>,
    /// A runtime that parks its work where the kernel cannot see it (goroutines, an event
    /// loop): idle threads then do not mean nothing is blocked.
    pub runtime: Option<Runtime>,
    pub gap: Option<ThreadGap>,
}

/// Threads waiting on the same thing.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadGroup {
    pub wait: WaitKind,
    pub threads: u32,
    /// The socket they wait on, when they all wait on one peer.
    pub peer: Option<SocketAddr>,
    pub peer_state: Option<TcpState>,
    /// A few of their names (distinct). Untrusted: escape before printing.
    pub names: Vec<String>,
}

/// What a group of threads waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WaitKind {
    /// On a CPU.
    Running,
    /// Reading a socket (read, recvfrom, recvmsg).
    Recv,
    /// Writing to a socket.
    Send,
    Accept,
    Connect,
    /// Reading or writing something that is not a socket (a pipe, a file).
    OtherFd,
    /// In an event loop: epoll, select, poll (nothing blocked on one connection).
    EventLoop,
    /// On a futex: a lock, a condition or a pool.
    Lock,
    Sleep,
    /// Waiting for a signal or a child.
    Signal,
    /// In uninterruptible sleep (`D`): disk or kernel I/O.
    Disk,
    /// Stopped, traced, or a zombie.
    Stopped,
    /// Another syscall (by number), or blocked outside one.
    Other,
    /// Its syscall could not be read.
    Unknown,
}

/// A runtime recognised from the process, that hides blocked work from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Go,
    NodeJs,
    Jvm,
}

/// How one peer the holder talks to behaves, from its connections' tcp_info.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerHealth {
    pub peer: SocketAddr,
    pub connections: u32,
    /// Connections with data sent and not acknowledged or answered.
    pub waiting: u32,
    /// The oldest unanswered request: seconds since data last came back on a connection that
    /// has sent since.
    pub no_reply_s: Option<f64>,
    /// The median smoothed round-trip time.
    pub rtt_ms: Option<f64>,
    /// Retransmitted segments as a share of those sent, over the connections' lives.
    pub retransmitted_pct: Option<f64>,
    /// Connections whose peer advertises a zero window.
    pub zero_window: u32,
}

/// What the evidence says is going on, for the rules to rank their causes by.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Most threads are blocked reading from one peer that does not answer.
    Downstream {
        peer: SocketAddr,
        threads: u32,
        of: u32,
        silent_s: Option<f64>,
    },
    /// Most threads wait on a futex: a lock, a condition or a pool.
    Lock { threads: u32, of: u32 },
    /// Most threads are on a CPU: the process is saturated.
    Busy { threads: u32, of: u32 },
    /// Nothing is blocked: every thread idles in an event loop, sleeps or waits for a signal.
    Idle { threads: u32 },
    /// The accept loop is not in accept(): its threads wait elsewhere.
    NotAccepting {
        waiting_on: Option<SocketAddr>,
        threads: u32,
    },
    /// A runtime that hides its work: the threads cannot tell.
    Hidden { runtime: Runtime },
}
