//! `sockscope` / `sockscope summary`: every socket counted by family and state.

use std::io::Write;
use std::time::SystemTime;

use super::{style, warn_skipped};
use crate::Terminal;
use crate::cli::{Format, SummaryArgs};
use crate::collect::{self, Collection, ProcSource};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::Tally;
use crate::render;
use crate::report::Report;

/// Counts while streaming: nothing per socket is kept, so memory stays flat however many
/// sockets there are.
pub fn count(source: &ProcSource, filter: &Filter) -> Result<(Tally, Collection), Error> {
    let mut tally = Tally::default();
    let collection = collect::for_each_socket(
        source,
        |family| filter.wants_family(family),
        |socket| {
            if filter.matches(socket) {
                tally.add(socket.family, socket.state);
            }
        },
    )?;
    Ok((tally, collection))
}

pub fn run(
    args: &SummaryArgs,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let filter = Filter::new(&args.filter);
    let source = ProcSource::new(&args.source.proc_root, args.source.pid);
    let collected_at = SystemTime::now();
    let (tally, collection) = count(&source, &filter)?;
    warn_skipped(&collection, err);
    let report = Report {
        collected_at,
        tally,
        filter: filter.describe(),
        findings: Vec::new(),
        collection,
    };
    match args.output.format() {
        Format::Table => render::table::render(&report, style(terminal), out)?,
        Format::Json => render::json::render(&report, out)?,
        Format::Plain => render::plain::render(&report, out)?,
    }
    Ok(())
}
