//! `check`'s text output for cron (silent when OK) and the Nagios plugin line with perfdata.

use std::io::{self, Write};

use super::culprit;
use super::escape::for_terminal;
use crate::model::TcpState;
use crate::report::{CheckReport, Severity, StateRange, Status};

/// Nothing when OK, so cron sends no mail; otherwise the status line and every finding.
pub fn text(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    if report.status == Status::Ok {
        return Ok(());
    }
    writeln!(out, "SOCKSCOPE {}: {}", report.status.word(), short(report))?;
    let style = super::Style::default();
    for f in report
        .summary
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
    {
        super::findings::block(&report.summary, f, style, out)?;
    }
    Ok(())
}

/// The most severe finding's title and first culprit, then how many more: the part of the
/// Nagios line a pager shows.
fn short(report: &CheckReport) -> String {
    let alerts: Vec<_> = report
        .summary
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .collect();
    let Some(first) = alerts.first() else {
        let n = report.summary.tally.total();
        return format!(
            "{n} TCP socket{}, no problems found",
            if n == 1 { "" } else { "s" }
        );
    };
    let mut text = super::finding_view::title(first);
    if let Some(place) = super::namespaces::where_found(&report.summary, first) {
        text.push_str(&format!(" in {place}"));
    }
    if let Some(c) = first.culprits.first() {
        text.push_str(&format!(" ({})", culprit::name(c)));
    }
    if alerts.len() > 1 {
        text.push_str(&format!(", and {} more", alerts.len() - 1));
    }
    text
}

/// Perfdata label: letters, digits and underscores only, so it never needs quoting.
fn perf_label(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Counters worth graphing next to the states; cumulative, so UOM `c`.
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

/// `SOCKSCOPE WARNING - summary | perfdata`, then one line per finding.
pub fn nagios(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let mut perf = Vec::new();
    for state in TcpState::LIFECYCLE {
        let name = state.name().to_lowercase();
        let range = |specs: &[StateRange]| {
            specs
                .iter()
                .find(|r| r.label() == name)
                .map(|r| r.range.to_string())
                .unwrap_or_default()
        };
        perf.push(format!(
            "{}={};{};{};0;",
            perf_label(&name),
            report.summary.tally.state_total(state),
            range(&report.warn),
            range(&report.crit)
        ));
    }
    for (counter, name) in PERF_COUNTERS {
        if let Some(v) = report.context.counter(counter) {
            perf.push(format!("{name}={v}c;;;0;"));
        }
    }
    writeln!(
        out,
        "SOCKSCOPE {} - {} | {}",
        report.status.word(),
        short(report),
        perf.join(" ")
    )?;
    for f in &report.summary.findings {
        let summary = super::finding_view::summary(f);
        let summary = for_terminal(&summary);
        match super::namespaces::where_found(&report.summary, f) {
            Some(place) => writeln!(
                out,
                "{} {} in {}: {summary}",
                f.severity.word(),
                f.id,
                for_terminal(&place)
            )?,
            None => writeln!(out, "{} {}: {summary}", f.severity.word(), f.id)?,
        }
    }
    for note in &report.notes {
        writeln!(out, "NOTE: {}", for_terminal(note))?;
    }
    Ok(())
}

/// The one line printed when a problem clears (text output with a state file).
pub fn recovered(previous: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "SOCKSCOPE OK: recovered (was {}); no problems found",
        for_terminal(previous)
    )
}

/// A failure to measure: the one line a monitoring system reads.
pub fn unknown(message: &str, out: &mut dyn Write) -> io::Result<()> {
    // A message may quote a path or a file's content: each line escaped, the first the status.
    let mut lines = message.lines();
    let first = lines.next().unwrap_or("unknown error");
    writeln!(out, "SOCKSCOPE UNKNOWN - {}", for_terminal(first))?;
    for line in lines {
        writeln!(out, "{}", for_terminal(line))?;
    }
    Ok(())
}
