//! Rules that compare usage with a kernel limit: ephemeral ports per destination (A2),
//! TIME_WAIT buckets (A3), orphans (A11), TCP memory (A12), conntrack (A15), and the settings
//! worth knowing about (A18).

use std::net::IpAddr;

use serde_json::json;

use super::{missing, strings};
use crate::diagnose::observe::PortUse;
use crate::diagnose::thresholds::{Ratio, Thresholds};
use crate::diagnose::{Input, Outcome, TOP_CULPRITS, percent};
use crate::report::{Culprit, Finding, Severity};

/// (local IP, remote IP, remote port)
type Destination = (IpAddr, IpAddr, u16);

fn by_ratio(used: u64, limit: u64, r: &Ratio) -> Option<Severity> {
    let share = used as f64 / limit.max(1) as f64;
    Severity::from_levels(share >= r.warn, share >= r.crit)
}

pub fn ephemeral_ports(s: &Input, t: &Thresholds) -> Outcome {
    let Some((lo, hi)) = s.ctx.sysctl.ip_local_port_range else {
        return Outcome::Skipped(missing(s.ctx, "ip_local_port_range", true));
    };
    let reserved: u64 = s
        .ctx
        .sysctl
        .ip_local_reserved_ports
        .iter()
        .flatten()
        .map(|&(a, b)| {
            let (a, b) = (a.max(lo), b.min(hi));
            if a <= b { u64::from(b - a) + 1 } else { 0 }
        })
        .sum();
    let usable = (u64::from(hi - lo) + 1).saturating_sub(reserved).max(1);
    let tw_reuse = s.ctx.sysctl.tcp_tw_reuse;
    // connect() may take over a TIME_WAIT port toward the same destination when tcp_tw_reuse
    // allows it (1: always; 2, the default: when either address is loopback) and the socket
    // is more than a second old (`tcp_twsk_unique`). Those ports are not lost.
    let reuses = |(local, remote, _): &Destination| match tw_reuse {
        Some(1) => true,
        Some(2) => local.is_loopback() || remote.is_loopback(),
        _ => false,
    };
    let in_use = |k: &Destination, p: &PortUse| {
        if reuses(k) {
            p.held - p.time_wait_reusable
        } else {
            p.held
        }
    };
    let mut hot: Vec<(&Destination, PortUse, u64, Severity)> = s
        .obs
        .destinations
        .iter()
        .filter_map(|(k, p)| {
            let n = in_use(k, p);
            by_ratio(n, usable, &t.ephemeral_ports).map(|sev| (k, *p, n, sev))
        })
        .collect();
    if hot.is_empty() {
        return Outcome::Quiet;
    }
    hot.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    let sev = hot.iter().map(|h| h.3).max().unwrap_or(Severity::Warning);
    let (key, ports, n, _) = hot[0];
    let (local, remote, port) = key;
    let dst = std::net::SocketAddr::new(*remote, *port);
    let reuse_applies = reuses(key);
    let reuse_text = match (tw_reuse, reuse_applies) {
        (Some(v), true) => format!(
            "{} TIME_WAIT ports older than a second are not counted: with net.ipv4.tcp_tw_reuse = {v} connect() takes them over toward this destination",
            ports.time_wait_reusable
        ),
        (Some(0), _) => {
            "TIME_WAIT included: net.ipv4.tcp_tw_reuse = 0, so connect() cannot reuse them"
                .to_string()
        }
        (Some(v), false) => format!(
            "TIME_WAIT included: net.ipv4.tcp_tw_reuse = {v} reuses ports toward loopback only"
        ),
        (None, _) => {
            "TIME_WAIT included: tcp_tw_reuse is unknown, so no reuse was assumed".to_string()
        }
    };
    let mut summary = format!(
        "Connections from {local} to {dst} use {n} of the {usable} usable local ports ({}; ip_local_port_range {lo}-{hi}{}). {reuse_text}. When none is left, connect() fails with EADDRNOTAVAIL.",
        percent(n, usable),
        if reserved > 0 {
            format!(" minus {reserved} reserved")
        } else {
            String::new()
        }
    );
    if hot.len() > 1 {
        summary.push_str(&format!(
            " {} more destinations are above the threshold.",
            hot.len() - 1
        ));
    }
    Outcome::Fired(Finding::new(
        "ephemeral_port_pressure",
        sev,
        format!("Local ports toward {dst} running out"),
        summary,
        json!({
            "destination": dst.to_string(),
            "local_addr": local.to_string(),
            "ports_in_use": n,
            "ports_held": ports.held,
            "time_wait_reusable": ports.time_wait_reusable,
            "time_wait_reuse": reuse_text,
            "usable_ports": usable,
            "ip_local_port_range": [lo, hi],
            "reserved_in_range": reserved,
            "tcp_tw_reuse": tw_reuse,
            "thresholds": { "warn": t.ephemeral_ports.warn, "crit": t.ephemeral_ports.crit },
        }),
        strings(&[
            "A new connection for every request, with no pooling or keep-alive.",
            "This host closes first, so each used port sits in TIME_WAIT for 60 s.",
            "All traffic goes to a single upstream address and port (a proxy in front of it).",
        ]),
        vec![
            format!("sockscope top --by peer --by remote-port --dst {remote}"),
            format!("ss -tan state time-wait '( dst {} )' | wc -l", match remote {
                std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
                v4 => format!("{v4}:{port}"),
            }),
            "Reuse connections (a pool, HTTP keep-alive); then add addresses or ports on either side.".into(),
            "sysctl net.ipv4.ip_local_port_range net.ipv4.tcp_tw_reuse   # tcp_tw_reuse=1 lets outgoing connections reuse TIME_WAIT ports".into(),
        ],
        hot.iter()
            .take(TOP_CULPRITS)
            .map(|((l, r, p), _, n, _)| Culprit::Destination {
                local_addr: Some(l.to_string()),
                addr: r.to_string(),
                port: *p,
                count: *n,
            })
            .collect(),
        Vec::new(),
    ))
}

pub fn time_wait_buckets(s: &Input, t: &Thresholds) -> Outcome {
    let Some(limit) = s.ctx.sysctl.tcp_max_tw_buckets else {
        return Outcome::Skipped(missing(s.ctx, "tcp_max_tw_buckets", true));
    };
    // sockstat's tw is the kernel's own count; the table read is the fallback.
    let tw = s.ctx.sockstat.map_or(s.obs.time_wait_minis, |st| st.tw);
    let Some(sev) = by_ratio(tw, limit, &t.time_wait_buckets) else {
        return Outcome::Quiet;
    };
    let overflow = s.ctx.counter("TcpExt.TCPTimeWaitOverflow");
    Outcome::Fired(Finding::new(
        "time_wait_buckets",
        sev,
        format!("TIME_WAIT sockets at {} of the kernel limit", percent(tw, limit)),
        format!(
            "{tw} TIME_WAIT sockets against net.ipv4.tcp_max_tw_buckets = {limit}. At the limit the kernel closes connections without TIME_WAIT and counts TCPTimeWaitOverflow ({} so far, a counter of this network namespace).",
            overflow.map_or("unknown".to_string(), |v| v.to_string())
        ),
        json!({
            "time_wait": tw,
            "tcp_max_tw_buckets": limit,
            "counters_since_boot": { "TCPTimeWaitOverflow": overflow },
            "thresholds": { "warn": t.time_wait_buckets.warn, "crit": t.time_wait_buckets.crit },
        }),
        strings(&[
            "A churn storm: many short connections closed by this host.",
            "A lowered tcp_max_tw_buckets.",
        ]),
        vec![
            "sockscope top --by peer --by remote-port --state time-wait".into(),
            "nstat -az TcpExtTCPTimeWaitOverflow".into(),
            "sysctl net.ipv4.tcp_max_tw_buckets   # raise it rather than lower it; reuse connections".into(),
        ],
        Vec::new(),
        Vec::new(),
    ))
}

pub fn orphans(s: &Input, t: &Thresholds) -> Outcome {
    let Some(stat) = s.ctx.sockstat else {
        return Outcome::Skipped(missing(s.ctx, "sockstat", false));
    };
    let Some(limit) = s.ctx.sysctl.tcp_max_orphans else {
        return Outcome::Skipped(missing(s.ctx, "tcp_max_orphans", false));
    };
    let Some(sev) = by_ratio(stat.orphan, limit, &t.orphans) else {
        return Outcome::Quiet;
    };
    Outcome::Fired(Finding::new(
        "orphans_near_limit",
        sev,
        format!(
            "Orphaned sockets at {} of the kernel limit",
            percent(stat.orphan, limit)
        ),
        format!(
            "{} orphaned sockets (closed by their application, still finishing) host-wide against net.ipv4.tcp_max_orphans = {limit}. From a quarter of the limit the kernel may reset orphans (\"too many orphaned sockets\"), and each can hold up to 64 KB of memory.",
            stat.orphan
        ),
        json!({
            "orphans": stat.orphan,
            "tcp_max_orphans": limit,
            "counters_since_boot": { "TCPAbortOnMemory": s.ctx.counter("TcpExt.TCPAbortOnMemory") },
            "thresholds": { "warn": t.orphans.warn, "crit": t.orphans.crit },
        }),
        strings(&[
            "Many connections closed toward peers that do not acknowledge (see FIN_WAIT1 and LAST_ACK).",
            "A lowered tcp_max_orphans.",
        ]),
        vec![
            "sockscope top --by peer --state fin-wait-1 --state last-ack --state closing".into(),
            "nstat -az TcpExtTCPAbortOnMemory".into(),
            "sysctl net.ipv4.tcp_max_orphans   # raise it rather than lower it".into(),
        ],
        Vec::new(),
        Vec::new(),
    ))
}

pub fn tcp_memory(s: &Input, t: &Thresholds) -> Outcome {
    let Some(stat) = s.ctx.sockstat else {
        return Outcome::Skipped(missing(s.ctx, "sockstat", false));
    };
    let Some([_, pressure, max]) = s.ctx.sysctl.tcp_mem else {
        return Outcome::Skipped(missing(s.ctx, "tcp_mem", false));
    };
    let mem = stat.mem;
    let warn = mem as f64 >= t.tcp_memory.warn * pressure as f64;
    let crit = mem as f64 >= t.tcp_memory.crit * max as f64;
    let Some(sev) = Severity::from_levels(warn, crit) else {
        return Outcome::Quiet;
    };
    Outcome::Fired(Finding::new(
        "tcp_memory_pressure",
        sev,
        "TCP memory under pressure".into(),
        format!(
            "TCP uses {mem} pages host-wide; net.ipv4.tcp_mem puts pressure at {pressure} and the maximum at {max} ({} of it). Under pressure the kernel shrinks socket buffers; at the maximum it drops data.",
            percent(mem, max)
        ),
        json!({
            "mem_pages": mem,
            "tcp_mem": [s.ctx.sysctl.tcp_mem.map(|m| m[0]), pressure, max],
            "counters_since_boot": {
                "TCPMemoryPressures": s.ctx.counter("TcpExt.TCPMemoryPressures"),
                "TCPAbortOnMemory": s.ctx.counter("TcpExt.TCPAbortOnMemory"),
            },
            "thresholds": { "warn_share_of_pressure": t.tcp_memory.warn, "crit_share_of_max": t.tcp_memory.crit },
        }),
        strings(&[
            "Large unread receive queues (see rx_backlog): applications not reading.",
            "Large send queues toward slow peers (see tx_backlog).",
            "A tcp_mem too small for the workload, or a socket leak.",
        ]),
        vec![
            "sockscope list --sort rx -p | head; sockscope list --sort tx -p | head".into(),
            "nstat -az TcpExtTCPMemoryPressures TcpExtPruneCalled TcpExtTCPRcvQDrop".into(),
        ],
        Vec::new(),
        Vec::new(),
    ))
}

pub fn conntrack(s: &Input, t: &Thresholds) -> Outcome {
    // No conntrack files: the module is not loaded, nothing to check.
    let Some((count, max)) = s.ctx.conntrack else {
        return Outcome::Quiet;
    };
    let Some(sev) = by_ratio(count, max, &t.conntrack) else {
        return Outcome::Quiet;
    };
    Outcome::Fired(Finding::new(
        "conntrack_near_limit",
        sev,
        format!("Connection tracking table at {}", percent(count, max)),
        format!(
            "{count} tracked connections against nf_conntrack_max = {max}. A full table drops new packets (\"nf_conntrack: table full, dropping packet\")."
        ),
        json!({ "count": count, "max": max, "thresholds": { "warn": t.conntrack.warn, "crit": t.conntrack.crit } }),
        strings(&[
            "Connection churn with long conntrack timeouts (TIME_WAIT is tracked 120 s, established 5 days).",
            "UDP or DNS traffic storms.",
            "A denial-of-service attack.",
        ]),
        vec![
            "conntrack -S   # drop, early_drop and insert_failed per CPU".into(),
            "sysctl net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_time_wait".into(),
        ],
        Vec::new(),
        Vec::new(),
    ))
}

pub fn risky_settings(s: &Input, _t: &Thresholds) -> Outcome {
    let sys = &s.ctx.sysctl;
    let mut notes: Vec<String> = Vec::new();
    if sys.tcp_syncookies == Some(0) {
        notes.push("net.ipv4.tcp_syncookies = 0: a SYN flood or burst fills the SYN queue and new clients are dropped.".into());
    }
    if let Some(m) = sys.somaxconn.filter(|&m| m < 1024) {
        notes.push(format!("net.core.somaxconn = {m}: every listen backlog is capped this low (4096 is the default since Linux 5.4)."));
    }
    // A low limit is only worth a note when it is being used: the kernel sizes both from the
    // connection hash, so small values are normal on small machines and fresh namespaces.
    let tw = s.ctx.sockstat.map_or(s.obs.time_wait_minis, |st| st.tw);
    if let Some(v) = sys.tcp_max_tw_buckets.filter(|&v| v < 32768 && tw * 4 >= v) {
        notes.push(format!("net.ipv4.tcp_max_tw_buckets = {v} with {tw} TIME_WAIT sockets: connections past the limit close without TIME_WAIT."));
    }
    let orphans = s.ctx.sockstat.map(|st| st.orphan);
    if let (Some(v), Some(o)) = (sys.tcp_max_orphans.filter(|&v| v < 32768), orphans)
        && o * 4 >= v
    {
        notes.push(format!("net.ipv4.tcp_max_orphans = {v} with {o} orphans: past a quarter of it the kernel may reset orphans."));
    }
    if let Some(v) = sys.tcp_tw_reuse.filter(|&v| v != 2) {
        notes.push(format!(
            "net.ipv4.tcp_tw_reuse = {v} (default 2, loopback only)."
        ));
    }
    if notes.is_empty() {
        return Outcome::Quiet;
    }
    Outcome::Fired(Finding::new(
        "risky_settings",
        Severity::Info,
        "Settings worth knowing".into(),
        notes.join(" "),
        json!({
            "tcp_syncookies": sys.tcp_syncookies,
            "somaxconn": sys.somaxconn,
            "tcp_max_tw_buckets": sys.tcp_max_tw_buckets,
            "tcp_max_orphans": sys.tcp_max_orphans,
            "tcp_tw_reuse": sys.tcp_tw_reuse,
        }),
        // These settings are not a fault by themselves (the summary says how each changes the
        // failures above), so there is no cause to rank.
        Vec::new(),
        // Only the keys that exist here: tcp_max_orphans is absent outside the host's
        // namespace, and sysctl fails on the whole line for one missing key.
        vec![format!(
            "sysctl {}",
            [
                ("net.ipv4.tcp_syncookies", sys.tcp_syncookies.is_some()),
                ("net.core.somaxconn", sys.somaxconn.is_some()),
                (
                    "net.ipv4.tcp_max_tw_buckets",
                    sys.tcp_max_tw_buckets.is_some()
                ),
                ("net.ipv4.tcp_max_orphans", sys.tcp_max_orphans.is_some()),
                ("net.ipv4.tcp_tw_reuse", sys.tcp_tw_reuse.is_some()),
            ]
            .iter()
            .filter(|(_, known)| *known)
            .map(|(key, _)| *key)
            .collect::<Vec<_>>()
            .join(" ")
        )],
        Vec::new(),
        Vec::new(),
    ))
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
