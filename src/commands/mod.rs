//! Orchestration, one file per subcommand: take the lowered command line, run the pipeline,
//! hand the finished report to its renderer. Nothing imports `commands`.

pub mod check;
mod completions;
mod flows;
mod list;
pub mod man;
#[cfg(feature = "serve")]
mod serve;
mod summary;
mod top;
mod watch;

use std::io::Write;

use crate::cli::{Invocation, Job};
use crate::error::Error;

/// Runs the command the invocation names; returns the exit code.
pub fn run(invocation: &Invocation, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Error> {
    let output = &invocation.output;
    let done = match &invocation.job {
        Job::Summary(job) => summary::run(job, output, out, err),
        Job::List(job) => list::run(job, output, out, err),
        Job::Top(job) => top::run(job, output, out, err),
        Job::Check(job) => return check::run(job, output, out, err),
        // Its status says which signal ended it.
        Job::Watch(job) => return watch::run(job, output, out, err),
        #[cfg(feature = "serve")]
        Job::Serve(job) => serve::run(job, err),
        Job::Completions(shell) => completions::run(*shell, out),
        Job::Man(command) => man::run(command.as_deref(), out),
    };
    done.map(|()| 0)
}

/// Warnings on stderr; a failure to write one must not turn a good result into an error.
fn warn(warnings: &[String], err: &mut dyn Write) {
    for warning in warnings {
        let _ = writeln!(err, "sockscope: warning: {warning}");
    }
}

/// Notes that plain output cannot carry on stdout without breaking scripts (`-v`).
fn notes_to_stderr(notes: &[String], err: &mut dyn Write) {
    for note in notes {
        let _ = writeln!(err, "sockscope: note: {note}");
    }
}
