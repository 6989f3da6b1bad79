//! `sockscope watch`: the summary again and again, as a live screen on a terminal
//! ([`tui`]) or as one record per refresh otherwise ([`stream`]). Every refresh is one
//! `pipeline::analyse` ([`session`]).

mod keys;
mod session;
mod stream;
mod tui;

use std::io::Write;

use super::summary::settings;
use crate::Terminal;
use crate::cli::{SharedArgs, WatchArgs, WatchFormat};
use crate::error::Error;
use crate::report::GroupKey;
use crate::report::watch::WatchView;
use session::Session;

pub fn run(
    shared: &SharedArgs,
    args: &WatchArgs,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let format = shared
        .watch_format()?
        .unwrap_or(if terminal.stdout_is_terminal {
            WatchFormat::Screen
        } else {
            WatchFormat::Plain
        });
    if format == WatchFormat::Screen && !terminal.stdout_is_terminal {
        return Err(Error::Usage(
            "--format screen needs a terminal; use --format plain or json when piped".into(),
        ));
    }
    let settings = settings(shared.config.as_deref(), err);
    let mut scope = shared.scope();
    // A plain record names no culprit: walking every fd table for it would be wasted.
    scope.no_processes |= format == WatchFormat::Plain;
    let mut session = Session::new(scope, settings, args.stuck_after.as_secs());
    match format {
        WatchFormat::Screen => {
            let by = if session.looks_up_processes() {
                GroupKey::Process
            } else {
                GroupKey::LocalPort
            };
            let mut view = WatchView::new(args.interval, by, !terminal.no_color);
            view.all_states = args.all_states;
            tui::run(&mut session, &mut view, args.count, out)
        }
        _ => stream::run(&mut session, format, args.interval, args.count, out, err),
    }
}
#[cfg(test)]
mod tests;
