//! The sockscope binary: parse the command line, run, map the outcome to an exit code.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use sockscope::Format;
use sockscope::cli::{Cli, Terminal};

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

/// For `check`, a panic prints one UNKNOWN report and exits 3, instead of an empty output and
/// 101 that a monitoring system would misread. Written straight to fd 1 (any buffered partial
/// output is dropped), without taking the stdout lock another thread may hold.
fn unknown_on_panic(format: Format) {
    std::panic::set_hook(Box::new(move |info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = format!("internal error{place}: {what}");
        let mut text = Vec::new();
        let _ = sockscope::report_unknown(format, &message, &mut text);
        let mut rest = &text[..];
        while let Ok(n @ 1..) = rustix::io::write(rustix::stdio::stdout(), rest) {
            rest = &rest[n..];
        }
        // Nagios plugins keep stderr empty; the others say it there too, for cron's mail.
        if format != Format::Nagios {
            let _ = writeln!(io::stderr(), "sockscope: {message}");
        }
        std::process::exit(3);
    }));
}

/// `check`'s usage errors, help and version: written to stdout through a checked writer, and
/// always exit 3. Monitoring-plugins reserve 3 for anything not a check, and a failed write
/// (`> /dev/full`, a closed pipe) must not turn into a panic's 101.
fn unknown_usage(e: &clap::Error) -> ExitCode {
    // An error may quote an argument; help and version are ours, printed as they are.
    let text = match e.render().to_string() {
        text if e.use_stderr() => sockscope::printable(&text),
        text => text,
    };
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let mut report = if e.use_stderr() {
        format!("SOCKSCOPE UNKNOWN - {first}\n")
    } else {
        format!("{first}\n")
    };
    for line in lines {
        report.push_str(line);
        report.push('\n');
    }
    let mut stdout = io::stdout().lock();
    if let Err(w) = stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
    {
        let _ = writeln!(io::stderr(), "sockscope: error: cannot write output: {w}");
    }
    ExitCode::from(3)
}

/// The other commands' usage errors (2), help and version (0), as clap prints them; a closed
/// pipe is the reader being done, any other failed write an error (2).
fn usage(e: &clap::Error) -> ExitCode {
    let code = u8::try_from(e.exit_code()).unwrap_or(2);
    match e.print().and_then(|()| io::stdout().flush()) {
        Ok(()) => ExitCode::from(code),
        Err(w) if w.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Err(w) => {
            let _ = writeln!(io::stderr(), "sockscope: error: cannot write output: {w}");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if is_check() => return unknown_usage(&e),
        // Usage errors exit with clap's code 2, --help and --version with 0.
        Err(e) => return usage(&e),
    };
    let check_format = cli.check_format();
    if let Some(format) = check_format {
        unknown_on_panic(format);
    }
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
        // check's reader is a monitoring system: an output it could not write (a closed pipe, a
        // full disk) is a failure to report, UNKNOWN, never OK or the CRITICAL of exit 2.
        Err(e) if check_format.is_some() => {
            let _ = writeln!(
                io::stderr(),
                "sockscope: error: {}",
                sockscope::printable(&e.to_string())
            );
            ExitCode::from(3)
        }
        // `sockscope list | head`: the reader has what it wanted.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "sockscope: error: {}",
                sockscope::printable(&e.to_string())
            );
            ExitCode::from(2)
        }
    }
}
