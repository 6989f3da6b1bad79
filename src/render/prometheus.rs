//! The check report as Prometheus metrics: every state of every family always present (missing
//! series break alert rules), a gauge per rule and severity, the top culprits, selected kernel
//! counters, and when and how long the run took. HELP texts never change between runs. `check`
//! writes these in the text format; `serve` in either format, followed by its own families
//! (`render::scrape`).

use std::io;
use std::time::UNIX_EPOCH;

use super::exposition::{Exposition, Kind};
use crate::model::{Family, TcpState};
use crate::report::{CheckReport, Culprit, Evidence, Severity, Status};

/// Culprits per finding exported as series: enough to name the cause, few enough to keep
/// label cardinality bounded.
const CULPRITS_PER_FINDING: usize = 3;

/// Counters worth graphing next to the states (Nagios perfdata, with their UOM `c`, and
/// Prometheus), each with its perfdata label; all cumulative.
pub const PERF_COUNTERS: &[(&str, &str)] = &[
    ("TcpExt.ListenOverflows", "listen_overflows"),
    ("TcpExt.ListenDrops", "listen_drops"),
    ("TcpExt.TCPTimeWaitOverflow", "tw_overflow"),
    ("TcpExt.SyncookiesSent", "syncookies_sent"),
    ("TcpExt.TCPReqQFullDrop", "reqq_full_drop"),
    ("TcpExt.TCPAbortOnMemory", "abort_on_memory"),
    ("Tcp.EstabResets", "estab_resets"),
    ("Tcp.RetransSegs", "retrans_segs"),
];

/// The check report's families, in either format.
pub fn families(check: &CheckReport, e: &mut Exposition) -> io::Result<()> {
    let report = &check.summary;
    e.family(
        "sockscope_sockets",
        Kind::Gauge,
        "TCP sockets by state and address family; state codes this version does not know count as state=\"unknown\".",
    )?;
    for family in Family::ALL {
        let counts = report.tally.family(family);
        for state in TcpState::KNOWN {
            e.sample(
                "sockscope_sockets",
                &[
                    ("state", &state.name().to_lowercase()),
                    ("family", family.key()),
                ],
                counts.get(state),
            )?;
        }
        e.sample(
            "sockscope_sockets",
            &[("state", "unknown"), ("family", family.key())],
            counts.unknown_total(),
        )?;
    }

    e.family(
        "sockscope_finding",
        Kind::Gauge,
        "1 when the rule found a problem of that severity in the last run, else 0.",
    )?;
    for &id in &check.finding_ids {
        for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
            let on = report
                .findings
                .iter()
                .any(|f| f.id == id && f.severity == severity);
            e.sample(
                "sockscope_finding",
                &[("id", id), ("severity", &severity.word().to_lowercase())],
                u8::from(on),
            )?;
        }
    }

    status(check.status, e)?;
    if let Some(sweep) = &report.sweep {
        super::prometheus_netns::render(sweep, e)?;
    }

    e.family(
        "sockscope_culprit_sockets",
        Kind::Gauge,
        "Sockets held by the top culprits of each finding: processes by name, local ports; summed over the namespaces of a sweep. Never pids or peer addresses, so restarts and new clients make no new series.",
    )?;
    // One series per label set: a sweep's namespaces, and holders of one name, add up.
    let mut culprits: std::collections::BTreeMap<(&str, &str, String), u64> = Default::default();
    for f in &report.findings {
        for c in f.culprits.iter().take(CULPRITS_PER_FINDING) {
            let (kind, name, count) = match c {
                Culprit::Process { comm, count, .. } => ("process", comm.clone(), count),
                Culprit::LocalPort { port, count } => ("local_port", port.to_string(), count),
                // Peer addresses are never labels: one series per client would be unbounded.
                Culprit::Peer { .. } | Culprit::Destination { .. } => continue,
            };
            *culprits.entry((f.id, kind, name)).or_default() += count;
        }
    }
    for ((id, kind, name), count) in culprits {
        e.sample(
            "sockscope_culprit_sockets",
            &[("id", id), ("kind", kind), ("culprit", &name)],
            count,
        )?;
    }

    e.family(
        "sockscope_oldest_socket_age_seconds",
        Kind::Gauge,
        "For the states behind a finding: how long the oldest socket has been in it, from tcp_info (CLOSE_WAIT: since the peer closed; FIN_WAIT and LAST_ACK: since the peer was last heard).",
    )?;
    let mut oldest: std::collections::BTreeMap<&'static str, f64> = Default::default();
    for f in &report.findings {
        for ev in &f.evidence {
            if let Evidence::Ages(a) = ev {
                let age = oldest.entry(a.state.name()).or_default();
                *age = age.max(a.oldest_s);
            }
        }
    }
    for (state, age) in oldest {
        e.sample(
            "sockscope_oldest_socket_age_seconds",
            &[("state", &state.to_lowercase())],
            format_args!("{age:.3}"),
        )?;
    }

    e.family(
        "sockscope_tcp_events_total",
        Kind::Counter,
        "Cumulative TCP counters from /proc/net/netstat and /proc/net/snmp.",
    )?;
    for (counter, _) in PERF_COUNTERS {
        if let Some(v) = check.context.counter(counter) {
            e.sample(
                "sockscope_tcp_events_total",
                &[("name", &counter.replace('.', "_"))],
                v,
            )?;
        }
    }

    e.family(
        "sockscope_last_run_timestamp_seconds",
        Kind::Gauge,
        "When sockscope last collected, in seconds since the Unix epoch.",
    )?;
    let at = report
        .collected_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    e.sample(
        "sockscope_last_run_timestamp_seconds",
        &[],
        format_args!("{at:.3}"),
    )?;
    e.family(
        "sockscope_collection_duration_seconds",
        Kind::Gauge,
        "How long reading the socket tables took.",
    )?;
    e.sample(
        "sockscope_collection_duration_seconds",
        &[],
        format_args!("{:.6}", report.collection.duration.as_secs_f64()),
    )
}

/// `sockscope_up`: 1 when the run measured; 0 when it could not (`check`'s UNKNOWN, a failed
/// collection of `serve`), next to a comment saying why.
pub fn up(up: bool, e: &mut Exposition) -> io::Result<()> {
    e.family(
        "sockscope_up",
        Kind::Gauge,
        "1 when the last collection succeeded.",
    )?;
    e.sample("sockscope_up", &[], u8::from(up))
}

/// `sockscope_status`.
pub fn status(status: Status, e: &mut Exposition) -> io::Result<()> {
    e.family(
        "sockscope_status",
        Kind::Gauge,
        "Overall status of the last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )?;
    e.sample("sockscope_status", &[], status.code())
}
