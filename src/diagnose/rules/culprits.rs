//! Who is behind a finding: the largest holders, local ports, peers; and why no process is
//! named when one was wanted. Shared by the rules; pure, owners come in already looked up.

use std::collections::HashMap;
use std::hash::Hash;

use crate::diagnose::{Input, Processes};
use crate::report::{Culprit, Owners};

/// How many culprits of each kind a finding names.
pub const TOP_CULPRITS: usize = 5;

/// The largest entries of a count map, count first, then key: stable output.
pub fn top<K: Ord + Clone + Hash, S>(counts: &HashMap<K, u64, S>, n: usize) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = counts.iter().map(|(k, &c)| (k.clone(), c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

pub fn port_culprits<S>(counts: &HashMap<u16, u64, S>) -> Vec<Culprit> {
    top(counts, TOP_CULPRITS)
        .into_iter()
        .map(|(port, count)| Culprit::LocalPort { port, count })
        .collect()
}

pub fn peer_culprits<S>(counts: &HashMap<std::net::IpAddr, u64, S>) -> Vec<Culprit> {
    top(counts, TOP_CULPRITS)
        .into_iter()
        .map(|(ip, count)| Culprit::Peer {
            addr: ip.to_string(),
            count,
        })
        .collect()
}

/// The processes holding `inodes`, largest holders first, with their fd use.
pub fn process_culprits(s: &Input, inodes: &[u64]) -> Vec<Culprit> {
    holders(s.owners, inodes)
}

/// As [`process_culprits`], from the owners alone (the two-run rules have no `Input`).
pub fn holders(owners: Option<&Owners>, inodes: &[u64]) -> Vec<Culprit> {
    let Some(owners) = owners else {
        return Vec::new();
    };
    let mut per_pid: HashMap<u32, u64> = HashMap::new();
    for &inode in inodes {
        for p in owners.of(inode) {
            *per_pid.entry(p.pid).or_default() += 1;
        }
    }
    top(&per_pid, TOP_CULPRITS)
        .into_iter()
        .filter_map(|(pid, count)| {
            let p = owners.processes().iter().find(|p| p.pid == pid)?;
            Some(Culprit::Process {
                pid,
                comm: p.comm.clone(),
                count,
                fd_count: p.fd_count,
                nofile_soft: p.nofile_soft,
            })
        })
        .collect()
}

/// The first local port of `culprits`, and its count.
pub fn first_port(culprits: &[Culprit]) -> Option<(u16, u64)> {
    match culprits.first() {
        Some(Culprit::LocalPort { port, count }) => Some((*port, *count)),
        _ => None,
    }
}

/// The first peer of `culprits`, and its count.
pub fn first_peer(culprits: &[Culprit]) -> Option<(String, u64)> {
    match culprits.first() {
        Some(Culprit::Peer { addr, count }) => Some((addr.clone(), *count)),
        _ => None,
    }
}

/// Why no process is named when one was wanted (the `Who:` line names those found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unnamed {
    /// `--no-processes`.
    NotLookedUp,
    /// Looked up, and none found (the attribution notes say why).
    NotIdentified,
}

/// Why no process is named among `culprits` when `wanted`; `None` when one is, or none was
/// wanted, or owners are still to be looked up.
pub fn unnamed(s: &Input, culprits: &[Culprit], wanted: bool) -> Option<Unnamed> {
    let named = culprits
        .iter()
        .any(|c| matches!(c, Culprit::Process { .. }));
    match (named, s.processes) {
        (true, _) => None,
        (false, Processes::Skipped) if wanted => Some(Unnamed::NotLookedUp),
        (false, Processes::LookedUp) if wanted => Some(Unnamed::NotIdentified),
        _ => None,
    }
}
