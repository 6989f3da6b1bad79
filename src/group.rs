//! `top`'s grouping: sockets counted per key (process, port, peer, uid, or a nesting of them)
//! and per state. Pure: the owners come in already collected.

use std::collections::HashMap;

use crate::model::{Socket, SocketKind, StateCounts};
use crate::report::{Group, GroupKey, KeyValue, NetnsLabel, Owners};

/// Accumulates sockets into groups as they stream by.
pub struct Grouper<'a> {
    keys: &'a [GroupKey],
    owners: Option<&'a Owners>,
    groups: HashMap<Vec<KeyValue>, StateCounts>,
    /// The last namespace's key values, so names are built once per namespace, not per socket.
    netns: Option<(u64, KeyValue, KeyValue)>,
    /// Holders' containers (pid → name), for sockets in namespaces that are no container's.
    containers: Option<&'a HashMap<u32, String>>,
}

impl<'a> Grouper<'a> {
    /// `owners` is needed only when `keys` holds [`GroupKey::Process`].
    pub fn new(keys: &'a [GroupKey], owners: Option<&'a Owners>) -> Grouper<'a> {
        Grouper {
            keys,
            owners,
            groups: HashMap::new(),
            netns: None,
            containers: None,
        }
    }

    /// Names the container of a socket in a shared namespace after its holders' containers.
    pub fn with_containers(mut self, containers: &'a HashMap<u32, String>) -> Grouper<'a> {
        self.containers = Some(containers);
        self
    }

    #[cfg(test)]
    pub fn add(&mut self, socket: &Socket) {
        self.add_in(None, socket);
    }

    /// A socket of the namespace `label` (`None`: the one namespace read the classic way).
    pub fn add_in(&mut self, label: Option<&NetnsLabel>, socket: &Socket) {
        let inode = label.map_or(0, |l| l.inode);
        if self.netns.as_ref().is_none_or(|(i, _, _)| *i != inode) {
            let name = label.map_or_else(|| "(this namespace)".to_string(), NetnsLabel::name);
            let container = label.and_then(|l| {
                l.pod
                    .as_ref()
                    .map(|p| p.display())
                    .or_else(|| l.container.as_ref().map(|c| c.display()))
            });
            self.netns = Some((inode, KeyValue::Netns(name), KeyValue::Container(container)));
        }
        for tuple in self.keys_of(socket) {
            self.groups.entry(tuple).or_default().add(socket.state);
        }
    }

    /// The groups a socket counts in (one per holder when shared), for callers that follow
    /// more than counts per group (`watch`: the oldest socket of each).
    pub fn keys_of(&self, socket: &Socket) -> Vec<Vec<KeyValue>> {
        let mut tuples: Vec<Vec<KeyValue>> = vec![Vec::with_capacity(self.keys.len())];
        for &key in self.keys {
            let values = self.values(key, socket);
            if let [only] = values.as_slice() {
                for t in &mut tuples {
                    t.push(only.clone());
                }
            } else {
                // A socket held by several processes counts once for each.
                tuples = tuples
                    .iter()
                    .flat_map(|t| {
                        values.iter().map(move |v| {
                            let mut t = t.clone();
                            t.push(v.clone());
                            t
                        })
                    })
                    .collect();
            }
        }
        tuples
    }

    fn values(&self, key: GroupKey, socket: &Socket) -> Vec<KeyValue> {
        match key {
            GroupKey::LocalPort => vec![KeyValue::LocalPort(socket.local.port())],
            GroupKey::RemotePort => vec![KeyValue::RemotePort(socket.remote.port())],
            GroupKey::Peer => vec![KeyValue::Peer(socket.remote.ip())],
            GroupKey::Uid if socket.kind != SocketKind::Full => vec![KeyValue::NoUid],
            GroupKey::Uid => vec![KeyValue::Uid(socket.uid)],
            GroupKey::Netns => vec![
                self.netns
                    .as_ref()
                    .map_or(KeyValue::Container(None), |(_, n, _)| n.clone()),
            ],
            GroupKey::Container => {
                let own = self.netns.as_ref().map(|(_, _, c)| c.clone());
                if let Some(KeyValue::Container(Some(_))) = &own {
                    return own.into_iter().collect();
                }
                let mut held: Vec<KeyValue> = match (self.owners, self.containers) {
                    (Some(owners), Some(containers)) if socket.inode != 0 => owners
                        .of(socket.inode)
                        .filter_map(|p| containers.get(&p.pid))
                        .map(|c| KeyValue::Container(Some(c.clone())))
                        .collect(),
                    _ => Vec::new(),
                };
                held.sort();
                held.dedup();
                if held.is_empty() {
                    vec![KeyValue::Container(None)]
                } else {
                    held
                }
            }
            GroupKey::Process if socket.inode == 0 => vec![KeyValue::NoProcess],
            GroupKey::Process => {
                let holders: Vec<KeyValue> = self
                    .owners
                    .into_iter()
                    .flat_map(|o| o.of(socket.inode))
                    .map(|p| KeyValue::Process {
                        pid: p.pid,
                        comm: p.comm.clone(),
                    })
                    .collect();
                if holders.is_empty() {
                    vec![KeyValue::UnknownOwner]
                } else {
                    holders
                }
            }
        }
    }

    /// The groups, largest first; ties in key order, so output is stable.
    pub fn finish(self) -> Vec<Group> {
        let mut groups: Vec<Group> = self
            .groups
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
        let mut g = Grouper::new(&keys, None);
        g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 1));
        g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 2));
        g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 3));
        g.add(&socket(TcpState::Established, 443, [10, 0, 0, 6], 4));
        let groups = g.finish();
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
    fn mini_sockets_have_no_uid_not_root() {
        let keys = [GroupKey::Uid];
        let mut g = Grouper::new(&keys, None);
        let mut tw = socket(TcpState::TimeWait, 80, [10, 0, 0, 5], 0);
        tw.kind = SocketKind::TimeWait;
        g.add(&tw);
        let mut root = socket(TcpState::Established, 80, [10, 0, 0, 5], 7);
        root.uid = 0;
        g.add(&root);
        let mut user = socket(TcpState::Established, 81, [10, 0, 0, 5], 8);
        user.uid = 1000;
        g.add(&user);
        let mut keys: Vec<_> = g.finish().into_iter().map(|g| g.key).collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                vec![KeyValue::Uid(0)],
                vec![KeyValue::Uid(1000)],
                vec![KeyValue::NoUid]
            ]
        );
    }

    #[test]
    fn sockets_without_owners_are_named_not_dropped() {
        let keys = [GroupKey::Process];
        let owners = Owners::default();
        let mut g = Grouper::new(&keys, Some(&owners));
        g.add(&socket(TcpState::TimeWait, 80, [10, 0, 0, 5], 0));
        g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 7));
        let keys: Vec<_> = g.finish().into_iter().map(|g| g.key).collect();
        assert_eq!(
            keys,
            vec![vec![KeyValue::NoProcess], vec![KeyValue::UnknownOwner]]
        );
    }
}
