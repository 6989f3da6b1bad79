//! `sockscope top`: groups of sockets, largest first.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use super::{Attribution, Collection};
use crate::model::StateCounts;

/// What `top` groups sockets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    /// The processes holding the socket (a shared socket counts for each holder).
    Process,
    LocalPort,
    RemotePort,
    /// The remote address (IPv4-mapped peers as plain IPv4).
    Peer,
    /// The socket's uid (who created it; needs no privilege).
    Uid,
    /// The network namespace, by name (`--all-netns`).
    Netns,
    /// The container or pod whose namespace holds the socket (`(host)` for the host's).
    Container,
}

impl GroupKey {
    /// Whether grouping by this key needs the sockets' owners (a container sharing the host's
    /// namespace is found through the processes holding its sockets).
    pub fn needs_owners(self) -> bool {
        matches!(self, GroupKey::Process | GroupKey::Container)
    }
}

/// One component of a group's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyValue {
    Process {
        pid: u32,
        comm: String,
    },
    /// Inode 0: no process can hold the socket (orphaned, mini-socket, accept queue).
    NoProcess,
    /// A real socket whose holder could not be found.
    UnknownOwner,
    LocalPort(u16),
    /// The local ports of `ip_local_port_range` that no listener holds, as one value: the
    /// range, and how many distinct ports were folded into the group.
    Ephemeral {
        from: u16,
        to: u16,
        ports: u32,
    },
    RemotePort(u16),
    Peer(IpAddr),
    /// A socket with no peer (a listener, an unconnected socket): remote port 0, address
    /// `0.0.0.0` or `::`. `ss` prints `*`.
    NoPeer,
    Uid(u32),
    /// A mini-socket (TIME_WAIT, orphaned FIN_WAIT2, a request socket): the kernel keeps no
    /// owner for it and prints uid 0, which is not root.
    NoUid,
    /// A namespace's name (`web-frontend`, `shop/api-7d9f`, `host`, `net:[N]`).
    Netns(String),
    /// A container or pod; `None` for a namespace that is not a container's.
    Container(Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub key: Vec<KeyValue>,
    pub counts: StateCounts,
}

/// `sockscope top`: groups of sockets, largest first.
#[derive(Debug, Clone)]
pub struct TopReport {
    pub collected_at: SystemTime,
    pub by: Vec<GroupKey>,
    /// Sockets that matched the filters (the denominator of each share).
    pub total: u64,
    /// The largest groups, up to the limit.
    pub groups: Vec<Group>,
    /// Groups left out by the limit: how many, and how many sockets they count.
    pub rest: Option<(u64, u64)>,
    /// Present when grouping by process.
    pub attribution: Option<Attribution>,
    /// The names of the uids shown, from the host's `/etc/passwd` (empty when not read).
    pub users: BTreeMap<u32, String>,
    /// Ephemeral local ports folded into one value per group: the range and how many ports.
    pub ephemeral: Option<(u16, u16, u64)>,
    pub filter: String,
    pub collection: Collection,
}
