//! The sockscope binary: parse the command line, run, map the outcome to an exit code.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use sockscope::Terminal;
use sockscope::cli::Cli;

/// Whether the command line asks for `check`, whose every failure must exit 3 (UNKNOWN): clap's
/// own usage code 2 would read as CRITICAL to a monitoring system. Shared options may come
/// before the subcommand (`sockscope --state close-wait check`), so any argument counts.
fn is_check() -> bool {
    std::env::args().skip(1).any(|a| a == "check")
}

/// Where to wrap: `COLUMNS` when set (so pipes and tests can ask), else the terminal's width, and
/// no wrapping for pipes (grep and mail readers get whole lines).
fn width(stdout: &io::Stdout) -> Option<u16> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok());
    columns
        .filter(|&c: &u16| c >= 20)
        .or_else(|| terminal_size::terminal_size_of(stdout).map(|(w, _)| w.0))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if is_check() => {
            // Help and version included: monitoring-plugins reserve 3 for anything not a check.
            let text = e.render().to_string();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("invalid arguments");
            if e.use_stderr() {
                println!("SOCKSCOPE UNKNOWN - {first}");
            } else {
                println!("{first}");
            }
            for line in lines {
                println!("{line}");
            }
            return ExitCode::from(3);
        }
        // Usage errors exit with clap's code 2, --help and --version with 0.
        Err(e) => e.exit(),
    };
    let stdout = io::stdout();
    let terminal = Terminal {
        stdout_is_terminal: stdout.is_terminal(),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        width: width(&stdout),
    };
    let mut out = BufWriter::new(stdout.lock());
    let result = sockscope::run(&cli, terminal, &mut out, &mut io::stderr()).and_then(|code| {
        out.flush().map_err(sockscope::SockscopeError::from)?;
        Ok(code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        // `sockscope list | head`: the reader has what it wanted.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "sockscope: error: {e}");
            ExitCode::from(2)
        }
    }
}
