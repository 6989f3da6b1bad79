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
}
