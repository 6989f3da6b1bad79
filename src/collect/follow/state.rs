//! What the follower's threads share, under one lock: each followed namespace (its sockets, its
//! census table, its window of closes), the key budget, the last owner walk. Taking events in
//! and scheduling censuses; the threads themselves are `threads`.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::census::{OwnerIndex, Table};
use super::event::Destroyed;
use super::sockets::Opened;
use crate::model::Sysctls;
use crate::report::flows::{Budget, Window};

/// The shortest and the longest time between two censuses of one namespace.
pub const CENSUS_MIN: Duration = Duration::from_secs(1);
pub const CENSUS_QUIET: Duration = Duration::from_secs(60);
/// A census may cost at most 1/this of the time until the next one of its namespace…
const CENSUS_SHARE: u32 = 100;
/// …and all censuses together at most 1/this of one CPU: after a census of `d`, none starts
/// for `d` times this.
const CENSUS_GAP: u32 = 50;

pub(super) struct Shared {
    pub stop: AtomicBool,
    pub inner: Mutex<Inner>,
    /// Wakes the census thread: a namespace added, a quiet one woken by events, stop.
    pub census_due: Condvar,
    /// Wakes the receiving thread from its poll: the namespaces changed, or stop.
    pub wake: OwnedFd,
    /// The follower's clock: event and census times are ms since this.
    pub clock: Instant,
    pub proc_root: PathBuf,
    /// Receive buffer asked for, per namespace.
    pub buffer: usize,
}

impl Shared {
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The lock, even after a thread panicked holding it: every field stays consistent
    /// between statements, and a follower must never take the command down with it.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn ring(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }
}

#[derive(Default)]
pub(super) struct Inner {
    pub namespaces: BTreeMap<u64, Followed>,
    /// Bumped when the set of namespaces changes: the receiver then polls the new set.
    pub generation: u64,
    pub budget: Budget,
    pub owners: Arc<OwnerIndex>,
    /// Namespaces that could not be followed: by inode, (name, why). Not retried.
    pub refused: BTreeMap<u64, (String, String)>,
    /// This process's own namespace refused the subscription: nothing will be followed.
    pub denied: Option<String>,
    /// No census of any namespace starts before this.
    pub census_floor: Option<Instant>,
    /// Only closes between ends it accepts count (the run's filter).
    pub keep: Option<Keep>,
}

/// Which closes count, by their ends (local, remote).
pub type Keep = Arc<dyn Fn(std::net::SocketAddr, std::net::SocketAddr) -> bool + Send + Sync>;

/// One followed namespace.
pub(super) struct Followed {
    pub name: String,
    pub subscription: Arc<OwnedFd>,
    pub subscription_inode: u64,
    /// The census socket, held by whoever dumps through it.
    pub census: Arc<Mutex<OwnedFd>>,
    pub buffer: usize,
    pub sysctls: Sysctls,
    pub table: Table,
    pub window: Window,
    /// ENOBUFS seen by `recv` in this window.
    pub overruns: u64,
    /// The kernel's drop count when last accounted for (`None`: it cannot be read, and the
    /// overruns are counted instead, as a lower bound).
    pub drops_seen: Option<u64>,
    pub next_census: Instant,
    pub census_cost: Duration,
    pub last_census: Option<Instant>,
    /// Events since the last census: a namespace without any is censused only when quiet.
    pub events_since_census: u64,
    /// The subscription failed (its error); it is no longer polled.
    pub failed: Option<String>,
}

impl Followed {
    pub fn new(name: String, opened: Opened, drops: Option<u64>, now: SystemTime) -> Followed {
        Followed {
            name,
            subscription: Arc::new(opened.subscription),
            subscription_inode: opened.subscription_inode,
            census: Arc::new(Mutex::new(opened.census)),
            buffer: opened.buffer,
            sysctls: opened.sysctls,
            table: Table::default(),
            window: Window::new(now),
            overruns: 0,
            drops_seen: drops,
            next_census: Instant::now(),
            census_cost: Duration::ZERO,
            last_census: None,
            events_since_census: 0,
            failed: None,
        }
    }

    /// The time between this namespace's censuses while connections close: at least
    /// [`CENSUS_MIN`], and [`CENSUS_SHARE`] times what the last one cost.
    pub fn census_interval(&self) -> Duration {
        (self.census_cost * CENSUS_SHARE).clamp(CENSUS_MIN, CENSUS_QUIET)
    }

    /// Schedules the next census after one that took `cost`.
    pub fn censused(&mut self, cost: Duration, now: Instant) {
        self.census_cost = cost;
        self.last_census = Some(now);
        let next = if self.events_since_census == 0 {
            CENSUS_QUIET
        } else {
            self.census_interval()
        };
        self.next_census = now + next;
        self.events_since_census = 0;
    }

    /// Adds the kernel's drop count read now to the window's lost events.
    pub fn account_drops(&mut self, drops: Option<u64>) {
        match (self.drops_seen, drops) {
            (Some(before), Some(now)) => {
                self.window.lost += now.saturating_sub(before);
                self.drops_seen = Some(now);
            }
            // The count cannot be read: each ENOBUFS is at least one event lost.
            _ => {
                self.window.lost += self.overruns;
                self.drops_seen = None;
            }
        }
        self.overruns = 0;
    }
}

impl Inner {
    /// Takes in the events of one namespace's read; returns whether a census was pulled
    /// forward (a quiet namespace woke up).
    pub fn take_events(&mut self, inode: u64, events: &[Destroyed], now_ms: u64) -> bool {
        let Inner {
            namespaces,
            budget,
            owners,
            keep,
            ..
        } = self;
        let Some(ns) = namespaces.get_mut(&inode) else {
            return false;
        };
        let ephemeral = ns.sysctls.ip_local_port_range;
        for d in events {
            let close = ns.table.join(d, owners, now_ms, ephemeral);
            if keep.as_ref().is_none_or(|k| k(close.local, close.remote)) {
                ns.window.add(&close, budget);
            }
        }
        let was_quiet = ns.events_since_census == 0;
        ns.events_since_census += events.len() as u64;
        if was_quiet
            && !events.is_empty()
            && let Some(last) = ns.last_census
        {
            let soon = last + ns.census_interval();
            if soon < ns.next_census {
                ns.next_census = soon;
                return true;
            }
        }
        false
    }

    /// The namespace whose census is due first, and when.
    pub fn next_census(&self) -> Option<(u64, Instant)> {
        let due = self
            .namespaces
            .iter()
            .filter(|(_, ns)| ns.failed.is_none())
            .map(|(&inode, ns)| (inode, ns.next_census))
            .min_by_key(|&(_, at)| at)?;
        Some(match self.census_floor {
            Some(floor) if floor > due.1 => (due.0, floor),
            _ => due,
        })
    }

    /// Sets the floor after a census of `cost` ended at `now`.
    pub fn census_ended(&mut self, cost: Duration, now: Instant) {
        self.census_floor = Some(now + cost * CENSUS_GAP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dummy() -> OwnedFd {
        rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).unwrap()
    }

    #[test]
    fn a_census_costs_at_most_a_hundredth_of_its_interval() {
        let mut f = Followed {
            name: "x".into(),
            subscription: Arc::new(dummy()),
            subscription_inode: 0,
            census: Arc::new(Mutex::new(dummy())),
            buffer: 0,
            sysctls: Sysctls::default(),
            table: Table::default(),
            window: Window::new(SystemTime::UNIX_EPOCH),
            overruns: 0,
            drops_seen: Some(5),
            next_census: Instant::now(),
            census_cost: Duration::ZERO,
            last_census: None,
            events_since_census: 3,
            failed: None,
        };
        let now = Instant::now();
        f.censused(Duration::from_millis(2), now);
        assert_eq!(f.next_census, now + CENSUS_MIN);
        f.events_since_census = 1;
        f.censused(Duration::from_millis(90), now);
        assert_eq!(f.next_census, now + Duration::from_secs(9));
        // Nothing closed since: the next one waits the quiet interval.
        f.censused(Duration::from_millis(90), now);
        assert_eq!(f.next_census, now + CENSUS_QUIET);
        // Lost events: the kernel's count, or the overruns when it cannot be read.
        f.account_drops(Some(12));
        assert_eq!(f.window.lost, 7);
        f.overruns = 2;
        f.account_drops(None);
        assert_eq!((f.window.lost, f.drops_seen), (9, None));
    }
}
