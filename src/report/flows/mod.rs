//! Connections over time, from the kernel's destroy events (sock_diag multicast): each
//! destroyed socket classified and joined to its holder ([`Close`]), and one namespace's
//! closes, failed connects and lost events since the previous run ([`Window`]), per process,
//! destination, service port and peer. Bounded: the keys of every window together are capped
//! by one [`Budget`], past which closes are folded and counted, so a flood of distinct peers
//! costs no memory. Data and this small bookkeeping only; the follower is
//! `collect::follow`, the rates and forecasts `diagnose::flows`, the words `render`.

#[cfg(feature = "serve")]
mod counters;
mod lifetimes;
mod view;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

#[cfg(feature = "serve")]
pub use counters::{FlowCounters, Sticky};
pub use lifetimes::{CLASSIC_MS, Histogram, Lifetimes};
pub use view::{
    FlowKey, FlowReport, FlowRow, FlowTotals, Following, Forecast, NamespaceFlows, Outlook,
};

/// How a destroyed socket ended, as far as its final `tcp_info` tells (its final state is
/// always CLOSE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It was established: a connection closed.
    Closed,
    /// A connect that never got an answer: nothing was acknowledged or received and no
    /// option negotiated (refused, timed out).
    Failed,
    /// Not a connection: a listener closed, or a socket closed before it connected (a connect
    /// refused before any SYN, as with no route, looks the same and cannot be told apart).
    Other,
}

/// The process holding a connection, as the join found it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Holder {
    pub pid: u32,
    /// `comm`, exactly as the process set it (escape it to print).
    pub comm: String,
}

/// How a close was joined to its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// Its cookie was in an earlier census, and that socket's inode in the last owner walk.
    Cookie,
    /// Accepted on a local port whose listener the last owner walk named.
    ListenerPort,
    /// Neither: counted as unknown.
    Unknown,
}

/// One destroyed socket, classified and joined.
#[derive(Debug, Clone, PartialEq)]
pub struct Close {
    pub ending: Ending,
    /// Accepted on a listening port of its namespace (else it connected out).
    pub accepted: bool,
    pub local: SocketAddr,
    /// Port 0 when the kernel cleared it (a blocking connect that failed) and no census saw it.
    pub remote: SocketAddr,
    pub holder: Option<Arc<Holder>>,
    pub joined: Joined,
    /// At least this long it lived (established, or for a failed connect trying), in ms.
    pub lifetime_ms: Option<u64>,
    /// The lifetime came from a census that saw the socket earlier (else from `tcp_info`'s
    /// idle times alone).
    pub dated_by_census: bool,
    /// `tcpi_bytes_acked`, `tcpi_bytes_received`, `tcpi_segs_out`, `tcpi_total_retrans`.
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u64,
    pub retrans: u64,
}

/// What one key's closes add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyStats {
    pub closed: u64,
    pub failed: u64,
    /// Of the closed connections that were dated.
    pub lifetimes: Histogram,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u64,
    pub retrans: u64,
}

impl KeyStats {
    pub fn add(&mut self, c: &Close) {
        match c.ending {
            Ending::Closed => {
                self.closed += 1;
                if let Some(ms) = c.lifetime_ms {
                    self.lifetimes.add(ms);
                }
            }
            Ending::Failed => self.failed += 1,
            Ending::Other => return,
        }
        self.bytes_acked = self.bytes_acked.saturating_add(c.bytes_acked);
        self.bytes_received = self.bytes_received.saturating_add(c.bytes_received);
        self.segs_out = self.segs_out.saturating_add(c.segs_out);
        self.retrans = self.retrans.saturating_add(c.retrans);
    }

    pub fn merge(&mut self, o: &KeyStats) {
        self.closed += o.closed;
        self.failed += o.failed;
        self.lifetimes.merge(&o.lifetimes);
        self.bytes_acked = self.bytes_acked.saturating_add(o.bytes_acked);
        self.bytes_received = self.bytes_received.saturating_add(o.bytes_received);
        self.segs_out = self.segs_out.saturating_add(o.segs_out);
        self.retrans = self.retrans.saturating_add(o.retrans);
    }

    /// Closed and failed: what makes churn.
    pub fn churn(&self) -> u64 {
        self.closed + self.failed
    }
}

/// How many keys the windows of one follower may hold together, until they are drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub left: u32,
}

impl Budget {
    /// Keys for every table of every namespace between two runs: about 200 bytes each.
    pub const KEYS: u32 = 16_384;

    pub fn full() -> Budget {
        Budget { left: Budget::KEYS }
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::full()
    }
}

/// A key table: a new key takes one from the budget; without one the close is not counted in
/// it (the caller folds it).
fn tally<K: std::hash::Hash + Eq>(
    table: &mut HashMap<K, KeyStats>,
    key: K,
    c: &Close,
    budget: &mut Budget,
) -> bool {
    if let Some(stats) = table.get_mut(&key) {
        stats.add(c);
        return true;
    }
    if budget.left == 0 {
        return false;
    }
    budget.left -= 1;
    table.entry(key).or_default().add(c);
    true
}

/// One namespace's destroy events between two runs.
#[derive(Debug, Clone)]
pub struct Window {
    pub started: SystemTime,
    /// Every close and failed connect.
    pub all: KeyStats,
    /// Lifetimes of the closed connections, finely, for quantiles.
    pub lifetimes: Lifetimes,
    /// Sockets that were no connection ([`Ending::Other`]).
    pub other: u64,
    /// Events the kernel dropped because the receive buffer was full.
    pub lost: u64,
    /// How closes were joined to holders.
    pub joined_cookie: u64,
    pub joined_listener: u64,
    pub unknown_holder: u64,
    /// Dated lifetimes: by a census, or by `tcp_info` alone.
    pub dated_census: u64,
    pub dated_info: u64,
    pub by_process: HashMap<Arc<Holder>, KeyStats>,
    /// Connections made from here, by the address they went to.
    pub by_destination: HashMap<SocketAddr, KeyStats>,
    /// Connections accepted here, by local port and by the peer's address.
    pub by_service: HashMap<u16, KeyStats>,
    pub by_peer: HashMap<IpAddr, KeyStats>,
    /// Closes in no destination or service row (past the key budget), summed: with the rows,
    /// every close is counted once by port.
    pub folded: KeyStats,
    /// Closes whose holder is known but got no process row.
    pub folded_holders: KeyStats,
    /// Closes missing from at least one table.
    pub folded_closes: u64,
}

impl Window {
    pub fn new(started: SystemTime) -> Window {
        Window {
            started,
            all: KeyStats::default(),
            lifetimes: Lifetimes::default(),
            other: 0,
            lost: 0,
            joined_cookie: 0,
            joined_listener: 0,
            unknown_holder: 0,
            dated_census: 0,
            dated_info: 0,
            by_process: HashMap::new(),
            by_destination: HashMap::new(),
            by_service: HashMap::new(),
            by_peer: HashMap::new(),
            folded: KeyStats::default(),
            folded_holders: KeyStats::default(),
            folded_closes: 0,
        }
    }

    /// Counts one destroyed socket.
    pub fn add(&mut self, c: &Close, budget: &mut Budget) {
        if c.ending == Ending::Other {
            self.other += 1;
            return;
        }
        self.all.add(c);
        if c.ending == Ending::Closed
            && let Some(ms) = c.lifetime_ms
        {
            self.lifetimes.add(ms);
            if c.dated_by_census {
                self.dated_census += 1;
            } else {
                self.dated_info += 1;
            }
        }
        match c.joined {
            Joined::Cookie => self.joined_cookie += 1,
            Joined::ListenerPort => self.joined_listener += 1,
            Joined::Unknown => self.unknown_holder += 1,
        }
        let mut kept = true;
        if let Some(holder) = &c.holder
            && !tally(&mut self.by_process, Arc::clone(holder), c, budget)
        {
            self.folded_holders.add(c);
            kept = false;
        }
        let by_port = if c.accepted {
            kept &= tally(&mut self.by_peer, c.remote.ip(), c, budget);
            tally(&mut self.by_service, c.local.port(), c, budget)
        } else {
            tally(&mut self.by_destination, c.remote, c, budget)
        };
        if !by_port {
            self.folded.add(c);
        }
        if !(kept && by_port) {
            self.folded_closes += 1;
        }
    }

    /// Keys this window holds (what it took from the budget).
    pub fn keys(&self) -> usize {
        self.by_process.len()
            + self.by_destination.len()
            + self.by_service.len()
            + self.by_peer.len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn close(ending: Ending, accepted: bool, local: &str, remote: &str) -> Close {
        Close {
            ending,
            accepted,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            holder: None,
            joined: Joined::Unknown,
            lifetime_ms: Some(250),
            dated_by_census: false,
            bytes_acked: 100,
            bytes_received: 1000,
            segs_out: 10,
            retrans: 1,
        }
    }

    #[test]
    fn closes_count_by_destination_and_accepted_ones_by_service_and_peer() {
        let mut w = Window::new(SystemTime::UNIX_EPOCH);
        let mut budget = Budget::full();
        let holder = Arc::new(Holder {
            pid: 7,
            comm: "curl".into(),
        });
        let mut out = close(Ending::Closed, false, "10.0.0.1:40000", "10.0.0.5:443");
        out.holder = Some(Arc::clone(&holder));
        out.joined = Joined::Cookie;
        w.add(&out, &mut budget);
        w.add(&out, &mut budget);
        w.add(
            &close(Ending::Failed, false, "10.0.0.1:40001", "10.0.0.5:443"),
            &mut budget,
        );
        w.add(
            &close(Ending::Closed, true, "10.0.0.1:8080", "10.0.0.9:5000"),
            &mut budget,
        );
        w.add(
            &close(Ending::Other, false, "0.0.0.0:8080", "0.0.0.0:0"),
            &mut budget,
        );
        let dst: SocketAddr = "10.0.0.5:443".parse().unwrap();
        assert_eq!(
            (w.by_destination[&dst].closed, w.by_destination[&dst].failed),
            (2, 1)
        );
        assert_eq!(w.by_process[&holder].closed, 2);
        assert_eq!(w.by_service[&8080].closed, 1);
        assert_eq!(w.by_peer[&"10.0.0.9".parse::<IpAddr>().unwrap()].closed, 1);
        assert_eq!((w.all.closed, w.all.failed, w.other), (3, 1, 1));
        assert_eq!((w.joined_cookie, w.unknown_holder), (2, 2));
        assert_eq!(w.lifetimes.count(), 3, "failed connects are not lifetimes");
        assert_eq!(w.keys(), 4);
        assert_eq!(budget.left, Budget::KEYS - 4);
    }

    #[test]
    fn a_flood_of_destinations_is_folded_past_the_budget() {
        let mut w = Window::new(SystemTime::UNIX_EPOCH);
        let mut budget = Budget { left: 10 };
        for port in 1..=1000u16 {
            let c = close(
                Ending::Closed,
                false,
                "10.0.0.1:40000",
                &format!("10.0.0.5:{port}"),
            );
            w.add(&c, &mut budget);
        }
        assert_eq!(w.by_destination.len(), 10);
        assert_eq!((w.folded.closed, w.folded_closes), (990, 990));
        assert_eq!(w.all.closed, 1000, "totals count every close");
        assert_eq!(budget.left, 0);
    }
}
