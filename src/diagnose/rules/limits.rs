//! Rules that compare usage with a kernel limit: ephemeral ports per destination (A2),
//! TIME_WAIT buckets (A3), orphans (A11), TCP memory (A12), conntrack (A15), and the settings
//! worth knowing about (A18).

use std::net::IpAddr;

use serde::Serialize;

use super::{missing, strings};
use crate::diagnose::observe::PortUse;
use crate::diagnose::thresholds::{Ratio, Thresholds};
use crate::diagnose::{Input, Outcome, TOP_CULPRITS, percent};
use crate::report::{Culprit, Facts, Finding, Severity};

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
    let facts = EphemeralFacts {
        destination: dst,
        local_addr: *local,
        ports_in_use: n,
        ports_held: ports.held,
        time_wait_reusable: ports.time_wait_reusable,
        time_wait_reuse: match (tw_reuse, reuses(key)) {
            (Some(setting), true) => Reuse::TakenOver {
                setting,
                ports: ports.time_wait_reusable,
            },
            (Some(0), _) => Reuse::Off,
            (Some(setting), false) => Reuse::LoopbackOnly { setting },
            (None, _) => Reuse::Unknown,
        },
        usable_ports: usable,
        ip_local_port_range: [lo, hi],
        reserved_in_range: reserved,
        tcp_tw_reuse: tw_reuse,
        thresholds: t.ephemeral_ports,
        more_destinations: hot.len() - 1,
    };
    Outcome::Fired(
        Finding::new("ephemeral_port_pressure", sev, facts)
            .with_next_steps(vec![
                format!("sockscope top --by peer --by remote-port --dst {remote}"),
                format!("ss -tan state time-wait '( dst {} )' | wc -l", match remote {
                    std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
                    v4 => format!("{v4}:{port}"),
                }),
                "Reuse connections (a pool, HTTP keep-alive); then add addresses or ports on either side.".into(),
                "sysctl net.ipv4.ip_local_port_range net.ipv4.tcp_tw_reuse   # tcp_tw_reuse=1 lets outgoing connections reuse TIME_WAIT ports".into(),
            ])
            .with_culprits(
                hot.iter()
                    .take(TOP_CULPRITS)
                    .map(|((l, r, p), _, n, _)| Culprit::Destination {
                        local_addr: Some(l.to_string()),
                        addr: r.to_string(),
                        port: *p,
                        count: *n,
                    })
                    .collect(),
            ),
    )
}

/// Local ports used toward the destination that has used the most.
#[derive(Debug, Serialize)]
pub struct EphemeralFacts {
    pub destination: std::net::SocketAddr,
    pub local_addr: IpAddr,
    /// Ports that connect() cannot take: held, less the TIME_WAIT ones it may reuse.
    pub ports_in_use: u64,
    pub ports_held: u64,
    pub time_wait_reusable: u64,
    pub time_wait_reuse: Reuse,
    pub usable_ports: u64,
    pub ip_local_port_range: [u16; 2],
    pub reserved_in_range: u64,
    pub tcp_tw_reuse: Option<u64>,
    pub thresholds: Ratio,
    /// Other destinations past the threshold.
    #[serde(skip)]
    pub more_destinations: usize,
}

/// How TIME_WAIT ports were counted, given net.ipv4.tcp_tw_reuse; written as a sentence in the
/// evidence too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// connect() takes these ports over toward this destination: not counted.
    TakenOver { setting: u64, ports: u64 },
    /// tcp_tw_reuse = 0.
    Off,
    /// Reuse toward loopback only, and this destination is not.
    LoopbackOnly { setting: u64 },
    /// tcp_tw_reuse could not be read: no reuse assumed.
    Unknown,
}

impl Reuse {
    fn text(self) -> String {
        match self {
            Reuse::TakenOver { setting, ports } => format!(
                "{ports} TIME_WAIT ports older than a second are not counted: with net.ipv4.tcp_tw_reuse = {setting} connect() takes them over toward this destination"
            ),
            Reuse::Off => {
                "TIME_WAIT included: net.ipv4.tcp_tw_reuse = 0, so connect() cannot reuse them"
                    .to_string()
            }
            Reuse::LoopbackOnly { setting } => format!(
                "TIME_WAIT included: net.ipv4.tcp_tw_reuse = {setting} reuses ports toward loopback only"
            ),
            Reuse::Unknown => {
                "TIME_WAIT included: tcp_tw_reuse is unknown, so no reuse was assumed".to_string()
            }
        }
    }
}

impl Serialize for Reuse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl Facts for EphemeralFacts {
    fn title(&self) -> String {
        format!("Local ports toward {} running out", self.destination)
    }

    fn summary(&self) -> String {
        let [lo, hi] = self.ip_local_port_range;
        let mut summary = format!(
            "Connections from {} to {} use {} of the {} usable local ports ({}; ip_local_port_range {lo}-{hi}{}). {}. When none is left, connect() fails with EADDRNOTAVAIL.",
            self.local_addr,
            self.destination,
            self.ports_in_use,
            self.usable_ports,
            percent(self.ports_in_use, self.usable_ports),
            if self.reserved_in_range > 0 {
                format!(" minus {} reserved", self.reserved_in_range)
            } else {
                String::new()
            },
            self.time_wait_reuse.text(),
        );
        if self.more_destinations > 0 {
            summary.push_str(&format!(
                " {} more destinations are above the threshold.",
                self.more_destinations
            ));
        }
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "A new connection for every request, with no pooling or keep-alive.",
            "This host closes first, so each used port sits in TIME_WAIT for 60 s.",
            "All traffic goes to a single upstream address and port (a proxy in front of it).",
        ])
    }
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
    let facts = TimeWaitFacts {
        time_wait: tw,
        tcp_max_tw_buckets: limit,
        counters_since_boot: TimeWaitCounters {
            overflow: s.ctx.counter("TcpExt.TCPTimeWaitOverflow"),
        },
        thresholds: t.time_wait_buckets,
    };
    Outcome::Fired(
        Finding::new("time_wait_buckets", sev, facts).with_next_steps(vec![
            "sockscope top --by peer --by remote-port --state time-wait".into(),
            "nstat -az TcpExtTCPTimeWaitOverflow".into(),
            "sysctl net.ipv4.tcp_max_tw_buckets   # raise it rather than lower it; reuse connections".into(),
        ]),
    )
}

/// TIME_WAIT sockets against the kernel's limit.
#[derive(Debug, Serialize)]
pub struct TimeWaitFacts {
    pub time_wait: u64,
    pub tcp_max_tw_buckets: u64,
    pub counters_since_boot: TimeWaitCounters,
    pub thresholds: Ratio,
}

#[derive(Debug, Serialize)]
pub struct TimeWaitCounters {
    /// Connections closed without TIME_WAIT, in this network namespace.
    #[serde(rename = "TCPTimeWaitOverflow")]
    pub overflow: Option<i64>,
}

impl Facts for TimeWaitFacts {
    fn title(&self) -> String {
        format!(
            "TIME_WAIT sockets at {} of the kernel limit",
            percent(self.time_wait, self.tcp_max_tw_buckets)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} TIME_WAIT sockets against net.ipv4.tcp_max_tw_buckets = {}. At the limit the kernel closes connections without TIME_WAIT and counts TCPTimeWaitOverflow ({} so far, a counter of this network namespace).",
            self.time_wait,
            self.tcp_max_tw_buckets,
            self.counters_since_boot
                .overflow
                .map_or("unknown".to_string(), |v| v.to_string())
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "A churn storm: many short connections closed by this host.",
            "A lowered tcp_max_tw_buckets.",
        ])
    }
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
    let facts = OrphansFacts {
        orphans: stat.orphan,
        tcp_max_orphans: limit,
        counters_since_boot: AbortCounters {
            abort_on_memory: s.ctx.counter("TcpExt.TCPAbortOnMemory"),
        },
        thresholds: t.orphans,
    };
    Outcome::Fired(
        Finding::new("orphans_near_limit", sev, facts).with_next_steps(vec![
            "sockscope top --by peer --state fin-wait-1 --state last-ack --state closing".into(),
            "nstat -az TcpExtTCPAbortOnMemory".into(),
            "sysctl net.ipv4.tcp_max_orphans   # raise it rather than lower it".into(),
        ]),
    )
}

/// Orphaned sockets, host-wide, against the kernel's limit.
#[derive(Debug, Serialize)]
pub struct OrphansFacts {
    pub orphans: u64,
    pub tcp_max_orphans: u64,
    pub counters_since_boot: AbortCounters,
    pub thresholds: Ratio,
}

#[derive(Debug, Serialize)]
pub struct AbortCounters {
    #[serde(rename = "TCPAbortOnMemory")]
    pub abort_on_memory: Option<i64>,
}

impl Facts for OrphansFacts {
    fn title(&self) -> String {
        format!(
            "Orphaned sockets at {} of the kernel limit",
            percent(self.orphans, self.tcp_max_orphans)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} orphaned sockets (closed by their application, still finishing) host-wide against net.ipv4.tcp_max_orphans = {}. From a quarter of the limit the kernel may reset orphans (\"too many orphaned sockets\"), and each can hold up to 64 KB of memory.",
            self.orphans, self.tcp_max_orphans
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "Many connections closed toward peers that do not acknowledge (see FIN_WAIT1 and LAST_ACK).",
            "A lowered tcp_max_orphans.",
        ])
    }
}

pub fn tcp_memory(s: &Input, t: &Thresholds) -> Outcome {
    let Some(stat) = s.ctx.sockstat else {
        return Outcome::Skipped(missing(s.ctx, "sockstat", false));
    };
    let Some([min, pressure, max]) = s.ctx.sysctl.tcp_mem else {
        return Outcome::Skipped(missing(s.ctx, "tcp_mem", false));
    };
    let mem = stat.mem;
    let warn = mem as f64 >= t.tcp_memory.warn * pressure as f64;
    let crit = mem as f64 >= t.tcp_memory.crit * max as f64;
    let Some(sev) = Severity::from_levels(warn, crit) else {
        return Outcome::Quiet;
    };
    let facts = TcpMemoryFacts {
        mem_pages: mem,
        tcp_mem: [min, pressure, max],
        counters_since_boot: MemoryCounters {
            pressures: s.ctx.counter("TcpExt.TCPMemoryPressures"),
            abort_on_memory: s.ctx.counter("TcpExt.TCPAbortOnMemory"),
        },
        thresholds: MemoryThresholds {
            warn_share_of_pressure: t.tcp_memory.warn,
            crit_share_of_max: t.tcp_memory.crit,
        },
    };
    Outcome::Fired(
        Finding::new("tcp_memory_pressure", sev, facts).with_next_steps(vec![
            "sockscope list --sort rx -p | head; sockscope list --sort tx -p | head".into(),
            "nstat -az TcpExtTCPMemoryPressures TcpExtPruneCalled TcpExtTCPRcvQDrop".into(),
        ]),
    )
}

/// TCP memory, host-wide, against net.ipv4.tcp_mem.
#[derive(Debug, Serialize)]
pub struct TcpMemoryFacts {
    pub mem_pages: u64,
    /// Pages: [min, pressure, max].
    pub tcp_mem: [u64; 3],
    pub counters_since_boot: MemoryCounters,
    pub thresholds: MemoryThresholds,
}

#[derive(Debug, Serialize)]
pub struct MemoryCounters {
    #[serde(rename = "TCPMemoryPressures")]
    pub pressures: Option<i64>,
    #[serde(rename = "TCPAbortOnMemory")]
    pub abort_on_memory: Option<i64>,
}

/// The rule's `warn` and `crit`, named by what they are shares of.
#[derive(Debug, Serialize)]
pub struct MemoryThresholds {
    pub warn_share_of_pressure: f64,
    pub crit_share_of_max: f64,
}

impl Facts for TcpMemoryFacts {
    fn title(&self) -> String {
        "TCP memory under pressure".into()
    }

    fn summary(&self) -> String {
        let [_, pressure, max] = self.tcp_mem;
        format!(
            "TCP uses {} pages host-wide; net.ipv4.tcp_mem puts pressure at {pressure} and the maximum at {max} ({} of it). Under pressure the kernel shrinks socket buffers; at the maximum it drops data.",
            self.mem_pages,
            percent(self.mem_pages, max)
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "Large unread receive queues (see rx_backlog): applications not reading.",
            "Large send queues toward slow peers (see tx_backlog).",
            "A tcp_mem too small for the workload, or a socket leak.",
        ])
    }
}

pub fn conntrack(s: &Input, t: &Thresholds) -> Outcome {
    // No conntrack files: the module is not loaded, nothing to check.
    let Some((count, max)) = s.ctx.conntrack else {
        return Outcome::Quiet;
    };
    let Some(sev) = by_ratio(count, max, &t.conntrack) else {
        return Outcome::Quiet;
    };
    let facts = ConntrackFacts {
        count,
        max,
        thresholds: t.conntrack,
    };
    Outcome::Fired(
        Finding::new("conntrack_near_limit", sev, facts).with_next_steps(vec![
            "conntrack -S   # drop, early_drop and insert_failed per CPU".into(),
            "sysctl net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_time_wait".into(),
        ]),
    )
}

/// Connection-tracking entries against nf_conntrack_max.
#[derive(Debug, Serialize)]
pub struct ConntrackFacts {
    pub count: u64,
    pub max: u64,
    pub thresholds: Ratio,
}

impl Facts for ConntrackFacts {
    fn title(&self) -> String {
        format!(
            "Connection tracking table at {}",
            percent(self.count, self.max)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} tracked connections against nf_conntrack_max = {}. A full table drops new packets (\"nf_conntrack: table full, dropping packet\").",
            self.count, self.max
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "Connection churn with long conntrack timeouts (TIME_WAIT is tracked 120 s, established 5 days).",
            "UDP or DNS traffic storms.",
            "A denial-of-service attack.",
        ])
    }
}

pub fn risky_settings(s: &Input, _t: &Thresholds) -> Outcome {
    let sys = &s.ctx.sysctl;
    let mut notes: Vec<Risk> = Vec::new();
    if sys.tcp_syncookies == Some(0) {
        notes.push(Risk::NoSyncookies);
    }
    if let Some(m) = sys.somaxconn.filter(|&m| m < 1024) {
        notes.push(Risk::SmallSomaxconn(m));
    }
    // A low limit is only worth a note when it is being used: the kernel sizes both from the
    // connection hash, so small values are normal on small machines and fresh namespaces.
    let tw = s.ctx.sockstat.map_or(s.obs.time_wait_minis, |st| st.tw);
    if let Some(limit) = sys.tcp_max_tw_buckets.filter(|&v| v < 32768 && tw * 4 >= v) {
        notes.push(Risk::FewTimeWaitBuckets { limit, used: tw });
    }
    let orphans = s.ctx.sockstat.map(|st| st.orphan);
    if let (Some(limit), Some(used)) = (sys.tcp_max_orphans.filter(|&v| v < 32768), orphans)
        && used * 4 >= limit
    {
        notes.push(Risk::FewOrphans { limit, used });
    }
    if let Some(v) = sys.tcp_tw_reuse.filter(|&v| v != 2) {
        notes.push(Risk::TwReuse(v));
    }
    if notes.is_empty() {
        return Outcome::Quiet;
    }
    let facts = RiskyFacts {
        tcp_syncookies: sys.tcp_syncookies,
        somaxconn: sys.somaxconn,
        tcp_max_tw_buckets: sys.tcp_max_tw_buckets,
        tcp_max_orphans: sys.tcp_max_orphans,
        tcp_tw_reuse: sys.tcp_tw_reuse,
        risks: notes,
    };
    // Only the keys that exist here: tcp_max_orphans is absent outside the host's namespace,
    // and sysctl fails on the whole line for one missing key.
    let step = format!(
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
    );
    Outcome::Fired(
        Finding::new("risky_settings", Severity::Info, facts).with_next_steps(vec![step]),
    )
}

/// The settings as read, and which of them are worth knowing.
#[derive(Debug, Serialize)]
pub struct RiskyFacts {
    pub tcp_syncookies: Option<u64>,
    pub somaxconn: Option<u64>,
    pub tcp_max_tw_buckets: Option<u64>,
    pub tcp_max_orphans: Option<u64>,
    pub tcp_tw_reuse: Option<u64>,
    #[serde(skip)]
    pub risks: Vec<Risk>,
}

/// A setting that changes how the failures play out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    NoSyncookies,
    SmallSomaxconn(u64),
    /// A low tcp_max_tw_buckets, a quarter used.
    FewTimeWaitBuckets {
        limit: u64,
        used: u64,
    },
    /// A low tcp_max_orphans, a quarter used.
    FewOrphans {
        limit: u64,
        used: u64,
    },
    /// tcp_tw_reuse other than its default, 2.
    TwReuse(u64),
}

impl Risk {
    fn text(self) -> String {
        match self {
            Risk::NoSyncookies => "net.ipv4.tcp_syncookies = 0: a SYN flood or burst fills the SYN queue and new clients are dropped.".into(),
            Risk::SmallSomaxconn(m) => format!("net.core.somaxconn = {m}: every listen backlog is capped this low (4096 is the default since Linux 5.4)."),
            Risk::FewTimeWaitBuckets { limit, used } => format!("net.ipv4.tcp_max_tw_buckets = {limit} with {used} TIME_WAIT sockets: connections past the limit close without TIME_WAIT."),
            Risk::FewOrphans { limit, used } => format!("net.ipv4.tcp_max_orphans = {limit} with {used} orphans: past a quarter of it the kernel may reset orphans."),
            Risk::TwReuse(v) => format!("net.ipv4.tcp_tw_reuse = {v} (default 2, loopback only)."),
        }
    }
}

impl Facts for RiskyFacts {
    fn title(&self) -> String {
        "Settings worth knowing".into()
    }

    fn summary(&self) -> String {
        let texts: Vec<String> = self.risks.iter().map(|r| r.text()).collect();
        texts.join(" ")
    }

    // These settings are not a fault by themselves (the summary says how each changes the
    // failures above), so there is no cause to rank.
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
