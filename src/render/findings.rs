//! Findings for people: after the state table, most severe first, each a short block an
//! operator can act on — what, the numbers, who, why, what to run next.

use std::io::{self, Write};

use super::finding_view::{causes, summary, title};
use super::{Style, escape, wrap};
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

/// One finding; in a sweep, saying in which namespace.
pub fn block(
    report: &SummaryReport,
    f: &Finding,
    style: Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out)?;
    let word = f.severity.word();
    let place = super::sweep::where_found(report, f)
        .map(|p| format!(" in {}", escape::for_terminal(&p)))
        .unwrap_or_default();
    let heading = format!(
        "{word} {} ({}){place}",
        escape::for_terminal(&title(f)),
        f.id
    );
    let heading = wrap(&heading, style, "", "  ");
    // The severity word is coloured after wrapping, so escape codes never count as width.
    let rest = heading.strip_prefix(word).unwrap_or(&heading);
    writeln!(out, "{}{rest}", label(f.severity, style))?;
    writeln!(
        out,
        "{}",
        wrap(&escape::for_terminal(&summary(f)), style, "  ", "  ")
    )?;
    if !f.culprits.is_empty() {
        let who: Vec<String> = f.culprits.iter().map(super::culprit::describe).collect();
        let who = format!("Who: {}", who.join("; "));
        writeln!(out, "{}", wrap(&who, style, "  ", "       "))?;
    }
    if !f.evidence.is_empty() {
        writeln!(out, "  Evidence:")?;
        for e in &f.evidence {
            let text = escape::for_terminal(&super::proof::text(e)).into_owned();
            writeln!(out, "{}", wrap(&text, style, "    - ", "      "))?;
        }
    }
    let causes = causes(f);
    if !causes.is_empty() {
        writeln!(out, "  Likely causes, most likely first:")?;
        for (i, cause) in causes.iter().enumerate() {
            let first = format!("    {}. ", i + 1);
            let text = escape::for_terminal(cause);
            writeln!(out, "{}", wrap(&text, style, &first, "       "))?;
        }
    }
    if !f.next_steps.is_empty() {
        writeln!(out, "  Next:")?;
        for step in &f.next_steps {
            next_step(step, style, out)?;
        }
    }
    Ok(())
}

/// A next step: a command is never broken (it must paste whole), so with a width its trailing
/// `# comment` moves to a line of its own; advice in words wraps like the rest.
fn next_step(step: &str, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let step = escape::for_terminal(step);
    if style.width.is_none() {
        return writeln!(out, "    {step}");
    }
    if let Some((command, comment)) = step.split_once("   # ") {
        writeln!(out, "    {command}")?;
        return writeln!(
            out,
            "{}",
            wrap(&format!("# {comment}"), style, "      ", "      # ")
        );
    }
    if step.ends_with('.') {
        return writeln!(out, "{}", wrap(&step, style, "    ", "    "));
    }
    writeln!(out, "    {step}")
}

/// The findings, or one line saying the checks found nothing; then the checks that could not
/// run, each with why.
pub fn section(report: &SummaryReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let d = &report.checks;
    let checked = d.rules - d.skipped.len();
    if report.findings.is_empty() {
        writeln!(out)?;
        // Said of what was read only: the namespaces that could not be are listed above.
        match report.sweep.as_deref().filter(|s| !s.unopened.is_empty()) {
            Some(sweep) => {
                let read = sweep.namespaces.len();
                let line = format!(
                    "No problems found in the {read} namespace{} read ({checked} checks); nothing was checked in the {} that could not be read.",
                    if read == 1 { "" } else { "s" },
                    sweep.unopened.len()
                );
                writeln!(out, "{}", wrap(&line, style, "", "  "))?;
            }
            None => writeln!(out, "No problems found ({checked} checks).")?,
        }
    }
    for f in &report.findings {
        block(report, f, style, out)?;
    }
    if let Some(a) = &d.attribution {
        let notes = super::attribution::notes(a);
        if !notes.is_empty() {
            writeln!(out)?;
            for note in notes {
                writeln!(out, "{}", wrap(&note, style, "", "  "))?;
            }
        }
    }
    for (id, what) in &d.limited {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            wrap(&format!("Note ({id}): {what}"), style, "", "  ")
        )?;
    }
    if !d.skipped.is_empty() {
        // One line: which checks and what they lacked; the reasons are in --json.
        let what: Vec<String> = d
            .skipped
            .iter()
            .map(|(id, why)| match why.split_once(" unknown") {
                Some((missing, _)) => format!("{id} (no {missing})"),
                None => id.to_string(),
            })
            .collect();
        let line = format!(
            "Skipped {} of {} checks for missing data: {}; reasons in --json.",
            d.skipped.len(),
            d.rules,
            what.join(", ")
        );
        writeln!(out)?;
        writeln!(out, "{}", wrap(&line, style, "", "  "))?;
    }
    Ok(())
}
