//! `watch` when not on a terminal (or with `--format plain|json`): one record per refresh, for
//! logs and `tee`. Sleeps between refreshes; a closed pipe ends it quietly.

use std::io::Write;
use std::time::{Duration, Instant};

use super::session::Session;
use crate::cli::Output;
use crate::error::Error;
use crate::model::StateCounts;
use crate::render;
use crate::report::watch::Record;

pub fn run(
    session: &mut Session,
    output: &Output,
    interval: Duration,
    count: Option<u64>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut previous: Option<StateCounts> = None;
    let mut done = 0;
    let mut due = Instant::now();
    loop {
        let refresh = session.refresh(None)?;
        super::super::warn(&refresh.warnings, err);
        let report = &refresh.report;
        let record = Record {
            report,
            previous: previous.as_ref(),
        };
        render::record::write(&record, output.format, &output.style, out)?;
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
