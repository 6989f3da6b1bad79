//! `sockscope list`: the matching sockets, sorted, and who holds them.

use std::time::SystemTime;

use super::{Attribution, Collection, Owners};
use crate::model::Socket;

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
}

#[derive(Debug, Clone)]
pub struct SocketList {
    pub collected_at: SystemTime,
    pub sockets: Vec<Socket>,
    /// Present with `--processes`.
    pub owners: Option<(Owners, Attribution)>,
    /// Show timers and retransmits (`-o`).
    pub timers: bool,
    pub filter: String,
    pub collection: Collection,
    /// With `--all-netns`: the namespace of each socket (an index into `names`, parallel to
    /// `sockets`), shown as a column.
    pub netns: Option<NetnsColumn>,
}

/// Which namespace each listed socket is in.
#[derive(Debug, Clone, Default)]
pub struct NetnsColumn {
    pub names: Vec<String>,
    /// Parallel to `SocketList::sockets`.
    pub of: Vec<u32>,
}

impl SocketList {
    /// The namespace name of the `i`th socket, when several were read.
    pub fn netns_of(&self, i: usize) -> Option<&str> {
        let column = self.netns.as_ref()?;
        let at = *column.of.get(i)? as usize;
        column.names.get(at).map(String::as_str)
    }
}
