//! Output: one entry per report, `render::<report>::write(&Report, Format, &Style, &mut dyn
//! Write)`, with one function per format inside its file (hyperfine's exporters over the same
//! results). The reports: [`summary`], [`list`], [`top`], [`check`], [`unknown`] (a check that
//! could not measure), [`scrape`] (`serve`), [`record`] (a `watch` refresh when piped); the live
//! screen draws into a ratatui frame instead ([`watch::draw`]). Renderers read `report` and
//! `model` only and never the system; the wording lives here.

pub mod attribution;
pub mod check;
mod culprit;
mod document;
pub mod escape;
mod exposition;
mod finding_view;
mod findings;
#[cfg(all(test, feature = "serve"))]
mod fleet;
mod flows_json;
mod json;
pub mod list;
#[cfg(feature = "serve")]
pub mod otlp;
mod prometheus;
mod prometheus_netns;
mod proof;
pub mod record;
#[cfg(feature = "serve")]
pub mod scrape;
#[cfg(feature = "serve")]
mod scrape_flows;
pub mod summary;
mod sweep;
pub mod top;
pub mod unknown;
#[cfg(feature = "tui")]
pub mod watch;

use comfy_table::presets::{ASCII_FULL_CONDENSED, UTF8_FULL_CONDENSED};
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};

use crate::report::{Collection, SummaryReport};

/// Every output format there is; each report takes some of them (the command line lowers
/// `--format` into one its command has, so a writer never sees another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: boxes on a terminal, ASCII when piped.
    Table,
    /// A versioned JSON document (one per line for `watch` records).
    Json,
    /// Whitespace-separated fields for scripts.
    Plain,
    /// `check`: nothing when OK, else the status and each finding, for cron mail.
    Text,
    /// `check`: the monitoring-plugins line with perfdata.
    Nagios,
    /// The Prometheus text exposition format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 (`serve`, by the scrape's Accept header).
    OpenMetrics,
}

impl Format {
    /// The HTTP content type of a scrape in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            _ => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// A format the report does not have: the command line never asks for one, so this is a bug
/// to report, not a panic.
fn unsupported(format: Format, report: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{report} has no {format:?} format"),
    )
}

/// Warnings for stderr: the malformed lines each namespace's tables had (skipped, never fatal,
/// never silent either).
pub fn warnings(report: &SummaryReport) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut one = |collection: &Collection| {
        for s in &collection.skipped {
            warnings.push(format!(
                "skipped '{}' line {}: {}",
                s.path.display(),
                s.line,
                s.why
            ));
        }
        let more = collection.skipped_lines - collection.skipped.len() as u64;
        if more > 0 {
            warnings.push(format!("skipped {more} more malformed lines"));
        }
    };
    match &report.sweep {
        Some(sweep) => sweep
            .namespaces
            .iter()
            .for_each(|ns| one(&ns.report.collection)),
        None => one(&report.collection),
    }
    warnings
}

/// A comfy-table in our house style: rounded boxes on a terminal, ASCII when piped, styling
/// only when colour is wanted, fitted to the width when there is one.
pub(crate) fn new_table(style: Style) -> Table {
    let mut table = Table::new();
    table
        .load_style(if style.unicode {
            UTF8_FULL_CONDENSED.with_rounded_corners()
        } else {
            ASCII_FULL_CONDENSED
        })
        .set_content_arrangement(ContentArrangement::Disabled);
    if let Some(width) = style.width {
        // Too narrow a terminal: cells wrap instead of the table running off the screen.
        table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width);
    }
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// A count cell; zeros are dimmed on a colour terminal so the non-zero states stand out.
pub(crate) fn count(n: u64, style: Style) -> Cell {
    let cell = Cell::new(n);
    if style.color && n == 0 {
        cell.fg(Color::DarkGrey)
    } else {
        cell
    }
}

pub(crate) fn bold(cell: Cell, style: Style) -> Cell {
    if style.color {
        cell.add_attribute(Attribute::Bold)
    } else {
        cell
    }
}

/// How the terminal wants tables drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Box-drawing characters (a terminal); plain ASCII when piped.
    pub unicode: bool,
    /// ANSI colour (a terminal without `NO_COLOR`).
    pub color: bool,
    /// Columns to fit prose and tables to; `None`: no wrapping (piped output).
    pub width: Option<u16>,
}

/// `text` wrapped to the style's width (less `indent`), each line indented; the first line
/// indented by `first` instead. Unwrapped when there is no width.
pub(crate) fn wrap(text: &str, style: Style, first: &str, indent: &str) -> String {
    match style.width {
        Some(width) => {
            let options = textwrap::Options::new(usize::from(width).max(20))
                .initial_indent(first)
                .subsequent_indent(indent)
                .break_words(false)
                .word_splitter(textwrap::WordSplitter::NoHyphenation);
            textwrap::fill(text, options)
        }
        None => format!("{first}{text}"),
    }
}

/// The lines every human-readable output ends with: the filter, absent files, skipped lines.
pub(crate) fn notes(filter: &str, matched: u64, collection: &Collection) -> Vec<String> {
    let mut notes = Vec::new();
    if !filter.is_empty() && collection.states_filtered_in_kernel {
        // The kernel skipped the other states: how many sockets the namespace holds is unknown.
        let (noun, verb) = if matched == 1 {
            ("socket", "matches")
        } else {
            ("sockets", "match")
        };
        notes.push(format!(
            "Filter: {filter} ({matched} {noun} {verb}; sockets in other states were skipped by the kernel, not counted)."
        ));
    } else if !filter.is_empty() {
        notes.push(format!(
            "Filter: {filter} ({matched} of {} sockets match).",
            collection.sockets_seen
        ));
    }
    for file in &collection.files {
        if file.read && !file.present {
            notes.push(format!(
                "No {}: IPv6 is disabled or not built into this kernel.",
                file.path.display()
            ));
        }
    }
    if collection.skipped_lines > 0 {
        notes.push(format!(
            "Skipped {} malformed line{} (details on stderr and in --json); the counts above exclude them.",
            collection.skipped_lines,
            if collection.skipped_lines == 1 { "" } else { "s" }
        ));
    }
    notes.extend(repeated_lines(collection));
    notes
}

/// The note for socket-table lines that repeat the socket before them, when there are any.
pub(crate) fn repeated_lines(collection: &Collection) -> Option<String> {
    match collection.repeated_lines {
        0 => None,
        1 => Some(
            "1 line repeats the socket of the line before it: a real kernel table never does; the counts above include it."
                .into(),
        ),
        n => Some(format!(
            "{n} lines repeat the socket of the line before them: a real kernel table never does; the counts above include them."
        )),
    }
}
