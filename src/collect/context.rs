//! Kernel context the diagnostics need besides the socket tables: `/proc/net/sockstat{,6}`,
//! the counters of `/proc/net/netstat` and `/proc/net/snmp`, a few sysctls, conntrack fill.
//!
//! Any of it may be missing (containers, modules not loaded, old kernels) or malformed: each
//! value is optional and the reason it is absent is kept, so a rule that needs it says
//! "unknown" instead of guessing. Nothing here is an error.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::path::Path;

use super::bounded;
use crate::error::Cause;
use crate::model::{KernelContext, Sockstat};

/// Largest context file read (`ip_local_reserved_ports` listing every other port is about
/// 400 KiB; `netstat` is a few KiB). A larger one is reported missing, with the reason.
pub const CONTEXT_LIMIT: u64 = 1 << 20;

/// `/proc/sys/kernel/random/boot_id`: a new value means the counters restarted from zero.
pub fn read_boot_id(root: &Path) -> Option<String> {
    let text = bounded::read_text(&root.join("sys/kernel/random/boot_id"), 64).ok()?;
    Some(text.trim().to_string()).filter(|s| !s.is_empty())
}

/// The sysctls the rules read, in order: (directory under `sys/net`, name, whether each
/// network namespace has its own). `tcp_max_orphans` and `tcp_mem` are host-wide.
const SYSCTLS: [(&str, &str, bool); 10] = [
    ("ipv4", "ip_local_port_range", true),
    ("ipv4", "ip_local_reserved_ports", true),
    ("ipv4", "tcp_max_tw_buckets", true),
    ("ipv4", "tcp_max_orphans", false),
    ("ipv4", "tcp_fin_timeout", true),
    ("ipv4", "tcp_syncookies", true),
    ("ipv4", "tcp_max_syn_backlog", true),
    ("core", "somaxconn", true),
    ("ipv4", "tcp_mem", false),
    ("ipv4", "tcp_tw_reuse", true),
];

/// The sysctls one network namespace has its own of, as read from inside it: each one's text,
/// or why it could not be read. `/proc/sys/net` shows the namespace of the thread that opens
/// the file, so a thread that entered the namespace reads them ([`read_net_sysctls`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetSysctls {
    read: Vec<(&'static str, Result<String, String>)>,
}

/// Where a namespace's own sysctls come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerNetns {
    /// This process's own namespace: `ROOT/sys/net` shows it.
    Here,
    /// Read from inside the namespace.
    Read(NetSysctls),
    /// Not known, and why; `None` with `--pid`, where the rules say why themselves.
    Unknown(Option<String>),
}

/// Reads the per-namespace sysctls under `root/sys/net` as the calling thread's network
/// namespace shows them: call it on a thread that entered the namespace.
pub fn read_net_sysctls(root: &Path) -> NetSysctls {
    let read = SYSCTLS
        .iter()
        .filter(|(_, _, per_netns)| *per_netns)
        .map(|&(dir, name, _)| {
            let path = root.join("sys/net").join(dir).join(name);
            let text = bounded::read_text(&path, CONTEXT_LIMIT).map_err(|e| Cause(&e).to_string());
            (name, text)
        })
        .collect();
    NetSysctls { read }
}

/// The host-wide sysctls (`tcp_mem`, `tcp_max_orphans`), read once for every namespace of a
/// sweep ([`read_host_wide`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostWide {
    read: Vec<(&'static str, Result<String, String>)>,
}

/// Reads the host-wide sysctls under `root/sys/net`, as this process's namespace shows them
/// (only the initial namespace has them).
pub fn read_host_wide(root: &Path) -> HostWide {
    let read = SYSCTLS
        .iter()
        .filter(|(_, _, per_netns)| !*per_netns)
        .map(|&(dir, name, _)| {
            let path = root.join("sys/net").join(dir).join(name);
            let text = bounded::read_text(&path, CONTEXT_LIMIT).map_err(|e| Cause(&e).to_string());
            (name, text)
        })
        .collect();
    HostWide { read }
}

/// Reads the context under `root` (`/proc`). `net` is where the network files are: `root/net`,
/// or `root/PID/net` for another namespace (`None`: a namespace without a process, whose files
/// cannot be reached); `per_netns` says where that namespace's own sysctls come from; `host`,
/// the host-wide ones when a sweep has read them already (else they are read here).
pub fn read_context(
    root: &Path,
    net: Option<&Path>,
    per_netns: &PerNetns,
    host: Option<&HostWide>,
) -> KernelContext {
    let mut ctx = KernelContext::default();
    match net {
        Some(net) => read_net_files(&mut ctx, net),
        None => ctx.missing.push((
            "/proc/PID/net".into(),
            "the namespace has no process to read its counters through".into(),
        )),
    }
    for (dir, name, own) in SYSCTLS {
        let path = root.join("sys/net").join(dir).join(name);
        let text = match per_netns {
            PerNetns::Read(inside) if own => inside
                .read
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| Err("not read".to_string()), |(_, t)| t.clone()),
            PerNetns::Unknown(None) if own => continue,
            PerNetns::Unknown(Some(why)) if own => Err(why.clone()),
            _ => match host.and_then(|h| h.read.iter().find(|(n, _)| *n == name)) {
                Some((_, text)) if !own => text.clone(),
                _ => bounded::read_text(&path, CONTEXT_LIMIT).map_err(|e| Cause(&e).to_string()),
            },
        };
        match text {
            Ok(text) => set_sysctl(&mut ctx, name, &text),
            Err(why) => ctx.missing.push((path, why)),
        }
    }
    // Conntrack is optional: its absence means the module is not loaded, not a problem. Its
    // count is the namespace's own and its limit the host's: judged in this namespace only.
    if *per_netns == PerNetns::Here {
        let netfilter = root.join("sys/net/netfilter");
        let count = bounded::read_text(&netfilter.join("nf_conntrack_count"), CONTEXT_LIMIT).ok();
        let max = bounded::read_text(&netfilter.join("nf_conntrack_max"), CONTEXT_LIMIT).ok();
        if let (Some(count), Some(max)) = (count, max) {
            ctx.conntrack = count.trim().parse().ok().zip(max.trim().parse().ok());
        }
    }
    ctx
}

/// sockstat, sockstat6 and the counters of `netstat` and `snmp` under `net`.
fn read_net_files(ctx: &mut KernelContext, net: &Path) {
    if let Some(text) = read(ctx, &net.join("sockstat")) {
        ctx.sockstat = parse_sockstat(&text);
        if ctx.sockstat.is_none() {
            ctx.missing
                .push((net.join("sockstat"), "no well-formed TCP line".into()));
        }
    }
    if let Some(text) = read(ctx, &net.join("sockstat6")) {
        ctx.sockstat6_inuse = parse_pairs(&text, "TCP6:").and_then(|p| p.get("inuse").copied());
    }
    for file in ["netstat", "snmp"] {
        if let Some(text) = read(ctx, &net.join(file)) {
            ctx.counters.extend(parse_counters(text.as_bytes()));
        }
    }
}

/// One sysctl's text, parsed into its field (a malformed value stays unknown).
fn set_sysctl(ctx: &mut KernelContext, name: &str, text: &str) {
    let s = &mut ctx.sysctl;
    let number = || text.trim().parse::<u64>().ok();
    match name {
        "ip_local_port_range" => s.ip_local_port_range = parse_port_range(text),
        "ip_local_reserved_ports" => s.ip_local_reserved_ports = parse_port_list(text),
        "tcp_max_tw_buckets" => s.tcp_max_tw_buckets = number(),
        "tcp_max_orphans" => s.tcp_max_orphans = number(),
        "tcp_fin_timeout" => s.tcp_fin_timeout = number(),
        "tcp_syncookies" => s.tcp_syncookies = number(),
        "tcp_max_syn_backlog" => s.tcp_max_syn_backlog = number(),
        "somaxconn" => s.somaxconn = number(),
        "tcp_mem" => s.tcp_mem = parse_tcp_mem(text),
        "tcp_tw_reuse" => s.tcp_tw_reuse = number(),
        _ => {}
    }
}

fn read(ctx: &mut KernelContext, path: &Path) -> Option<String> {
    match bounded::read_text(path, CONTEXT_LIMIT) {
        Ok(text) => Some(text),
        Err(e) => {
            ctx.missing
                .push((path.to_path_buf(), Cause(&e).to_string()));
            None
        }
    }
}

/// The `key value key value…` pairs of the line starting with `prefix` (as ss parses
/// sockstat: later kernels may add pairs such as `pressure`).
fn parse_pairs(text: &str, prefix: &str) -> Option<BTreeMap<String, u64>> {
    let line = text.lines().find(|l| l.starts_with(prefix))?;
    let mut words = line[prefix.len()..].split_whitespace();
    let mut pairs = BTreeMap::new();
    while let (Some(key), Some(value)) = (words.next(), words.next()) {
        pairs.insert(key.to_string(), value.parse().ok()?);
    }
    Some(pairs)
}

pub fn parse_sockstat(text: &str) -> Option<Sockstat> {
    let p = parse_pairs(text, "TCP:")?;
    Some(Sockstat {
        inuse: *p.get("inuse")?,
        orphan: *p.get("orphan")?,
        tw: *p.get("tw")?,
        alloc: *p.get("alloc")?,
        mem: *p.get("mem")?,
    })
}

/// Header/value line pairs (`TcpExt: A B` then `TcpExt: 1 2`), mapped by name; the set of
/// counters varies by kernel. A value that is not a number is left out.
pub fn parse_counters(text: impl BufRead) -> BTreeMap<String, i64> {
    let mut counters = BTreeMap::new();
    let mut header: Option<(String, Vec<String>)> = None;
    for line in text.lines().map_while(io::Result::ok) {
        let Some((group, rest)) = line.split_once(':') else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        match header.take() {
            Some((g, names)) if g == group => {
                for (name, value) in names.iter().zip(&words) {
                    if let Ok(v) = value.parse::<i64>() {
                        counters.insert(format!("{group}.{name}"), v);
                    }
                }
            }
            _ => {
                header = Some((
                    group.to_string(),
                    words.iter().map(|w| w.to_string()).collect(),
                ))
            }
        }
    }
    counters
}

/// Every sysctl parser over one text (the fuzz targets' entry): the port range, the reserved
/// port list, `tcp_mem` and a plain number.
#[allow(clippy::type_complexity)]
pub fn parse_sysctls(
    text: &str,
) -> (
    Option<(u16, u16)>,
    Option<Vec<(u16, u16)>>,
    Option<[u64; 3]>,
    Option<u64>,
) {
    (
        parse_port_range(text),
        parse_port_list(text),
        parse_tcp_mem(text),
        text.trim().parse().ok(),
    )
}

fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut words = text.split_whitespace();
    let lo = words.next()?.parse().ok()?;
    let hi = words.next()?.parse().ok()?;
    (lo <= hi && words.next().is_none()).then_some((lo, hi))
}

/// `8080,9000-9010` (an empty file is no reserved ports).
fn parse_port_list(text: &str) -> Option<Vec<(u16, u16)>> {
    text.trim()
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.trim().split_once('-') {
            Some((lo, hi)) => Some((lo.parse().ok()?, hi.parse().ok()?)),
            None => p.trim().parse().ok().map(|v| (v, v)),
        })
        .collect()
}

fn parse_tcp_mem(text: &str) -> Option<[u64; 3]> {
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|w| w.parse().ok())
        .collect::<Option<_>>()?;
    <[u64; 3]>::try_from(v).ok()
}

#[cfg(test)]
mod tests;
