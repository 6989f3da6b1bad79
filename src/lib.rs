//! sockscope: count TCP sockets by state, explain what is wrong, alert on it.
//!
//! Data flows one way: `cli` → `collect` (reads the kernel) → `report` → `render`.
//! The binary is a thin wrapper around [`run`].

pub mod cli;
pub mod collect;
pub mod error;
pub mod filter;
pub mod model;
pub mod render;
pub mod report;

use std::io::Write;
use std::time::SystemTime;

use clap::CommandFactory;

use crate::cli::{Cli, Command, Format, SummaryArgs};
use crate::collect::{Collection, ProcSource};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::Tally;
use crate::report::Report;

pub use crate::error::Error as SockscopeError;

/// What the caller knows about the terminal; the library never inspects the process itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdout_is_terminal: bool,
    /// `NO_COLOR` is set to a non-empty value (no-color.org).
    pub no_color: bool,
}

/// Runs one command, writing results to `out` and warnings to `err`.
pub fn run(
    cli: &Cli,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    match &cli.command {
        None => summary(&cli.summary, terminal, out, err),
        Some(Command::Summary(args)) => summary(args, terminal, out, err),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "sockscope", &mut script);
            out.write_all(&script)?;
            Ok(())
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command()).render(out)?;
            Ok(())
        }
    }
}

/// Counts every socket by family and state while streaming: nothing per socket is kept, so
/// memory stays flat however many sockets there are.
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

fn summary(
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
        Format::Table => {
            let style = render::table::Style {
                unicode: terminal.stdout_is_terminal,
                color: terminal.stdout_is_terminal && !terminal.no_color,
            };
            render::table::render(&report, style, out)?
        }
        Format::Json => render::json::render(&report, out)?,
        Format::Plain => render::plain::render(&report, out)?,
    }
    Ok(())
}

/// Malformed lines are skipped, never fatal, but never silent either.
fn warn_skipped(collection: &Collection, err: &mut dyn Write) {
    // A failure to write a warning must not turn a good count into an error.
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
