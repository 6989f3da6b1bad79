//! sockscope: count TCP sockets by state, explain what is wrong, alert on it.
//!
//! Data flows one way, and a module imports only the ones before it:
//! `model → report → collect → filter, group, diagnose → alert → render → pipeline →
//! commands, cli`. The binary is a thin wrapper around [`run`].

mod alert;
pub mod cli;
mod collect;
mod commands;
mod diagnose;
mod error;
mod filter;
mod group;
mod model;
mod pipeline;
mod render;
mod report;
mod serve;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::error::Error;

pub use crate::error::Error as SockscopeError;

/// What the benchmarks, fuzz targets and documentation tests reach inside: the parsers and the
/// generated rule table. Not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::collect::proc_tcp::{Line, TcpTable};
    pub use crate::model::{Family, Tally};

    /// The README's rule table, from the thresholds the code uses.
    pub fn rule_table_markdown() -> String {
        crate::diagnose::catalog::catalog_markdown(&Default::default())
    }

    /// The README's list of the metrics `serve` writes, from the code that writes them.
    pub fn metric_list_markdown() -> String {
        use crate::report::{CheckReport, Checks, Collection, ScrapeReport, Status, SummaryReport};
        let summary = SummaryReport {
            collected_at: std::time::UNIX_EPOCH,
            tally: Default::default(),
            filter: String::new(),
            findings: Vec::new(),
            checks: Checks::default(),
            collection: Collection {
                source: "",
                proc_root: Default::default(),
                pid: None,
                netns: None,
                files: Vec::new(),
                duration: Default::default(),
                sockets_seen: 0,
                skipped_lines: 0,
                skipped: Vec::new(),
                clock_ticks: 100,
                source_reason: None,
            },
        };
        let example = ScrapeReport {
            check: CheckReport {
                summary,
                context: Default::default(),
                status: Status::Ok,
                notes: Vec::new(),
                warn: Vec::new(),
                crit: Vec::new(),
                finding_ids: Vec::new(),
            },
            breakdowns: vec![
                crate::report::Breakdown {
                    name: crate::report::PORT_SOCKETS,
                    labels: crate::report::PORT_LABELS,
                    ..Default::default()
                },
                crate::report::Breakdown {
                    name: crate::report::PROCESS_SOCKETS,
                    labels: crate::report::PROCESS_LABELS,
                    ..Default::default()
                },
            ],
            close_wait_oldest: Vec::new(),
            accept_queues: Vec::new(),
            duration: Default::default(),
            stats: Default::default(),
            version: "",
        };
        crate::render::scrape::metric_list_markdown(&example)
    }
}

/// What the caller knows about the terminal; the library never inspects the process itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdout_is_terminal: bool,
    /// `NO_COLOR` is set to a non-empty value (no-color.org).
    pub no_color: bool,
}

/// Runs one command, writing results to `out` and warnings to `err`; returns the exit code.
/// `check` turns its own failures into UNKNOWN (3) here, in the format asked for.
pub fn run(
    cli: &Cli,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    if let Some(Command::Check(args)) = &cli.command {
        return match commands::check::run(args, out, err) {
            Ok(status) => Ok(status.code()),
            Err(e) if e.is_broken_pipe() => Err(e),
            Err(e) => {
                commands::check::report_unknown(args.format, &e.to_string(), out)?;
                Ok(report::Status::Unknown.code())
            }
        };
    }
    run_command(cli, terminal, out, err).map(|()| 0)
}

fn run_command(
    cli: &Cli,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    match &cli.command {
        Some(Command::Check(_)) => Ok(()),
        None => commands::summary::run(&cli.summary, terminal, out, err),
        Some(Command::Summary(args)) => commands::summary::run(args, terminal, out, err),
        Some(Command::List(args)) => commands::list::run(args, terminal, out, err),
        Some(Command::Top(args)) => commands::top::run(args, terminal, out, err),
        Some(Command::Serve(args)) => commands::serve::run(args, err),
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
