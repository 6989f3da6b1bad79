//! `check`: text for cron (silent when OK), the Nagios plugin line with perfdata, the summary's
//! JSON document with the status, and the Prometheus text format (also its `--textfile`).

use std::io::{self, Write};

use super::culprit;
use super::escape::for_terminal;
use super::exposition::Exposition;
use super::{Format, Style};
use crate::model::TcpState;
use crate::report::{CheckReport, Notice, Severity, StateRange, Status};

pub fn write(
    report: &CheckReport,
    format: Format,
    _style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text(report, out),
        Format::Nagios => nagios(report, out),
        Format::Json => {
            let notes = notes(report);
            super::document::document(&report.summary, Some(report.status), &notes).write(out)
        }
        Format::Prometheus => {
            super::prometheus::families(report, &mut Exposition::new(Format::Prometheus, out))
        }
        other => Err(super::unsupported(other, "check")),
    }
}

/// What the reader should know beyond the findings: the state file's and the ranges' notes,
/// rules that ran on a weaker input, malformed lines skipped.
fn notes(report: &CheckReport) -> Vec<String> {
    let summary = &report.summary;
    let mut notes = report.notes.clone();
    for (id, what) in &summary.checks.limited {
        notes.push(format!("{id}: {what}"));
    }
    match summary.collection.skipped_lines {
        0 => {}
        1 => notes
            .push("1 malformed line in the socket tables was skipped (see --format json)".into()),
        n => notes.push(format!(
            "{n} malformed lines in the socket tables were skipped (see --format json)"
        )),
    }
    notes.extend(super::repeated_lines(&summary.collection));
    notes
}

/// Nothing when OK, so cron sends no mail; otherwise the status line and every finding. With
/// `--renotify`, an unchanged problem is not said again until its time, and the return to OK
/// once.
fn text(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    match &report.notice {
        Notice::Quiet => return Ok(()),
        Notice::Recovered(previous) => {
            return writeln!(
                out,
                "SOCKSCOPE OK: recovered (was {}); no problems found",
                for_terminal(previous)
            );
        }
        Notice::Report => {}
    }
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
    if let Some(place) = super::sweep::where_found(&report.summary, first) {
        text.push_str(&format!(" in {}", for_terminal(&place)));
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

/// `SOCKSCOPE WARNING - summary | perfdata`, then one line per finding.
fn nagios(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
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
    for (counter, name) in super::prometheus::PERF_COUNTERS {
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
        match super::sweep::where_found(&report.summary, f) {
            Some(place) => writeln!(
                out,
                "{} {} in {}: {summary}",
                f.severity.word(),
                f.id,
                for_terminal(&place)
            )?,
            None => writeln!(out, "{} {}: {summary}", f.severity.word(), f.id)?,
        }
        for e in &f.evidence {
            writeln!(out, "  - {}", for_terminal(&super::proof::text(e)))?;
        }
    }
    for note in notes(report) {
        writeln!(out, "NOTE: {}", for_terminal(&note))?;
    }
    Ok(())
}
