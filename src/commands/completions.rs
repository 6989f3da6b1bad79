//! `sockscope completions SHELL`: the completion script, generated from the same `Cli` as the
//! help (clap_complete); the files under `completions/` are this output, checked in.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Error;

pub fn run(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "sockscope", &mut script);
    out.write_all(&script)?;
    Ok(())
}
