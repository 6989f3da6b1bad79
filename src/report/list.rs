//! `sockscope list`: the matching sockets, sorted, and who holds them.

use std::time::SystemTime;

use super::{Attribution, Collection, Owners};
use crate::model::SocketTable;

/// The row order `list` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// State (lifecycle order), then local, then peer address.
    State,
    Local,
    Peer,
    /// Receive queue, largest first.
    Rx,
    /// Send queue, largest first.
    Tx,
    /// As the kernel reports them: rows can be written as they arrive.
    None,
}

#[derive(Debug, Clone)]
pub struct SocketList {
    pub collected_at: SystemTime,
    /// Compact rows (48 bytes a socket), already in the order asked for.
    pub sockets: SocketTable,
    /// Present with `--processes`.
    pub owners: Option<(Owners, Attribution)>,
    /// Show timers and retransmits (`-o`).
    pub timers: bool,
    pub filter: String,
    pub collection: Collection,
    /// With `--all-netns`: the name of each group of `sockets` (one group per namespace, see
    /// [`SocketTable::start_group`]), shown as a column.
    pub netns: Option<Vec<String>>,
}

impl SocketList {
    /// The namespace name of the `i`th socket, when several were read.
    pub fn netns_of(&self, i: usize) -> Option<&str> {
        let names = self.netns.as_ref()?;
        names.get(self.sockets.group(i)?).map(String::as_str)
    }
}
