//! `sockscope check`: the alerting front end. Runs the pipeline with every rule, the operator's
//! state ranges and, with a state file, the two-run rules; turns the findings into a
//! monitoring-plugins status. It must never fail in a way a monitoring system could read as
//! CRITICAL: every failure to measure is UNKNOWN (exit 3).

use std::io::Write;
use std::time::UNIX_EPOCH;

use crate::alert::file::{self, Mode};
use crate::alert::renotify::notify;
use crate::alert::state::{Previous, StateFile};
use crate::cli::{CheckJob, Output};
use crate::diagnose::all_ids;
use crate::error::Error;
use crate::pipeline::{self, History, Request};
use crate::render::{self, Format, Style};
use crate::report::{CheckReport, Notice, Status, Unknown};

/// Runs the check; returns the exit code: the status, or UNKNOWN (said in the format asked
/// for) when it could not measure.
pub fn run(
    job: &CheckJob,
    output: &Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    match judge(job, output, out, err) {
        Ok(status) => Ok(status.code()),
        // The output itself failed: nothing more can be said there; the caller exits 3.
        Err(e @ Error::Output(_)) => Err(e),
        Err(e) => unknown(output.format, &e, out),
    }
}

/// A failure to measure, said the way the chosen format's reader expects; exits UNKNOWN.
pub fn unknown(format: Format, e: &Error, out: &mut dyn Write) -> Result<u8, Error> {
    let report = Unknown {
        message: e.to_string(),
    };
    render::unknown::write(&report, format, &Style::default(), out)?;
    Ok(Status::Unknown.code())
}

fn judge(
    job: &CheckJob,
    output: &Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, Error> {
    // Nagios plugins keep stderr empty: warnings go into the long text instead.
    let mut sink = std::io::sink();
    let err: &mut dyn Write = if output.format == Format::Nagios {
        &mut sink
    } else {
        err
    };
    if crate::collect::injected("panic") {
        panic!("injected by SOCKSCOPE_TEST_FAULT=panic");
    }
    // Taken before collecting, so a concurrent run waits and then sees this run's state.
    let state = match &job.state_file {
        Some(path) => Some(StateFile::open(path)?),
        None => None,
    };
    let mut notes = Vec::new();
    let mut request: Request = job.request.clone();
    request.plan.history = state.as_ref().map(|(_, previous)| History {
        previous: match previous {
            Previous::Found(saved) => Some((**saved).clone()),
            Previous::Missing => None,
            Previous::Unusable(why) => {
                // Said on stderr too: cron mails it even when the check itself is OK.
                let _ = writeln!(err, "sockscope: warning: {why}");
                notes.push(why.clone());
                None
            }
        },
        stuck_after: job.stuck_after.as_secs(),
    });
    if let Some(follow) = &job.follow {
        if let Some(why) = super::flows::start(&mut request, follow)? {
            let _ = writeln!(err, "sockscope: warning: {why}");
            notes.push(why);
        }
        super::flows::first(&request, follow.first.unwrap_or_default());
    }
    let finished = pipeline::run(&request, &mut |_, _| {})?;
    super::warn(&render::warnings(&finished.report), err);
    super::warn(&finished.warnings, err);
    notes.extend(finished.notes);
    let status = Status::of(&finished.report.findings);
    let now = finished
        .report
        .collected_at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut report = CheckReport {
        summary: finished.report,
        context: finished.context,
        status,
        notes,
        warn: request.config.warn.clone(),
        crit: request.config.crit.clone(),
        finding_ids: all_ids().collect(),
        notice: Notice::Report,
    };
    if let Some(path) = &job.textfile {
        let mut text = Vec::new();
        render::check::write(&report, Format::Prometheus, &output.style, &mut text)?;
        file::write_atomic(path, &text, Mode::Shared)?;
    }
    let mut memory = finished.memory;
    let mut unsaid = None;
    if let Some(next) = &mut memory {
        next.last_status = status.word().to_string();
        let before = next.notified_status.clone();
        let before_at = next.notified_at;
        let speak = notify(next, status, now, job.renotify);
        report.notice = match before.clone() {
            _ if !speak => Notice::Quiet,
            Some(previous) if status == Status::Ok => Notice::Recovered(previous),
            _ => Notice::Report,
        };
        if (next.notified_status.clone(), next.notified_at) != (before.clone(), before_at) {
            let mut without = next.clone();
            (without.notified_status, without.notified_at) = (before, before_at);
            unsaid = Some(without);
        }
    }
    // Saved before anything is printed: a failure to save is UNKNOWN, and must be the only
    // status line a monitoring system reads. What this run tells is not in it yet…
    if let (Some((file, _)), Some(next)) = (&state, &memory) {
        file.save(unsaid.as_ref().unwrap_or(next))?;
    }
    render::check::write(&report, output.format, &output.style, out)?;
    out.flush()?;
    // …only once it reached its reader (a full disk, a closed pipe: the next run says it
    // again, instead of keeping quiet for a renotify period about an alert nobody got).
    if let (Some((file, _)), Some(next), Some(_)) = (&state, &memory, &unsaid)
        && let Err(e) = file.save(next)
    {
        let _ = writeln!(
            err,
            "sockscope: warning: {e}; this alert will be said again"
        );
    }
    Ok(status)
}
