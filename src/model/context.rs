//! What the kernel says besides the socket tables: sockstat, counters, sysctls, conntrack.
//! Types only; `collect::context` reads them.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `/proc/net/sockstat`'s TCP line (and `sockstat6`'s inuse).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sockstat {
    /// IPv4 sockets in use in this network namespace.
    pub inuse: u64,
    /// Orphaned sockets, host-wide.
    pub orphan: u64,
    /// TIME_WAIT mini-sockets (and orphaned FIN_WAIT2 ones) in this namespace.
    pub tw: u64,
    /// Allocated sockets, host-wide.
    pub alloc: u64,
    /// TCP memory in pages, host-wide.
    pub mem: u64,
}

/// The sysctls the rules compare against. Per-namespace ones are `None` with `--pid`: /proc/sys
/// shows the reader's namespace, not the target's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sysctls {
    pub ip_local_port_range: Option<(u16, u16)>,
    /// Reserved ports, as inclusive ranges.
    pub ip_local_reserved_ports: Option<Vec<(u16, u16)>>,
    pub tcp_max_tw_buckets: Option<u64>,
    pub tcp_max_orphans: Option<u64>,
    pub tcp_fin_timeout: Option<u64>,
    pub tcp_syncookies: Option<u64>,
    pub tcp_max_syn_backlog: Option<u64>,
    pub somaxconn: Option<u64>,
    /// Pages: [min, pressure, max].
    pub tcp_mem: Option<[u64; 3]>,
    pub tcp_tw_reuse: Option<u64>,
}

/// Everything read besides the socket tables, with what could not be read and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelContext {
    pub sockstat: Option<Sockstat>,
    pub sockstat6_inuse: Option<u64>,
    /// Cumulative counters by `Group.Name`, e.g. `TcpExt.ListenOverflows`, `Tcp.RetransSegs`.
    pub counters: BTreeMap<String, i64>,
    pub sysctl: Sysctls,
    /// (count, max) of the connection-tracking table; `None` when the module is not loaded.
    pub conntrack: Option<(u64, u64)>,
    /// What is missing: (the file, why).
    pub missing: Vec<(PathBuf, String)>,
}

impl KernelContext {
    pub fn counter(&self, name: &str) -> Option<i64> {
        self.counters.get(name).copied()
    }
}

/// Which local ports of a namespace are ephemeral: inside `ip_local_port_range` and held by no
/// listener. A listener the kernel placed in the range (bind to port 0) is a service port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalPorts {
    /// `ip_local_port_range`, inclusive.
    pub range: (u16, u16),
    pub listening: std::collections::BTreeSet<u16>,
}

impl LocalPorts {
    pub fn is_ephemeral(&self, port: u16) -> bool {
        (self.range.0..=self.range.1).contains(&port) && !self.listening.contains(&port)
    }
}
