//! Findings for people: after the state table, most severe first, each a short block an
//! operator can act on — what, the numbers, who, why, what to run next.

use std::io::{self, Write};

use super::Style;
use crate::report::{Finding, Severity, SummaryReport};

fn label(severity: Severity, style: Style) -> String {
    let (text, colour) = match severity {
        Severity::Critical => ("CRITICAL", "1;31"),
        Severity::Warning => ("WARNING", "1;33"),
        Severity::Info => ("INFO", "1;36"),
    };
    if style.color {
        format!("\x1b[{colour}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// A finding, saying in which namespace when several were swept.
/// One finding; in a sweep, saying in which namespace, with next steps that run there.
pub fn block(
    report: &SummaryReport,
    f: &Finding,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out)?;
    let place = super::namespaces::where_found(report, f);
    match place {
        Some(place) => writeln!(
            out,
            "{} {} ({}) in {place}",
            label(f.severity, style),
            f.title,
            f.id
        )?,
        None => writeln!(out, "{} {} ({})", label(f.severity, style), f.title, f.id)?,
    }
    writeln!(out, "  {}", f.summary)?;
    if !f.culprits.is_empty() {
        let who: Vec<String> = f.culprits.iter().map(super::culprit::describe).collect();
        writeln!(out, "  Who: {}", who.join("; "))?;
    }
    if !f.causes.is_empty() {
        writeln!(out, "  Likely causes, most likely first:")?;
        for (i, cause) in f.causes.iter().enumerate() {
            writeln!(out, "    {}. {cause}", i + 1)?;
        }
    }
    let next = super::namespaces::next_steps(report, f);
    if !next.is_empty() {
        writeln!(out, "  Next:")?;
        for step in &next {
            writeln!(out, "    {step}")?;
        }
    }
    Ok(())
}

/// The findings, or one line saying the checks found nothing; then the checks that could not
/// run, each with why.
pub fn render(report: &SummaryReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let d = &report.checks;
    let checked = d.rules - d.skipped.len();
    if report.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "No problems found ({checked} checks).")?;
    }
    for f in &report.findings {
        block(report, f, style, out)?;
    }
    if let Some(a) = &d.attribution {
        let notes = super::attribution::notes(a);
        if !notes.is_empty() {
            writeln!(out)?;
            for note in notes {
                writeln!(out, "{note}")?;
            }
        }
    }
    if !d.skipped.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{} of {} checks skipped for missing data:",
            d.skipped.len(),
            d.rules
        )?;
        for (id, why) in &d.skipped {
            writeln!(out, "  {id}: {why}")?;
        }
    }
    Ok(())
}
