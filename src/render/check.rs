//! `check`'s text output for cron (silent when OK) and the Nagios plugin line with perfdata.

use std::io::{self, Write};

use crate::check::{CheckView, Status, label};
use crate::model::TcpState;
use crate::report::Culprit;

/// Nothing when OK, so cron sends no mail; otherwise the status line and every finding.
pub fn text(view: &CheckView, out: &mut dyn Write) -> io::Result<()> {
    if view.status == Status::Ok {
        return Ok(());
    }
    writeln!(out, "SOCKSCOPE {}: {}", view.status.word(), short(view))?;
    let style = super::Style::default();
    for f in view
        .report
        .findings
        .iter()
        .filter(|f| f.severity > crate::report::Severity::Info)
    {
        super::findings::block(f, style, out)?;
    }
    Ok(())
}

/// The most severe finding's title and first culprit, then how many more: the part of the
/// Nagios line a pager shows.
fn short(view: &CheckView) -> String {
    let alerts: Vec<_> = view
        .report
        .findings
        .iter()
        .filter(|f| f.severity > crate::report::Severity::Info)
        .collect();
    let Some(first) = alerts.first() else {
        let n = view.report.tally.total();
        return format!(
            "{n} TCP socket{}, no problems found",
            if n == 1 { "" } else { "s" }
        );
    };
    let mut text = first.title.clone();
    if let Some(c) = first.culprits.first() {
        let who = match c {
            Culprit::Process { pid, comm, .. } => {
                format!("{}[{pid}]", super::escape::for_terminal(comm))
            }
            Culprit::LocalPort { port, .. } => format!("port {port}"),
            Culprit::Peer { addr, .. } => addr.clone(),
            Culprit::Destination { addr, port, .. } => format!("{addr}:{port}"),
        };
        text.push_str(&format!(" ({who})"));
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
pub fn nagios(view: &CheckView, out: &mut dyn Write) -> io::Result<()> {
    let mut perf = Vec::new();
    for state in TcpState::LIFECYCLE {
        let name = state.name().to_lowercase();
        let range = |specs: &[crate::cli::StateRange]| {
            specs
                .iter()
                .find(|r| label(r) == name)
                .map(|r| r.range.to_string())
                .unwrap_or_default()
        };
        perf.push(format!(
            "{}={};{};{};0;",
            perf_label(&name),
            view.report.tally.state_total(state),
            range(view.warn),
            range(view.crit)
        ));
    }
    for (counter, name) in PERF_COUNTERS {
        if let Some(v) = view.context.counter(counter) {
            perf.push(format!("{name}={v}c;;;0;"));
        }
    }
    writeln!(
        out,
        "SOCKSCOPE {} - {} | {}",
        view.status.word(),
        short(view),
        perf.join(" ")
    )?;
    for f in &view.report.findings {
        writeln!(out, "{} {}: {}", f.severity_word(), f.id, f.summary)?;
    }
    for note in view.notes {
        writeln!(out, "NOTE: {note}")?;
    }
    Ok(())
}

/// The one line printed when a problem clears (text output with a state file).
pub fn recovered(previous: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "SOCKSCOPE OK: recovered (was {previous}); no problems found"
    )
}
