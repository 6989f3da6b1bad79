//! `sockscope watch`: the summary again and again, as a live screen on a terminal
//! ([`tui`]) or as one record per refresh otherwise ([`stream`]). Every refresh is one run of
//! the pipeline ([`session`]).

mod keys;
mod session;
mod stream;
mod tui;

use std::io::Write;

use crate::cli::{Output, WatchJob};
use crate::error::Error;
use crate::report::GroupKey;
use crate::report::watch::WatchView;
use session::Session;

pub fn run(
    job: &WatchJob,
    output: &Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut session = Session::new(job.request.clone());
    if !job.screen {
        return stream::run(&mut session, output, job.interval, job.count, out, err);
    }
    let by = if session.looks_up_processes() {
        GroupKey::Process
    } else {
        GroupKey::LocalPort
    };
    let mut view = WatchView::new(job.interval, by, !output.terminal.no_color);
    view.all_states = job.all_states;
    tui::run(&mut session, &mut view, job.count, out)
}
#[cfg(test)]
mod tests;
