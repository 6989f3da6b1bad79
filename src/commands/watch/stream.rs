//! `watch` when not on a terminal (or with `--format plain|json`): one record per refresh, for
//! logs and `tee`. Sleeps between refreshes; a closed pipe ends it quietly.

use std::io::Write;
use std::time::Instant;

use super::session::Session;
use crate::cli::WatchFormat;
use crate::error::Error;
use crate::model::StateCounts;
use crate::render;

pub fn run(
    session: &mut Session,
    format: WatchFormat,
    interval: std::time::Duration,
    count: Option<u64>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut previous: Option<StateCounts> = None;
    let mut done = 0;
    let mut due = Instant::now();
    loop {
        let refresh = session.refresh(None, err)?;
        let report = &refresh.report;
        match format {
            WatchFormat::Json => render::json::render_line(report, previous.as_ref(), out)?,
            _ => render::watch::line::plain(report, previous.as_ref(), out)?,
        }
        out.flush()?;
        previous = Some(report.tally.both());
        done += 1;
        if count.is_some_and(|n| done >= n) {
            return Ok(());
        }
        // A steady cadence: a slow refresh shortens the wait, never stacks up.
        due += interval;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else {
            due = now;
        }
    }
}
