//! The follower's two threads. The receiver blocks in `poll` on every subscription (and the
//! wake-up descriptor), reads what arrived and hands the events in under the lock: idle, it
//! never wakes. The census thread sleeps until a namespace's census is due, dumps it through
//! its own socket (so a long census never delays reading events), and merges the result.

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustix::event::{PollFd, PollFlags, poll};

use super::census;
use super::event::{Destroyed, decode};
use super::sockets::{drops, receive};
use super::state::Shared;

/// Datagrams read from one subscription before the others get their turn.
const ROUNDS: usize = 64;
/// The receive buffer of the thread (the kernel's, per namespace, is the socket's own).
const BUF: usize = 256 << 10;

pub(super) fn receiver(shared: Arc<Shared>) {
    let mut buf = vec![0u8; BUF];
    let mut events: Vec<Destroyed> = Vec::new();
    let mut generation = u64::MAX;
    let mut subscriptions: Vec<(u64, Arc<OwnedFd>)> = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        {
            let inner = shared.lock();
            if inner.generation != generation {
                generation = inner.generation;
                subscriptions = inner
                    .namespaces
                    .iter()
                    .filter(|(_, ns)| ns.failed.is_none())
                    .map(|(&inode, ns)| (inode, Arc::clone(&ns.subscription)))
                    .collect();
            }
        }
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd> = Vec::with_capacity(subscriptions.len() + 1);
            fds.push(PollFd::new(&shared.wake, PollFlags::IN));
            for (_, fd) in &subscriptions {
                fds.push(PollFd::new(fd.as_ref(), PollFlags::IN));
            }
            match poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                // Nothing to wait on can fail here but an exhausted kernel: stop following
                // rather than spin.
                Err(_) => return,
            }
            fds.iter().map(|f| !f.revents().is_empty()).collect()
        };
        if ready[0] {
            let mut word = [0u8; 8];
            let _ = rustix::io::read(&shared.wake, &mut word);
        }
        for ((inode, fd), _) in subscriptions
            .iter()
            .zip(&ready[1..])
            .filter(|(_, ready)| **ready)
        {
            events.clear();
            let got = receive(fd, &mut buf, ROUNDS, &mut |m| events.extend(decode(m)));
            let now_ms = shared.now_ms();
            let mut inner = shared.lock();
            let woke = inner.take_events(*inode, &events, now_ms);
            if let Some(ns) = inner.namespaces.get_mut(inode) {
                ns.overruns += got.overruns;
                if let Some(e) = got.failed {
                    ns.failed = Some(format!("reading its events failed ({e})"));
                    inner.generation += 1;
                }
            }
            drop(inner);
            if woke {
                shared.census_due.notify_all();
            }
        }
    }
}

pub(super) fn censuses(shared: Arc<Shared>) {
    while let Some((inode, fd, subscription_inode)) = next_due(&shared) {
        let started = Instant::now();
        let (found, dropped) = {
            let socket = fd.lock().unwrap_or_else(|p| p.into_inner());
            (census::take(&socket), drops(&socket, subscription_inode))
        };
        let ended = Instant::now();
        let cost = ended - started;
        let at_ms = shared.now_ms();
        let mut inner = shared.lock();
        inner.census_ended(cost, ended);
        let Some(ns) = inner.namespaces.get_mut(&inode) else {
            continue;
        };
        match found {
            Ok(found) => ns.table.record(found, at_ms),
            Err(e) => ns.failed = Some(format!("its census failed ({e})")),
        }
        ns.account_drops(dropped);
        ns.censused(cost, ended);
    }
}

/// Waits until a namespace's census is due: that namespace, its census socket and its
/// subscription's inode. `None` once the follower stops.
fn next_due(shared: &Shared) -> Option<(u64, Arc<Mutex<OwnedFd>>, u64)> {
    let mut inner = shared.lock();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        let now = Instant::now();
        inner = match inner.next_census() {
            Some((inode, due)) if due <= now => {
                let ns = inner.namespaces.get(&inode)?;
                return Some((inode, Arc::clone(&ns.census), ns.subscription_inode));
            }
            Some((_, due)) => match shared.census_due.wait_timeout(inner, due - now) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            },
            None => match shared.census_due.wait(inner) {
                Ok(guard) => guard,
                Err(p) => p.into_inner(),
            },
        };
    }
}
