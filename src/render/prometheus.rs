//! The Prometheus text exposition format: every state of every family always present (missing
//! series break alert rules), a gauge per rule and severity, the top culprits, selected kernel
//! counters, and when and how long the run took. HELP texts never change between runs.

use std::io::{self, Write};
use std::time::UNIX_EPOCH;

use crate::model::{Family, TcpState};
use crate::report::{CheckReport, Culprit, Severity, Status};

/// Culprits per finding exported as series: enough to name the cause, few enough to keep
/// label cardinality bounded.
const CULPRITS_PER_FINDING: usize = 3;

/// Label values escape backslash, double quote and newline.
fn esc(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut dyn Write, name: &str, kind: &str, help: &str) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

pub fn render(check: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let report = &check.summary;
    header(
        out,
        "sockscope_sockets",
        "gauge",
        "TCP sockets by state and address family.",
    )?;
    for family in Family::ALL {
        for state in TcpState::KNOWN {
            writeln!(
                out,
                "sockscope_sockets{{state=\"{}\",family=\"{}\"}} {}",
                state.name().to_lowercase(),
                family.key(),
                report.tally.get(family, state)
            )?;
        }
    }

    header(
        out,
        "sockscope_finding",
        "gauge",
        "1 when the rule found a problem of that severity in the last run, else 0.",
    )?;
    for &id in &check.finding_ids {
        for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
            let on = report
                .findings
                .iter()
                .any(|f| f.id == id && f.severity == severity);
            writeln!(
                out,
                "sockscope_finding{{id=\"{id}\",severity=\"{}\"}} {}",
                severity.word().to_lowercase(),
                u8::from(on)
            )?;
        }
    }

    status(check.status, out)?;
    if let Some(sweep) = &report.sweep {
        super::prometheus_netns::render(sweep, out)?;
    }

    header(
        out,
        "sockscope_culprit_sockets",
        "gauge",
        "Sockets held by the top culprits of each finding.",
    )?;
    for f in &report.findings {
        for c in f.culprits.iter().take(CULPRITS_PER_FINDING) {
            let (kind, name, count) = match c {
                Culprit::Process {
                    pid, comm, count, ..
                } => ("process", format!("{comm}[{pid}]"), count),
                Culprit::LocalPort { port, count } => ("local_port", port.to_string(), count),
                Culprit::Peer { addr, count } => ("peer", addr.clone(), count),
                Culprit::Destination {
                    addr, port, count, ..
                } => ("destination", format!("{addr}:{port}"), count),
            };
            writeln!(
                out,
                "sockscope_culprit_sockets{{id=\"{}\",kind=\"{kind}\",culprit=\"{}\"}} {count}",
                f.id,
                esc(&name)
            )?;
        }
    }

    header(
        out,
        "sockscope_kernel_counter_total",
        "counter",
        "Cumulative TCP counters from /proc/net/netstat and /proc/net/snmp.",
    )?;
    for (counter, _) in super::check::PERF_COUNTERS {
        if let Some(v) = check.context.counter(counter) {
            writeln!(
                out,
                "sockscope_kernel_counter_total{{name=\"{}\"}} {v}",
                counter.replace('.', "_")
            )?;
        }
    }

    header(
        out,
        "sockscope_last_run_timestamp_seconds",
        "gauge",
        "When sockscope last collected, in seconds since the Unix epoch.",
    )?;
    let at = report
        .collected_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    writeln!(out, "sockscope_last_run_timestamp_seconds {at:.3}")?;
    header(
        out,
        "sockscope_collection_duration_seconds",
        "gauge",
        "How long reading the socket tables took.",
    )?;
    writeln!(
        out,
        "sockscope_collection_duration_seconds {:.6}",
        report.collection.duration.as_secs_f64()
    )
}

fn status(status: Status, out: &mut dyn Write) -> io::Result<()> {
    header(
        out,
        "sockscope_status",
        "gauge",
        "Overall status of the last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    )?;
    writeln!(out, "sockscope_status {}", status.code())
}

/// A failed run: only the status, UNKNOWN.
pub fn render_unknown(out: &mut dyn Write) -> io::Result<()> {
    status(Status::Unknown, out)
}
