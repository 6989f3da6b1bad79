//! The census: a sock_diag dump of one followed namespace, now and then, that remembers each
//! socket's cookie when first seen (so a destroy event can say how long it lived, and whose it
//! was: the inode joins the owner walk) and each listener (so an accepted connection is known
//! as such, and joined to the listener's holder). Then the join of an event with what the
//! census and the walk knew. Bounded: at most [`Table::CAP`] sockets per namespace are
//! remembered; the rest are counted as untracked.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use super::event::Destroyed;
use crate::collect::netlink::{self, cookie_of, parse_msg};
use crate::model::{Family, TcpState};
use crate::report::Owners;
use crate::report::flows::{Close, Ending, Holder, Joined};

/// The states a census asks for: every full socket that will be destroyed, and the
/// listeners. Not TIME_WAIT (bit 6) nor SYN_RECV (bit 3, which brings the request
/// mini-sockets): neither is ever reported destroyed, and TIME_WAIT can be most of a table.
pub const STATES: u32 = netlink::ALL_STATES & !(1 << 6) & !(1 << 3);

/// One socket as a census saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// When first seen (the end of that census), ms on the follower's clock.
    pub first_ms: u64,
    pub inode: u64,
    /// The destination port while it was connecting: a failed blocking connect loses it.
    pub remote_port: u16,
    generation: u32,
}

/// What one census found.
#[derive(Debug, Default)]
pub struct Found {
    /// (cookie, inode, destination port of a SYN_SENT socket or 0)
    pub sockets: Vec<(u64, u64, u16)>,
    /// (local address, inode)
    pub listeners: Vec<(SocketAddr, u64)>,
}

/// Dumps the namespace the socket `fd` was opened in.
pub fn take(fd: &OwnedFd) -> io::Result<Found> {
    let mut found = Found::default();
    for family in Family::ALL {
        netlink::dump_payloads(fd, family, STATES, &mut |m| {
            let (Some(s), Some(cookie)) = (parse_msg(m, 100), cookie_of(m)) else {
                return;
            };
            match s.state {
                TcpState::Listen => found.listeners.push((s.local, s.inode)),
                TcpState::SynSent => found.sockets.push((cookie, s.inode, s.remote.port())),
                _ => found.sockets.push((cookie, s.inode, 0)),
            }
        })?;
    }
    Ok(found)
}

/// What the censuses of one namespace remember.
#[derive(Debug, Default)]
pub struct Table {
    seen: HashMap<u64, Seen>,
    listeners: HashMap<u16, Vec<(IpAddr, u64)>>,
    generation: u32,
    /// Sockets of the last census past the cap.
    pub untracked: u64,
}

impl Table {
    /// Sockets remembered per namespace: about 40 bytes each.
    pub const CAP: usize = 1 << 20;

    /// Takes in a census that ended at `at_ms`: new sockets are first seen then; sockets it
    /// did not see are gone (their event, if any, came or was lost).
    pub fn record(&mut self, found: Found, at_ms: u64) {
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        self.untracked = 0;
        for (cookie, inode, remote_port) in found.sockets {
            if let Some(seen) = self.seen.get_mut(&cookie) {
                seen.generation = generation;
                seen.inode = inode;
                if remote_port != 0 {
                    seen.remote_port = remote_port;
                }
            } else if self.seen.len() < Table::CAP {
                self.seen.insert(
                    cookie,
                    Seen {
                        first_ms: at_ms,
                        inode,
                        remote_port,
                        generation,
                    },
                );
            } else {
                self.untracked += 1;
            }
        }
        self.seen.retain(|_, s| s.generation == generation);
        self.listeners.clear();
        for (local, inode) in found.listeners {
            self.listeners
                .entry(local.port())
                .or_default()
                .push((local.ip(), inode));
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// The inodes of every socket and listener remembered.
    pub fn inodes(&self) -> impl Iterator<Item = u64> + '_ {
        self.seen
            .values()
            .map(|s| s.inode)
            .chain(self.listeners.values().flatten().map(|&(_, inode)| inode))
    }

    /// The listener `local` was accepted by, if its namespace listens there.
    fn listener(&self, local: SocketAddr) -> Option<u64> {
        self.listeners
            .get(&local.port())?
            .iter()
            .find_map(|&(ip, inode)| (ip.is_unspecified() || ip == local.ip()).then_some(inode))
    }

    /// Classifies a destroyed socket and joins it to its holder: by its cookie's inode when a
    /// census saw it, else by the listener of its local port; its lifetime from the census
    /// (when first seen) or `tcp_info`'s idle times, whichever says longer. A connection on a
    /// port no census saw listen (the listener is newer than the last census) counts as
    /// accepted when its local port is outside `ephemeral` (`ip_local_port_range`) and its
    /// peer's inside: a service port, called from a client's.
    pub fn join(
        &mut self,
        d: &Destroyed,
        owners: &OwnerIndex,
        now_ms: u64,
        ephemeral: Option<(u16, u16)>,
    ) -> Close {
        let seen = self.seen.remove(&d.cookie);
        let listener = self.listener(d.local);
        let looks_accepted = ephemeral.is_some_and(|(lo, hi)| {
            let range = lo..=hi;
            !range.contains(&d.local.port()) && range.contains(&d.remote.port())
        });
        let ending = d.ending(listener.is_some());
        let accepted = (listener.is_some() || looks_accepted) && ending != Ending::Other;
        let by_cookie = seen.and_then(|s| owners.holder(s.inode));
        let (holder, joined) = match (by_cookie, listener.and_then(|l| owners.holder(l))) {
            (Some(h), _) => (Some(h), Joined::Cookie),
            (None, Some(h)) if accepted => (Some(h), Joined::ListenerPort),
            _ => (None, Joined::Unknown),
        };
        let mut remote = d.remote;
        if remote.port() == 0
            && let Some(port) = seen.map(|s| s.remote_port).filter(|&p| p != 0)
        {
            remote.set_port(port);
        }
        let census = seen.map(|s| now_ms.saturating_sub(s.first_ms));
        let (lifetime_ms, dated_by_census) = match (ending, census, d.idle_ms()) {
            (Ending::Closed, Some(c), Some(i)) => (Some(c.max(i)), c >= i),
            (Ending::Closed, Some(c), None) => (Some(c), true),
            (Ending::Closed, None, i) => (i, false),
            (Ending::Failed, c, _) => (c, c.is_some()),
            (Ending::Other, _, _) => (None, false),
        };
        let info = d.info.unwrap_or_default();
        Close {
            ending,
            accepted,
            local: d.local,
            remote,
            holder,
            joined,
            lifetime_ms,
            dated_by_census,
            bytes_acked: info.bytes_acked.unwrap_or(0),
            bytes_received: info.bytes_received.unwrap_or(0),
            segs_out: u64::from(info.segs_out.unwrap_or(0)),
            retrans: u64::from(info.total_retrans),
        }
    }
}

/// The last owner walk, for joins: inode → its holder (the first, when several share it).
#[derive(Debug, Default)]
pub struct OwnerIndex {
    owners: Owners,
    holders: Vec<Arc<Holder>>,
}

impl OwnerIndex {
    pub fn new(owners: Owners) -> OwnerIndex {
        let holders = owners
            .processes()
            .iter()
            .map(|p| {
                Arc::new(Holder {
                    pid: p.pid,
                    comm: p.comm.clone(),
                })
            })
            .collect();
        OwnerIndex { owners, holders }
    }

    fn holder(&self, inode: u64) -> Option<Arc<Holder>> {
        if inode == 0 {
            return None;
        }
        let i = self.owners.lookup().indices_of(inode).next()?;
        self.holders.get(i as usize).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::follow::event::decode;
    use crate::collect::follow::event::tests::{message, put32, put64};
    use crate::report::{Process, WalkStats};

    fn established(local: &str, remote: &str, cookie: u64, idle: u32) -> Destroyed {
        decode(&message(
            local,
            remote,
            cookie,
            Some(&|b| {
                b[5] = 7;
                put32(b, 44, idle);
                put32(b, 52, idle);
                put64(b, 120, 100);
                put64(b, 128, 200);
            }),
        ))
        .unwrap()
    }

    fn owners() -> OwnerIndex {
        let processes = vec![
            Process::for_test(10, "nginx"),
            Process::for_test(20, "curl"),
        ];
        // Inode 500 is the listener (nginx), 700 a client socket (curl).
        OwnerIndex::new(Owners::new(
            processes,
            vec![(500, 0), (700, 1)],
            WalkStats::default(),
        ))
    }

    #[test]
    fn joins_by_cookie_then_by_listening_port_then_unknown() {
        let mut t = Table::default();
        t.record(
            Found {
                sockets: vec![(1, 700, 0), (2, 0, 0)],
                listeners: vec![("0.0.0.0:8080".parse().unwrap(), 500)],
            },
            1_000,
        );
        let idx = owners();
        // Seen by the census at 1 s, gone at 61 s, idle 2 s: it lived at least 60 s.
        let c = t.join(
            &established("10.0.0.1:40000", "10.0.0.5:443", 1, 2_000),
            &idx,
            61_000,
            None,
        );
        assert_eq!(c.joined, Joined::Cookie);
        assert_eq!(c.holder.as_ref().map(|h| h.comm.as_str()), Some("curl"));
        assert_eq!(
            (c.lifetime_ms, c.dated_by_census, c.accepted),
            (Some(60_000), true, false)
        );
        // Accepted on :8080, never seen: the listener's holder, dated by its idle time.
        let c = t.join(
            &established("10.0.0.1:8080", "10.0.0.9:5000", 3, 1_500),
            &idx,
            61_000,
            None,
        );
        assert_eq!((c.joined, c.accepted), (Joined::ListenerPort, true));
        assert_eq!(c.holder.as_ref().map(|h| h.pid), Some(10));
        assert_eq!((c.lifetime_ms, c.dated_by_census), (Some(1_500), false));
        // Seen, but its inode was in no walk (an orphan): unknown, still dated by the census.
        let c = t.join(
            &established("10.0.0.1:40001", "10.0.0.5:443", 2, 10),
            &idx,
            3_000,
            None,
        );
        assert_eq!((c.joined, c.lifetime_ms), (Joined::Unknown, Some(2_000)));
        // A cookie is joined once: the census forgets it.
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_listener_newer_than_the_census_is_told_by_the_port_ranges() {
        let mut t = Table::default();
        let range = Some((32768, 60999));
        let idx = OwnerIndex::default();
        // :8080 from a client's ephemeral port: accepted, though no census saw :8080 listen.
        let c = t.join(
            &established("10.0.0.1:8080", "10.0.0.9:50000", 1, 5),
            &idx,
            0,
            range,
        );
        assert!(c.accepted);
        // From an ephemeral port to a service port: made from here.
        let c = t.join(
            &established("10.0.0.1:50000", "10.0.0.9:8080", 2, 5),
            &idx,
            0,
            range,
        );
        assert!(!c.accepted);
        // Without the range nothing is assumed.
        let c = t.join(
            &established("10.0.0.1:8080", "10.0.0.9:50000", 3, 5),
            &idx,
            0,
            None,
        );
        assert!(!c.accepted);
    }

    #[test]
    fn a_failed_blocking_connect_gets_its_port_back_from_the_census() {
        let mut t = Table::default();
        t.record(
            Found {
                sockets: vec![(9, 0, 5432)],
                listeners: vec![],
            },
            0,
        );
        let refused = decode(&message("0.0.0.0:59410", "10.0.0.7:0", 9, Some(&|_| {}))).unwrap();
        let c = t.join(&refused, &OwnerIndex::default(), 3_000, None);
        assert_eq!(c.ending, Ending::Failed);
        assert_eq!(c.remote, "10.0.0.7:5432".parse().unwrap());
        assert_eq!((c.lifetime_ms, c.dated_by_census), (Some(3_000), true));
        // Unseen: the port stays unknown.
        let refused = decode(&message("0.0.0.0:1", "10.0.0.7:0", 10, Some(&|_| {}))).unwrap();
        assert_eq!(
            t.join(&refused, &OwnerIndex::default(), 0, None)
                .remote
                .port(),
            0
        );
    }

    #[test]
    fn sockets_gone_from_a_census_are_forgotten() {
        let mut t = Table::default();
        t.record(
            Found {
                sockets: vec![(1, 1, 0), (2, 2, 0)],
                listeners: vec![],
            },
            0,
        );
        t.record(
            Found {
                sockets: vec![(2, 2, 0), (3, 3, 0)],
                listeners: vec![],
            },
            1_000,
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t.seen[&2].first_ms, 0, "first seen stays the first");
        assert_eq!(t.seen[&3].first_ms, 1_000);
        assert!(!t.seen.contains_key(&1));
    }
}
