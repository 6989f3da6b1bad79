//! `sockscope watch`: the summary again and again, as a live screen on a terminal
//! ([`tui`]) or as one record per refresh otherwise ([`stream`]). Every refresh is one run of
//! the pipeline ([`session`]).

#[cfg(feature = "tui")]
mod keys;
#[cfg(feature = "tui")]
mod line;
mod session;
mod stream;
#[cfg(feature = "tui")]
mod tui;

use std::io::Write;

use crate::cli::{Output, WatchJob};
use crate::error::Error;
#[cfg(feature = "tui")]
use crate::report::GroupKey;
#[cfg(feature = "tui")]
use crate::report::watch::WatchView;
use session::Session;

pub fn run(
    job: &WatchJob,
    output: &Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let mut request = job.request.clone();
    let unfollowed = match &job.follow {
        Some(follow) => super::flows::start(&mut request, follow)?,
        None => None,
    };
    let mut session = Session::new(request);
    if !job.screen {
        super::warn(unfollowed.as_slice(), err);
        return stream::run(&mut session, output, job.interval, job.count, out, err).map(|()| 0);
    }
    #[cfg(not(feature = "tui"))]
    return Err(Error::Usage("this sockscope has no live screen".into()));
    #[cfg(feature = "tui")]
    screen(&mut session, job, output, out, unfollowed)
}

/// The live screen.
#[cfg(feature = "tui")]
fn screen(
    session: &mut Session,
    job: &WatchJob,
    output: &Output,
    out: &mut dyn Write,
    unfollowed: Option<String>,
) -> Result<u8, Error> {
    let by = if session.looks_up_processes() {
        GroupKey::Process
    } else {
        GroupKey::LocalPort
    };
    let mut view = WatchView::new(job.interval, by, !output.terminal.no_color);
    view.all_states = job.all_states;
    view.containers = session.sweeps();
    view.message = unfollowed;
    tui::run(session, &mut view, job.count, out)
}

#[cfg(test)]
#[cfg(feature = "tui")]
mod tests;
