//! The sockscope binary: parse the command line, run, map the outcome to an exit code.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use sockscope::Terminal;
use sockscope::cli::Cli;

fn main() -> ExitCode {
    // Usage errors exit with clap's code 2, --help and --version with 0.
    let cli = Cli::parse();
    let stdout = io::stdout();
    let terminal = Terminal {
        stdout_is_terminal: stdout.is_terminal(),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
    };
    let mut out = BufWriter::new(stdout.lock());
    let result = sockscope::run(&cli, terminal, &mut out, &mut io::stderr())
        .and_then(|()| out.flush().map_err(sockscope::SockscopeError::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `sockscope list | head`: the reader has what it wanted.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "sockscope: error: {e}");
            ExitCode::from(2)
        }
    }
}
