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
    pub use crate::collect::context::{parse_counters, parse_sockstat, parse_sysctls};
    pub use crate::collect::netlink::{parse_msg, walk_messages};
    pub use crate::collect::proc_tcp::{Line, TcpTable};
    pub use crate::model::{Family, Tally};
    pub use crate::report::Range;

    /// The state file parser and its validation, as `check --state-file` runs them on what it
    /// read; `true` when the file would be used.
    pub fn parse_state(bytes: &[u8]) -> bool {
        crate::alert::state::parse_for_fuzzing(bytes)
    }

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
                clock_ticks: 100,
                ..Default::default()
            },
            sweep: None,
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
    /// Columns to wrap prose to: `COLUMNS`, else the terminal's width; `None` when piped.
    pub width: Option<u16>,
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
        return match commands::check::run(&cli.shared, args, out, err) {
            Ok(status) => Ok(status.code()),
            // The output itself failed: nothing more can be said there; the caller exits 3.
            Err(e @ Error::Output(_)) => Err(e),
            Err(e) => {
                let format = cli.shared.check_format_or_text();
                commands::check::report_unknown(format, &e.to_string(), out)?;
                Ok(report::Status::Unknown.code())
            }
        };
    }
    run_command(cli, terminal, out, err).map(|()| 0)
}

/// `check`'s UNKNOWN in the chosen format, for the binary's panic hook.
pub fn report_unknown(
    format: cli::CheckFormat,
    message: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    commands::check::report_unknown(format, message, out)
}

fn run_command(
    cli: &Cli,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    match &cli.command {
        Some(Command::Check(_)) => Ok(()),
        None | Some(Command::Summary) => commands::summary::run(&cli.shared, terminal, out, err),
        Some(Command::List(args)) => commands::list::run(&cli.shared, args, terminal, out, err),
        Some(Command::Top(args)) => commands::top::run(&cli.shared, args, terminal, out, err),
        Some(Command::Watch(args)) => commands::watch::run(&cli.shared, args, terminal, out, err),
        Some(Command::Serve(args)) => commands::serve::run(&cli.shared, args, err),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "sockscope", &mut script);
            out.write_all(&script)?;
            Ok(())
        }
        Some(Command::Man { command }) => commands::man::run(command.as_deref(), out),
    }
}
