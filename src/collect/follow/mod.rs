//! The destroy-event follower: connections over time without eBPF. sock_diag multicasts one
//! message per TCP socket the kernel frees (`SKNLGRP_INET_TCP_DESTROY`,
//! `SKNLGRP_INET6_TCP_DESTROY`, what `ss -E` prints) with its final `tcp_info`. The follower
//! subscribes in each namespace it is given, from inside it (one socket per namespace, opened
//! by a thread that enters it), with a receive buffer of a known size; what the kernel drops
//! when that buffer is full is read back exactly (netlink_diag's drop count) and reported as
//! lost, never hidden.
//!
//! Events are joined to their holders without walking `/proc` per event: by cookie through a
//! census (a sock_diag dump of the namespace, at most once a second and at most 1% of a CPU,
//! that remembers each socket's cookie and inode when first seen) and the last owner walk the
//! pipeline hands over; else by the listener of an accepted connection's local port; else
//! counted as unknown. Each namespace's closes build up in a bounded window until the
//! pipeline drains it, once per run. It never reads a socket's data, and never acts on one.

mod census;
mod event;
mod sockets;
mod state;
mod threads;

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::collect::netns;
use crate::collect::nsfs::Moved;
use crate::model::Sysctls;
use crate::report::Owners;
use crate::report::flows::{Budget, Window};
use census::OwnerIndex;
pub use state::Keep;
use state::{Followed, Inner, Shared};

/// Namespaces followed at once (two descriptors each); more are said to be unfollowed.
pub const MAX_NAMESPACES: usize = 512;

/// A namespace to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    pub inode: u64,
    /// The file to enter it through; `None` for this process's own (nothing to enter).
    pub path: Option<PathBuf>,
    /// How the reports name it.
    pub name: String,
}

/// One namespace's window, drained.
#[derive(Debug)]
pub struct Drain {
    pub inode: u64,
    pub name: String,
    pub window: Window,
    /// `ip_local_port_range`, `ip_local_reserved_ports`, `tcp_tw_reuse`, read inside it when
    /// following began.
    pub sysctls: Sysctls,
    /// The lost events are the kernel's own count (else a lower bound: one per ENOBUFS).
    pub loss_exact: bool,
    /// The receive buffer the kernel granted.
    pub buffer: usize,
    /// Sockets the census remembers, and those past its cap.
    pub tracked: usize,
    pub untracked: u64,
}

/// Everything since the previous drain.
#[derive(Debug)]
pub struct Drained {
    pub ended: SystemTime,
    pub namespaces: Vec<Drain>,
    /// Namespaces asked for that are not followed: (name, why).
    pub unfollowed: Vec<(String, String)>,
    /// Nothing can be followed: why (the kernel refused the subscription).
    pub denied: Option<String>,
    /// The longest time between two censuses of a busy namespace: how precisely lifetimes
    /// are dated by them.
    pub census_interval: Duration,
}

/// The follower: two threads and the namespaces they follow. Dropping it stops them.
pub struct Follower {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("buffer", &self.shared.buffer)
            .finish_non_exhaustive()
    }
}

impl Follower {
    /// Starts the threads, following nothing yet. `buffer`: the receive buffer per namespace;
    /// `proc_root`: where `/proc` is (the sysctls are read under it).
    pub fn start(proc_root: &Path, buffer: usize) -> io::Result<Follower> {
        let wake = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
            census_due: Condvar::new(),
            wake,
            clock: std::time::Instant::now(),
            proc_root: proc_root.to_path_buf(),
            buffer,
        });
        let mut threads = Vec::with_capacity(2);
        for (name, run) in [
            ("sockscope-events", threads::receiver as fn(Arc<Shared>)),
            ("sockscope-census", threads::censuses),
        ] {
            let shared = Arc::clone(&shared);
            threads.push(
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || run(shared))?,
            );
        }
        Ok(Follower { shared, threads })
    }

    /// Follows exactly these namespaces from now on: new ones are subscribed (from inside,
    /// each checked to be the namespace listed), gone ones let go. A namespace that refuses
    /// is remembered with why, and not tried again while it is listed.
    pub fn follow(&self, spots: &[Spot]) {
        let wanted: BTreeSet<u64> = spots.iter().map(|s| s.inode).collect();
        let new: Vec<&Spot> = {
            let mut inner = self.shared.lock();
            let before = inner.namespaces.len();
            inner.namespaces.retain(|inode, _| wanted.contains(inode));
            inner.refused.retain(|inode, _| wanted.contains(inode));
            if inner.namespaces.len() != before {
                inner.generation += 1;
            }
            if inner.denied.is_some() {
                return;
            }
            spots
                .iter()
                .filter(|s| {
                    !inner.namespaces.contains_key(&s.inode)
                        && !inner.refused.contains_key(&s.inode)
                })
                .collect()
        };
        let room = {
            let inner = self.shared.lock();
            MAX_NAMESPACES.saturating_sub(inner.namespaces.len())
        };
        let (buffer, root) = (self.shared.buffer, self.shared.proc_root.clone());
        let open = move || sockets::open_here(buffer, &root);
        let (mine, theirs): (Vec<&Spot>, Vec<&Spot>) = new.iter().partition(|s| s.path.is_none());
        let mut opened: Vec<(&Spot, io::Result<sockets::Opened>)> =
            mine.into_iter().map(|s| (s, open())).collect();
        let (within, over) = theirs.split_at(theirs.len().min(room.saturating_sub(opened.len())));
        let paths: Vec<&Path> = within.iter().filter_map(|s| s.path.as_deref()).collect();
        for (spot, entered) in within.iter().zip(netns::within_each(&paths, &open)) {
            let checked =
                entered.and_then(|(inode, o)| Moved::check(spot.inode, inode).map(|()| o));
            opened.push((spot, checked));
        }
        let now = SystemTime::now();
        let mut inner = self.shared.lock();
        for (spot, result) in opened {
            match result {
                Ok(o) => {
                    let dropped = sockets::drops(&o.census, o.subscription_inode);
                    let followed = Followed::new(spot.name.clone(), o, dropped, now);
                    inner.namespaces.insert(spot.inode, followed);
                    inner.generation += 1;
                }
                Err(e) => {
                    if spot.path.is_none() && e.kind() == io::ErrorKind::PermissionDenied {
                        inner.denied = Some(e.to_string());
                    }
                    inner
                        .refused
                        .insert(spot.inode, (spot.name.clone(), e.to_string()));
                }
            }
        }
        for spot in over {
            let why = format!("more than {MAX_NAMESPACES} namespaces are followed at once");
            inner.refused.insert(spot.inode, (spot.name.clone(), why));
        }
        drop(inner);
        self.shared.ring();
        self.shared.census_due.notify_all();
    }

    /// How many followed namespaces have had their first census: before it, accepted
    /// connections are not yet known as such, and events join by `tcp_info` alone.
    pub fn censused(&self) -> usize {
        let inner = self.shared.lock();
        inner
            .namespaces
            .values()
            .filter(|ns| ns.last_census.is_some())
            .count()
    }

    /// Why nothing can be followed (this process's own namespace refused the subscription:
    /// the kernel refused the subscription), once [`Follower::follow`] has tried.
    pub fn denied(&self) -> Option<String> {
        self.shared.lock().denied.clone()
    }

    /// Walks `/proc/*/fd` once for the holders of every socket the censuses remember (and of
    /// the listeners), for a command that follows before its first run (`--follow`): the events
    /// from then on are joined to them. What `top --by process` costs.
    pub fn walk_owners(&self) -> io::Result<()> {
        let wanted: std::collections::HashSet<u64> = {
            let inner = self.shared.lock();
            inner
                .namespaces
                .values()
                .flat_map(|ns| ns.table.inodes())
                .filter(|&i| i != 0)
                .collect()
        };
        let owners = crate::collect::fdwalk::owners_of(&self.shared.proc_root, &wanted, None)?;
        self.set_owners(owners);
        Ok(())
    }

    /// Counts only the closes between ends `keep` accepts from now on (`None`: all).
    pub fn keep_only(&self, keep: Option<state::Keep>) {
        self.shared.lock().keep = keep;
    }

    /// The owners the last walk found: events from now on are joined to them.
    pub fn set_owners(&self, owners: Owners) {
        let index = Arc::new(OwnerIndex::new(owners));
        self.shared.lock().owners = index;
    }

    /// Every namespace's window since the last drain (or since it was followed), with the
    /// events the kernel dropped up to now; the windows start again.
    pub fn drain(&self) -> Drained {
        let sockets: Vec<(u64, Arc<Mutex<std::os::fd::OwnedFd>>, u64)> = {
            let inner = self.shared.lock();
            inner
                .namespaces
                .iter()
                .map(|(&i, ns)| (i, Arc::clone(&ns.census), ns.subscription_inode))
                .collect()
        };
        let drops: Vec<(u64, Option<u64>)> = sockets
            .iter()
            .map(|(inode, fd, sub)| {
                let fd = fd.lock().unwrap_or_else(|p| p.into_inner());
                (*inode, sockets::drops(&fd, *sub))
            })
            .collect();
        let ended = SystemTime::now();
        let mut inner = self.shared.lock();
        let mut out = Drained {
            ended,
            namespaces: Vec::with_capacity(inner.namespaces.len()),
            unfollowed: inner.refused.values().cloned().collect(),
            denied: inner.denied.clone(),
            census_interval: Duration::ZERO,
        };
        for (inode, dropped) in drops {
            let Some(ns) = inner.namespaces.get_mut(&inode) else {
                continue;
            };
            ns.account_drops(dropped);
            if let Some(why) = &ns.failed {
                out.unfollowed.push((ns.name.clone(), why.clone()));
            }
            out.census_interval = out.census_interval.max(ns.census_interval());
            out.namespaces.push(Drain {
                inode,
                name: ns.name.clone(),
                window: std::mem::replace(&mut ns.window, Window::new(ended)),
                sysctls: ns.sysctls.clone(),
                loss_exact: ns.drops_seen.is_some(),
                buffer: ns.buffer,
                tracked: ns.table.len(),
                untracked: ns.table.untracked,
            });
        }
        inner.budget = Budget::full();
        out
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ring();
        self.shared.census_due.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::Instant;

    fn own() -> Spot {
        let link = std::fs::read_link("/proc/self/ns/net").unwrap();
        Spot {
            inode: netns::parse_id(&link.to_string_lossy()).unwrap(),
            path: None,
            name: "here".into(),
        }
    }

    #[test]
    fn loopback_connections_are_counted_on_both_ends() {
        // Listening before the first census, which tells its accepted connections apart (the
        // port is an ephemeral one).
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let follower = Follower::start(Path::new("/proc"), 4 << 20).unwrap();
        follower.follow(&[own()]);
        if let Some(why) = follower.drain().denied {
            assert!(!rustix::process::geteuid().is_root(), "{why}");
            println!("skipped: {why}");
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while follower.censused() == 0 {
            assert!(Instant::now() < deadline, "no census");
            std::thread::sleep(Duration::from_millis(10));
        }
        for _ in 0..50 {
            let client = TcpStream::connect(addr).unwrap();
            let (server, _) = listener.accept().unwrap();
            drop(server);
            drop(client);
        }
        // Both ends of every connection, whatever else this host closes meanwhile.
        let (mut out, mut accepted) = (0, 0);
        while out < 50 || accepted < 50 {
            assert!(Instant::now() < deadline, "{out} out, {accepted} accepted");
            std::thread::sleep(Duration::from_millis(20));
            for ns in follower.drain().namespaces {
                let w = &ns.window;
                out += w.by_destination.get(&addr).map_or(0, |k| k.closed);
                accepted += w.by_service.get(&addr.port()).map_or(0, |k| k.closed);
                assert_eq!(ns.window.lost, 0);
                assert!(ns.loss_exact);
            }
        }
        assert_eq!((out, accepted), (50, 50));
        let _: SocketAddr = addr;
    }
}
