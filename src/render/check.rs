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
            let mut e = Exposition::new(Format::Prometheus, out);
            super::prometheus::families(report, &mut e)?;
            // It measured; an UNKNOWN run writes 0 (`render::unknown`).
            super::prometheus::up(true, &mut e)
        }
        other => Err(super::unsupported(other, "check")),
    }
}

/// What the reader should know beyond the findings: the state file's and the ranges' notes,
/// rules that ran on a weaker input, malformed lines skipped.
fn notes(report: &CheckReport) -> Vec<String> {
    let summary = &report.summary;
    let mut notes: Vec<String> = unread(report).into_iter().collect();
    notes.extend(summary.sweep.as_deref().and_then(super::sweep::hidden));
    notes.extend(report.notes.iter().cloned());
    notes.extend(cut_short(report));
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

/// What a sweep could not read, by name, and whether that is more than `--max-unread` allows;
/// `None` when it read every namespace it found (or was no sweep).
fn unread(report: &CheckReport) -> Option<String> {
    let sweep = report.summary.sweep.as_deref()?;
    if sweep.unopened.is_empty() {
        return None;
    }
    Some(format!(
        "{} could not be read{}: {}",
        super::sweep::unread_count(sweep),
        limit(report),
        super::sweep::unread_names(sweep)
    ))
}

/// ` (more than --max-unread N)` when that is why the status is UNKNOWN.
fn limit(report: &CheckReport) -> String {
    match report.max_unread {
        Some(max) if report.too_many_unread() => format!(" (more than --max-unread {max})"),
        _ => String::new(),
    }
}

/// Each namespace not read and why, indented: the long output under its note.
fn unread_reasons(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    if let Some(sweep) = report.summary.sweep.as_deref() {
        for line in super::sweep::unread_reasons(sweep) {
            writeln!(out, "  {}", for_terminal(&line))?;
        }
    }
    Ok(())
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
                "SOCKSCOPE OK - recovered (was {}); no problems found",
                for_terminal(previous)
            );
        }
        Notice::Report => {}
    }
    if report.status == Status::Ok {
        return Ok(());
    }
    writeln!(
        out,
        "SOCKSCOPE {} - {}",
        report.status.word(),
        short(report)
    )?;
    let style = super::Style::default();
    for f in report
        .summary
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
    {
        super::findings::block(&report.summary, f, style, out)?;
    }
    if let Some(note) = unread(report) {
        writeln!(out)?;
        writeln!(out, "{}", for_terminal(&note))?;
        unread_reasons(report, out)?;
    }
    // The holders named above may not be all of them: the walk stopped at --timeout.
    if let Some(note) = cut_short(report) {
        writeln!(out)?;
        let mut chars = note.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase());
        writeln!(out, "{}{}.", first.unwrap_or_default(), chars.as_str())?;
    }
    Ok(())
}

/// What the owner walk did not look at, when it stopped at `--timeout`'s deadline.
fn cut_short(report: &CheckReport) -> Option<String> {
    let attribution = report.summary.checks.attribution.as_ref()?;
    super::attribution::cut_short(attribution)
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
    // A sweep that could not read every namespace says so here too: the part a pager shows.
    let sweep = report.summary.sweep.as_deref();
    let unread = sweep
        .filter(|s| !s.unopened.is_empty())
        .map(|s| format!("; {} not read", super::sweep::unread_count(s)))
        .unwrap_or_default();
    let Some(first) = alerts.first() else {
        if let Some(sweep) = sweep.filter(|_| report.too_many_unread()) {
            return format!(
                "{} could not be read{}",
                super::sweep::unread_count(sweep),
                limit(report)
            );
        }
        let n = report.summary.tally.total();
        return format!(
            "{n} TCP socket{}, no problems found{unread}",
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
    text.push_str(&unread);
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
        // A state `--state` left out was not measured: `U`, not a count of 0.
        let value = if report.measured.contains(state) {
            report.summary.tally.state_total(state).to_string()
        } else {
            "U".to_string()
        };
        perf.push(format!(
            "{}={value};{};{};0;",
            perf_label(&name),
            range(&report.warn),
            range(&report.crit)
        ));
    }
    // Where a port's own ranges decide, its value with them: the line shows what was judged.
    for p in &report.ports {
        let Some(spec) = p.ranges.warn.as_ref().or(p.ranges.crit.as_ref()) else {
            continue;
        };
        let range = |r: &Option<StateRange>| r.as_ref().map(|r| r.range.to_string());
        perf.push(format!(
            "{}_port_{}={};{};{};0;",
            perf_label(&spec.label()),
            p.ranges.port,
            p.count.map_or("U".to_string(), |n| n.to_string()),
            range(&p.ranges.warn).unwrap_or_default(),
            range(&p.ranges.crit).unwrap_or_default()
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
    // The first note is what a sweep could not read, with each namespace and why under it.
    for (i, note) in notes(report).iter().enumerate() {
        writeln!(out, "NOTE: {}", for_terminal(note))?;
        if i == 0 && report.unread() > 0 {
            unread_reasons(report, out)?;
        }
    }
    Ok(())
}
