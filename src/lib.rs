//! sockscope: count TCP sockets by state, explain what is wrong, alert on it.
//!
//! Data flows one way, and a module imports only the ones before it:
//! `model → report → collect → filter, group, diagnose → alert → render → pipeline →
//! commands, cli`. The binary is a thin wrapper around [`run`]: the command line is lowered
//! once ([`cli::lower`]), and the command it names runs.

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
#[cfg(feature = "serve")]
mod serve;

use std::io::Write;

use crate::cli::{Cli, Terminal};

pub use crate::error::Error as SockscopeError;
pub use crate::render::Format;

/// What the benchmarks, fuzz targets and documentation tests reach inside: the parsers and the
/// generated rule table. Not a stable API.
#[doc(hidden)]
pub mod internals {
    pub use crate::collect::context::{parse_counters, parse_sockstat, parse_sysctls};
    pub use crate::collect::netlink::{parse_msg, walk_messages, walk_messages_info};
    pub use crate::collect::proc_tcp::{Line, TcpTable};
    pub use crate::collect::tcp_info::tcp_info_of;
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
    #[cfg(feature = "serve")]
    pub fn metric_list_markdown() -> String {
        crate::render::scrape::metric_list_markdown()
    }
}

/// Runs one command, writing results to `out` and warnings to `err`; returns the exit code.
/// `check` turns its own failures into UNKNOWN (3) here, in the format asked for.
pub fn run(
    cli: &Cli,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, SockscopeError> {
    let invocation = match cli::lower(cli, terminal) {
        Ok(invocation) => invocation,
        Err(e) => {
            return match cli.check_format() {
                Some(format) => commands::check::unknown(format, cli.check_textfile(), &e, out),
                None => Err(e),
            };
        }
    };
    for warning in &invocation.warnings {
        let _ = writeln!(err, "sockscope: warning: {warning}");
    }
    commands::run(&invocation, out, err)
}

/// `text` (an error message) safe for a terminal: each line escaped as every text from the
/// system is (a message may quote a path or an argument holding escape sequences), lines kept.
pub fn printable(text: &str) -> String {
    text.split('\n')
        .map(render::escape::for_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `check`'s UNKNOWN in the chosen format, for the binary's panic hook.
pub fn report_unknown(format: Format, message: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let report = report::Unknown {
        message: message.to_string(),
    };
    render::unknown::write(&report, format, &render::Style::default(), out)
}
