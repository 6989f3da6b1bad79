//! Output formats: one renderer per report and format, writing to any `Write`. Renderers read
//! `report` and `model` only and never the system; the wording lives here.

pub mod attribution;
pub mod check;
pub mod culprit;
pub mod escape;
pub mod exposition;
pub mod finding_view;
pub mod findings;
pub mod json;
pub mod list;
pub mod namespaces;
pub mod plain;
pub mod prometheus;
pub mod prometheus_netns;
pub mod scrape;
pub mod table;
pub mod top;
pub mod watch;

use comfy_table::presets::{ASCII_FULL_CONDENSED, UTF8_FULL_CONDENSED};
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};

use crate::report::Collection;

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
    notes
}
