//! What a renderer reads of the connections over time: rates, lifetimes, the top churners and
//! the port-exhaustion outlook of one run's window, derived by `diagnose::flows`. Data only.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use super::Histogram;

/// Whether destroy events are being followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Following {
    /// Subscribed in these namespaces; the others could not be followed, with why.
    Yes {
        namespaces: usize,
        unfollowed: Vec<(String, String)>,
    },
    /// Not at all, and why (the kernel refused the subscription): said once, the rest works.
    No(String),
}

/// Who or where a row of churn is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowKey {
    Process {
        pid: u32,
        comm: String,
    },
    /// Connections made from here, to this address (port 0: the kernel cleared it).
    Destination(SocketAddr),
    /// Connections accepted on this local port.
    Service(u16),
    /// Connections accepted from this address.
    Peer(IpAddr),
}

/// One row: a key's closes over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    pub key: FlowKey,
    /// The namespace's name, in a sweep.
    pub netns: Option<String>,
    pub closed: u64,
    pub failed: u64,
    pub closed_per_s: f64,
    pub failed_per_s: f64,
    /// The classic bucket the median lifetime falls in (its upper bound, ms).
    pub median_le_ms: Option<u64>,
    /// Mean bytes per closed connection, sent (acknowledged) and received.
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    /// Segments retransmitted per segment sent.
    pub retrans_share: Option<f64>,
}

/// A namespace's or the host's closes over the window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowTotals {
    pub closed: u64,
    pub failed: u64,
    /// Destroy events the kernel dropped (receive buffer full): the counts above miss them.
    pub lost: u64,
    /// Sockets that were no connection (listeners, never connected).
    pub other: u64,
    pub closed_per_s: f64,
    pub failed_per_s: f64,
    pub median_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    pub retrans_share: Option<f64>,
    /// How closes were joined to holders: by cookie, by listening port, not at all.
    pub joined_cookie: u64,
    pub joined_listener: u64,
    pub unknown_holder: u64,
    /// How lifetimes were dated: by a census that saw the socket, by `tcp_info` alone.
    pub dated_census: u64,
    pub dated_info: u64,
    /// Closes folded past the key budget (in the totals, in no row).
    pub folded: u64,
}

/// A namespace's totals, in a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceFlows {
    pub name: String,
    pub inode: u64,
    pub totals: FlowTotals,
}

/// What the measured rate means for the local ports toward one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub netns: Option<String>,
    pub local: IpAddr,
    pub destination: SocketAddr,
    pub closed_per_s: f64,
    /// Ports toward it in use now (every state), and how many of them are TIME_WAIT.
    pub in_use: u64,
    pub time_wait: u64,
    /// Usable local ports (ip_local_port_range less the reserved ones).
    pub usable: u64,
    /// connect() takes TIME_WAIT ports over toward it (tcp_tw_reuse).
    pub reuses_time_wait: bool,
    /// This host closes first toward it (it holds TIME_WAIT sockets toward it).
    pub closes_first: bool,
    /// Ports held once the rate has lasted a TIME_WAIT period (60 s).
    pub steady_ports: u64,
    pub outlook: Outlook,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outlook {
    /// The steady demand fits: this share of the usable ports.
    Fine { share: f64 },
    /// The steady demand does not fit: none left in about this long (already none: zero).
    RunsOut { in_s: f64 },
}

/// The connections over time of one run: what `watch`, `serve` and `--follow` show.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowReport {
    pub following: Following,
    /// The window: from the previous run (or the start of following) to this one.
    pub started: SystemTime,
    pub window: Duration,
    pub totals: FlowTotals,
    /// Lifetimes of the closed connections of the window (classic buckets).
    pub lifetimes: Histogram,
    /// The top rows by churn (closes and failed connects), most first.
    pub processes: Vec<FlowRow>,
    pub destinations: Vec<FlowRow>,
    pub services: Vec<FlowRow>,
    pub peers: Vec<FlowRow>,
    /// Destinations whose port outlook was computed, worst first.
    pub forecasts: Vec<Forecast>,
    /// Each namespace's totals, in a sweep (empty otherwise).
    pub namespaces: Vec<NamespaceFlows>,
    /// Lifetimes are at least this precise, in seconds: the census interval.
    pub census_interval: Duration,
}

impl FlowReport {
    /// A report that says only why nothing is followed.
    pub fn unavailable(why: String, at: SystemTime) -> FlowReport {
        FlowReport {
            following: Following::No(why),
            started: at,
            window: Duration::ZERO,
            totals: FlowTotals::default(),
            lifetimes: Histogram::default(),
            processes: Vec::new(),
            destinations: Vec::new(),
            services: Vec::new(),
            peers: Vec::new(),
            forecasts: Vec::new(),
            namespaces: Vec::new(),
            census_interval: Duration::ZERO,
        }
    }
}
