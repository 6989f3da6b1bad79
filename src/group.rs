//! `top`'s grouping: sockets counted per key (process, port, peer, uid, namespace, container,
//! or a nesting of them) and per state. Pure: the owners come in already collected.
//!
//! Without a holder key the groups are counted as the sockets stream by and no socket is kept.
//! With one (the process; the container, for sockets in a namespace that is no container's),
//! each socket waits for its owners as 16 bytes: its inode, its state and an index of the values
//! of its other keys, so a million sockets cost 16 MiB, not a key of strings each.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{FastMap, LocalPorts, Socket, SocketKind, StateCounts, TcpState};
use crate::report::{Group, GroupKey, KeyValue, NetnsLabel, Owners};

/// A socket waiting for its owners.
#[derive(Debug, Clone, Copy)]
struct Pending {
    inode: u64,
    /// Index of the values of the keys (holder keys still unresolved) in `Grouper::rests`.
    rest: u32,
    state: TcpState,
}

/// Who holds a socket, as far as the holder keys care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Holders {
    /// Inode 0: no process can hold it.
    NoProcess,
    /// Not found.
    Unknown,
    /// One process (an index into [`Owners::processes`]): nearly every socket.
    One(u32),
    /// Several (after fork or fd passing): an index into the interned sets.
    Many(u32),
}

/// Accumulates sockets into groups as they stream by.
pub struct Grouper<'a> {
    keys: &'a [GroupKey],
    /// Whether a key needs the holders: the sockets are then kept until the owners are known.
    deferred: bool,
    groups: FastMap<Vec<KeyValue>, StateCounts>,
    /// With a holder key: the distinct values of the keys, each socket, by index.
    rests: FastMap<Vec<KeyValue>, u32>,
    pending: Vec<Pending>,
    /// The last namespace's key values, so names are built once per namespace, not per socket.
    netns: Option<(u64, KeyValue, KeyValue)>,
    /// The key values of the socket being added (reused).
    scratch: Vec<KeyValue>,
}

impl<'a> Grouper<'a> {
    pub fn new(keys: &'a [GroupKey]) -> Grouper<'a> {
        Grouper {
            keys,
            deferred: keys.iter().any(|k| k.needs_owners()),
            groups: FastMap::default(),
            rests: FastMap::default(),
            pending: Vec::new(),
            netns: None,
            scratch: Vec::new(),
        }
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
            self.netns = Some((inode, KeyValue::Netns(name), container_value(label)));
        }
        let Some((_, name, container)) = &self.netns else {
            return;
        };
        let mut values = std::mem::take(&mut self.scratch);
        values.clear();
        values.extend(self.keys.iter().map(|&key| match key {
            GroupKey::Netns => name.clone(),
            // Kept as the namespace's own container; `None` is resolved by the holders.
            GroupKey::Container => container.clone(),
            // Resolved by the holders.
            GroupKey::Process => KeyValue::UnknownOwner,
            key => plain_value(key, socket),
        }));
        // Looked up by slice: a key is allocated once per group, not once per socket.
        let rest = if !self.deferred {
            match self.groups.get_mut(values.as_slice()) {
                Some(counts) => counts.add(socket.state),
                None => self
                    .groups
                    .entry(values.clone())
                    .or_default()
                    .add(socket.state),
            }
            None
        } else if let Some(&rest) = self.rests.get(values.as_slice()) {
            Some(rest)
        } else {
            let next = u32::try_from(self.rests.len()).unwrap_or(u32::MAX);
            self.rests.insert(values.clone(), next);
            Some(next)
        };
        self.scratch = values;
        let Some(rest) = rest else {
            return;
        };
        self.pending.push(Pending {
            inode: socket.inode,
            rest,
            state: socket.state,
        });
    }

    /// The inodes of the sockets kept for the holder keys (0: no process can hold it), in
    /// ascending order after [`Grouper::sort_by_inode`].
    pub fn inodes(&self) -> impl Iterator<Item = u64> + Clone + '_ {
        self.pending.iter().map(|p| p.inode)
    }

    /// Sorts the kept sockets by inode: the owners are then found by merging, not searching.
    pub fn sort_by_inode(&mut self) {
        self.pending.sort_unstable_by_key(|p| p.inode);
    }

    /// The groups, largest first; ties in key order, so output is stable. `owners` names the
    /// holders under a holder key, `containers` their containers (pid → name); a socket held by
    /// several processes counts once for each (and once per container they are in).
    pub fn finish(self, owners: Option<&Owners>, containers: &HashMap<u32, String>) -> Vec<Group> {
        let mut groups = self.groups;
        if self.deferred {
            let empty = Owners::default();
            let owners = owners.unwrap_or(&empty);
            let mut sets: HashMap<Vec<u32>, u32> = HashMap::new();
            let mut counts: FastMap<(u32, Holders), StateCounts> = FastMap::default();
            // The kept sockets are in inode order (`sort_by_inode`), as the holdings are.
            let mut lookup = owners.lookup();
            for p in &self.pending {
                let holders = if p.inode == 0 {
                    Holders::NoProcess
                } else {
                    let mut of = lookup.indices_of(p.inode);
                    match (of.next(), of.next()) {
                        (None, _) => Holders::Unknown,
                        (Some(one), None) => Holders::One(one),
                        (Some(a), Some(b)) => {
                            let set: Vec<u32> = [a, b].into_iter().chain(of).collect();
                            let next = u32::try_from(sets.len()).unwrap_or(u32::MAX);
                            Holders::Many(*sets.entry(set).or_insert(next))
                        }
                    }
                };
                counts.entry((p.rest, holders)).or_default().add(p.state);
            }
            let mut rests = vec![Vec::new(); self.rests.len()];
            for (values, index) in self.rests {
                rests[index as usize] = values;
            }
            let mut many = vec![Vec::new(); sets.len()];
            for (set, index) in sets {
                many[index as usize] = set;
            }
            let resolve = Resolve {
                keys: self.keys,
                owners,
                containers,
            };
            for ((rest, holders), state_counts) in counts {
                let held = match holders {
                    Holders::One(i) => vec![i],
                    Holders::Many(set) => many[set as usize].clone(),
                    Holders::NoProcess | Holders::Unknown => Vec::new(),
                };
                for key in resolve.keys(&rests[rest as usize], holders, &held) {
                    groups.entry(key).or_default().merge(&state_counts);
                }
            }
        }
        sorted(
            groups
                .into_iter()
                .map(|(key, counts)| Group { key, counts })
                .collect(),
        )
    }
}

/// Largest first; ties in key order, so output is stable.
fn sorted(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by(|a, b| {
        b.counts
            .total()
            .cmp(&a.counts.total())
            .then_with(|| a.key.cmp(&b.key))
    });
    groups
}

/// Folds the ephemeral local ports of each group into one value, as `serve` keeps ephemeral
/// ports out of its series: a client's thousand connections are one row, not a thousand.
/// Returns the groups, sorted again, and how many distinct ports were folded.
pub fn fold_ephemeral(groups: Vec<Group>, ports: &LocalPorts) -> (Vec<Group>, u64) {
    let (from, to) = ports.range;
    let mut folded: BTreeMap<Vec<KeyValue>, (StateCounts, BTreeSet<u16>)> = BTreeMap::new();
    let mut kept = Vec::with_capacity(groups.len());
    let mut all = BTreeSet::new();
    for group in groups {
        let mut port = None;
        let key: Vec<KeyValue> = group
            .key
            .iter()
            .map(|value| match *value {
                KeyValue::LocalPort(p) if ports.is_ephemeral(p) => {
                    port = Some(p);
                    KeyValue::Ephemeral { from, to, ports: 0 }
                }
                ref other => other.clone(),
            })
            .collect();
        let Some(port) = port else {
            kept.push(group);
            continue;
        };
        all.insert(port);
        let (counts, seen) = folded.entry(key).or_default();
        counts.merge(&group.counts);
        seen.insert(port);
    }
    for (mut key, (counts, seen)) in folded {
        for value in &mut key {
            if let KeyValue::Ephemeral { ports, .. } = value {
                *ports = u32::try_from(seen.len()).unwrap_or(u32::MAX);
            }
        }
        kept.push(Group { key, counts });
    }
    (sorted(kept), all.len() as u64)
}

/// A key's value that needs neither the namespace nor the holders.
fn plain_value(key: GroupKey, socket: &Socket) -> KeyValue {
    match key {
        GroupKey::LocalPort => KeyValue::LocalPort(socket.local.port()),
        GroupKey::RemotePort if socket.remote.port() == 0 => KeyValue::NoPeer,
        GroupKey::RemotePort => KeyValue::RemotePort(socket.remote.port()),
        GroupKey::Peer if socket.remote.ip().is_unspecified() => KeyValue::NoPeer,
        GroupKey::Peer => KeyValue::Peer(socket.remote.ip()),
        GroupKey::Uid if socket.kind != SocketKind::Full => KeyValue::NoUid,
        GroupKey::Uid => KeyValue::Uid(socket.uid),
        GroupKey::Netns | GroupKey::Container => KeyValue::Container(None),
        GroupKey::Process if socket.inode == 0 => KeyValue::NoProcess,
        GroupKey::Process => KeyValue::UnknownOwner,
    }
}

/// The container or pod whose namespace `label` is (`Container(None)`: none, or the one
/// namespace read the classic way).
pub fn container_value(label: Option<&NetnsLabel>) -> KeyValue {
    KeyValue::Container(label.and_then(|l| {
        l.pod
            .as_ref()
            .map(|p| p.display())
            .or_else(|| l.container.as_ref().map(|c| c.display()))
    }))
}

/// The values of one key for a socket (one per holder under the process key), for callers that
/// follow more than counts per group (`watch`: the oldest socket of each). No namespace is
/// known here: the container key gives `Container(None)`.
pub fn values_of(key: GroupKey, socket: &Socket, owners: Option<&Owners>) -> Vec<KeyValue> {
    if key != GroupKey::Process || socket.inode == 0 {
        return vec![plain_value(key, socket)];
    }
    let holders: Vec<KeyValue> = owners
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

/// Turns the holders of a group of sockets into the values of the holder keys.
struct Resolve<'a> {
    keys: &'a [GroupKey],
    owners: &'a Owners,
    containers: &'a HashMap<u32, String>,
}

impl Resolve<'_> {
    /// The keys sockets with these other values and these holders count under: one per
    /// holder, each holder's process beside its own container, and each key once.
    fn keys(&self, rest: &[KeyValue], holders: Holders, held: &[u32]) -> Vec<Vec<KeyValue>> {
        let processes = self.owners.processes();
        let process_at = self.keys.iter().position(|&k| k == GroupKey::Process);
        // A namespace that is no container's: its sockets count for their holders' containers.
        let container_at = self
            .keys
            .iter()
            .position(|&k| k == GroupKey::Container)
            .filter(|&at| rest.get(at) == Some(&KeyValue::Container(None)));
        if held.is_empty() {
            let mut key = rest.to_vec();
            if let Some(at) = process_at {
                key[at] = match holders {
                    Holders::NoProcess => KeyValue::NoProcess,
                    _ => KeyValue::UnknownOwner,
                };
            }
            return vec![key];
        }
        let mut keys: Vec<Vec<KeyValue>> = held
            .iter()
            .map(|&i| {
                let p = &processes[i as usize];
                let mut key = rest.to_vec();
                if let Some(at) = process_at {
                    key[at] = KeyValue::Process {
                        pid: p.pid,
                        comm: p.comm.clone(),
                    };
                }
                if let Some(at) = container_at {
                    key[at] = KeyValue::Container(self.containers.get(&p.pid).cloned());
                }
                key
            })
            .collect();
        // Without the process key, a socket counts for the containers of its holders, and
        // under no container only when none of them is in one.
        if process_at.is_none()
            && let Some(at) = container_at
            && keys.iter().any(|k| k[at] != KeyValue::Container(None))
        {
            keys.retain(|k| k[at] != KeyValue::Container(None));
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests;
