//! One module per command: each turns its arguments into a report (through `collect`) and
//! hands it to a renderer. The glue they share lives here.

pub mod list;
pub mod summary;
pub mod top;

use std::collections::HashSet;
use std::io::Write;

use crate::Terminal;
use crate::collect::owners::{Owners, find_owners};
use crate::collect::{self, Collection, ProcSource};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::Socket;
use crate::render::Style;

/// Every socket that passes the filter, kept in memory (for the commands that need them all).
pub(crate) fn matching_sockets(
    source: &ProcSource,
    filter: &Filter,
) -> Result<(Vec<Socket>, Collection), Error> {
    let mut sockets = Vec::new();
    let collection = collect::for_each_socket(
        source,
        |family| filter.wants_family(family),
        |socket| {
            if filter.matches(socket) {
                sockets.push(*socket);
            }
        },
    )?;
    Ok((sockets, collection))
}

/// Who holds these sockets. Only their inodes are looked for, and nothing is walked when no
/// socket can have an owner.
pub(crate) fn owners_of(source: &ProcSource, sockets: &[Socket]) -> Result<Owners, Error> {
    let wanted: HashSet<u64> = sockets
        .iter()
        .map(|s| s.inode)
        .filter(|&i| i != 0)
        .collect();
    find_owners(source.root(), &wanted).map_err(|e| Error::Read {
        path: source.root().to_path_buf(),
        source: e,
    })
}

pub(crate) fn style(terminal: Terminal) -> Style {
    Style {
        unicode: terminal.stdout_is_terminal,
        color: terminal.stdout_is_terminal && !terminal.no_color,
    }
}

/// Malformed lines are skipped, never fatal, but never silent either.
pub(crate) fn warn_skipped(collection: &Collection, err: &mut dyn Write) {
    // A failure to write a warning must not turn a good result into an error.
    for s in &collection.skipped {
        let _ = writeln!(
            err,
            "sockscope: warning: skipped '{}' line {}: {}",
            s.path.display(),
            s.line,
            s.why
        );
    }
    let more = collection.skipped_lines - collection.skipped.len() as u64;
    if more > 0 {
        let _ = writeln!(
            err,
            "sockscope: warning: skipped {more} more malformed lines"
        );
    }
}

/// Notes that plain output cannot carry on stdout without breaking scripts.
pub(crate) fn notes_to_stderr(notes: &[String], err: &mut dyn Write) {
    for note in notes {
        let _ = writeln!(err, "sockscope: note: {note}");
    }
}
