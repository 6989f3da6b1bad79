//! `top`'s grouping: sockets counted per key (process, port, peer, uid, or a nesting of them)
//! and per state. Pure: the owners come in already collected.
//!
//! Without a process key, sockets are counted as they stream by and none is kept. With one,
//! the owners are known only after the walk that runs beside the dump, so each socket is kept
//! as 16 bytes (inode, state, the index of its other keys' values) and counted at the end.

use std::collections::HashMap;

use crate::model::{Socket, StateCounts, TcpState};
use crate::report::{Group, GroupKey, KeyValue, Owners};

/// Who a socket counts for under the process key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Holder {
    Process(u32),
    NoProcess,
    Unknown,
}

/// A socket waiting for its owners.
#[derive(Debug, Clone, Copy)]
struct Pending {
    inode: u64,
    /// Index of the values of the keys other than the process.
    rest: u32,
    state: TcpState,
}

/// Accumulates sockets into groups as they stream by.
pub struct Grouper<'a> {
    keys: &'a [GroupKey],
    /// Where the process key is in `keys`, if it is.
    process_at: Option<usize>,
    groups: HashMap<Vec<KeyValue>, StateCounts>,
    /// With a process key: the distinct values of the other keys, and each socket.
    rests: HashMap<Vec<KeyValue>, u32>,
    pending: Vec<Pending>,
}

impl<'a> Grouper<'a> {
    pub fn new(keys: &'a [GroupKey]) -> Grouper<'a> {
        Grouper {
            keys,
            process_at: keys.iter().position(|&k| k == GroupKey::Process),
            groups: HashMap::new(),
            rests: HashMap::new(),
            pending: Vec::new(),
        }
    }

    pub fn add(&mut self, socket: &Socket) {
        let values: Vec<KeyValue> = self.keys.iter().filter_map(|&k| value(k, socket)).collect();
        if self.process_at.is_none() {
            self.groups.entry(values).or_default().add(socket.state);
            return;
        }
        let next = u32::try_from(self.rests.len()).unwrap_or(u32::MAX);
        let rest = *self.rests.entry(values).or_insert(next);
        self.pending.push(Pending {
            inode: socket.inode,
            rest,
            state: socket.state,
        });
    }

    /// The inodes of the sockets kept for the process key (0: no process can hold it).
    pub fn inodes(&self) -> impl Iterator<Item = u64> + Clone + '_ {
        self.pending.iter().map(|p| p.inode)
    }

    /// Sorts the kept sockets by inode, so [`Grouper::holds`] can search them.
    pub fn sort_by_inode(&mut self) {
        self.pending.sort_unstable_by_key(|p| p.inode);
    }

    /// Whether a kept socket has this inode (after [`Grouper::sort_by_inode`]).
    pub fn holds(&self, inode: u64) -> bool {
        self.pending
            .binary_search_by_key(&inode, |p| p.inode)
            .is_ok()
    }

    /// The groups, largest first; ties in key order, so output is stable. `owners` names the
    /// holders under a process key; a socket held by several processes counts once for each.
    pub fn finish(self, owners: Option<&Owners>) -> Vec<Group> {
        let mut groups = self.groups;
        if let Some(at) = self.process_at {
            let empty = Owners::default();
            let owners = owners.unwrap_or(&empty);
            let mut counts: HashMap<(u32, Holder), StateCounts> = HashMap::new();
            let processes = owners.processes();
            for p in &self.pending {
                let mut any = false;
                if p.inode != 0 {
                    for index in owners.indices_of(p.inode) {
                        any = true;
                        counts
                            .entry((p.rest, Holder::Process(index)))
                            .or_default()
                            .add(p.state);
                    }
                }
                if !any {
                    let holder = if p.inode == 0 {
                        Holder::NoProcess
                    } else {
                        Holder::Unknown
                    };
                    counts.entry((p.rest, holder)).or_default().add(p.state);
                }
            }
            let mut rests = vec![Vec::new(); self.rests.len()];
            for (values, index) in self.rests {
                rests[index as usize] = values;
            }
            for ((rest, holder), state_counts) in counts {
                let mut key = rests[rest as usize].clone();
                key.insert(
                    at,
                    match holder {
                        Holder::Process(i) => {
                            let p = &processes[i as usize];
                            KeyValue::Process {
                                pid: p.pid,
                                comm: p.comm.clone(),
                            }
                        }
                        Holder::NoProcess => KeyValue::NoProcess,
                        Holder::Unknown => KeyValue::UnknownOwner,
                    },
                );
                groups.insert(key, state_counts);
            }
        }
        let mut groups: Vec<Group> = groups
            .into_iter()
            .map(|(key, counts)| Group { key, counts })
            .collect();
        groups.sort_by(|a, b| {
            b.counts
                .total()
                .cmp(&a.counts.total())
                .then_with(|| a.key.cmp(&b.key))
        });
        groups
    }
}

/// A socket's value under a key other than the process (`None` for the process key, whose
/// values come from the owners).
fn value(key: GroupKey, socket: &Socket) -> Option<KeyValue> {
    Some(match key {
        GroupKey::LocalPort => KeyValue::LocalPort(socket.local.port()),
        GroupKey::RemotePort => KeyValue::RemotePort(socket.remote.port()),
        GroupKey::Peer => KeyValue::Peer(socket.remote.ip()),
        GroupKey::Uid => KeyValue::Uid(socket.uid),
        GroupKey::Process => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    fn socket(state: TcpState, sport: u16, peer: [u8; 4], inode: u64) -> Socket {
        let peer = std::net::Ipv4Addr::from(peer);
        let mut s = Socket::for_test(
            state,
            &format!("127.0.0.1:{sport}"),
            &format!("{peer}:40000"),
        );
        s.inode = inode;
        s
    }

    #[test]
    fn nested_keys_count_per_state_largest_first() {
        let keys = [GroupKey::LocalPort, GroupKey::Peer];
        let mut g = Grouper::new(&keys);
        g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 1));
        g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 2));
        g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 3));
        g.add(&socket(TcpState::Established, 443, [10, 0, 0, 6], 4));
        let groups = g.finish(None);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0].key,
            vec![
                KeyValue::LocalPort(80),
                KeyValue::Peer([10, 0, 0, 5].into())
            ]
        );
        assert_eq!(groups[0].counts.total(), 3);
        assert_eq!(groups[0].counts.get(TcpState::CloseWait), 2);
        assert_eq!(groups[1].counts.get(TcpState::Established), 1);
    }

    #[test]
    fn sockets_without_owners_are_named_not_dropped() {
        let keys = [GroupKey::Process];
        let owners = Owners::default();
        let mut g = Grouper::new(&keys);
        g.add(&socket(TcpState::TimeWait, 80, [10, 0, 0, 5], 0));
        g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 7));
        let keys: Vec<_> = g.finish(Some(&owners)).into_iter().map(|g| g.key).collect();
        assert_eq!(
            keys,
            vec![vec![KeyValue::NoProcess], vec![KeyValue::UnknownOwner]]
        );
    }

    #[test]
    fn a_process_key_nests_with_others_and_shared_sockets_count_for_each_holder() {
        let process = |pid: u32, comm: &str| crate::report::Process {
            pid,
            comm: comm.into(),
            uid: 0,
            starttime: 1,
            fd_count: 3,
            nofile_soft: None,
        };
        let owners = Owners::new(
            vec![process(10, "a"), process(11, "b")],
            vec![(1, 0), (1, 1), (2, 0), (2, 0)],
            Default::default(),
        );
        let keys = [GroupKey::LocalPort, GroupKey::Process];
        let mut g = Grouper::new(&keys);
        g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 1));
        g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 2));
        g.add(&socket(TcpState::Established, 443, [10, 0, 0, 5], 2));
        g.add(&socket(TcpState::TimeWait, 443, [10, 0, 0, 5], 0));
        g.add(&socket(TcpState::Established, 443, [10, 0, 0, 5], 9));
        g.sort_by_inode();
        assert!(g.holds(9) && !g.holds(3));
        let groups: Vec<(Vec<KeyValue>, u64)> = g
            .finish(Some(&owners))
            .into_iter()
            .map(|g| (g.key, g.counts.total()))
            .collect();
        let a = || KeyValue::Process {
            pid: 10,
            comm: "a".into(),
        };
        let b = KeyValue::Process {
            pid: 11,
            comm: "b".into(),
        };
        assert_eq!(
            groups,
            vec![
                (vec![KeyValue::LocalPort(80), a()], 2),
                (vec![KeyValue::LocalPort(80), b], 1),
                (vec![KeyValue::LocalPort(443), a()], 1),
                (vec![KeyValue::LocalPort(443), KeyValue::NoProcess], 1),
                (vec![KeyValue::LocalPort(443), KeyValue::UnknownOwner], 1),
            ]
        );
    }
}
