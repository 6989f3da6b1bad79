//! `sockscope check`: the alerting front end. Runs the pipeline with every rule, the operator's
//! state ranges and, with a state file, the two-run rules; turns the findings into a
//! monitoring-plugins status. It must never fail in a way a monitoring system could read as
//! CRITICAL: every failure to measure is UNKNOWN (exit 3).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::alert::file::{self, Mode};
use crate::alert::renotify::{notify, said};
use crate::alert::state::{Previous, Saved, StateFile};
use crate::cli::{CheckJob, Output};
use crate::diagnose::all_ids;
use crate::error::Error;
use crate::model::{StateSet, TcpState};
use crate::pipeline::{self, Finished, History, Request};
use crate::render::{self, Format, Style};
use crate::report::{CheckReport, Notice, PortCount, PortRanges, Status, SummaryReport, Unknown};

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
        Err(e) => unknown(output.format, job.textfile.as_deref(), &e, out),
    }
}

/// A failure to measure, said the way the chosen format's reader expects; exits UNKNOWN. The
/// `--textfile` gets it too (status 3, `sockscope_up 0`, why), or node_exporter would keep
/// serving the last run's status; a textfile that cannot be written is said as well.
pub fn unknown(
    format: Format,
    textfile: Option<&Path>,
    e: &Error,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let mut report = Unknown {
        message: e.to_string(),
    };
    // When writing the textfile was what failed, trying again would only say it twice.
    let failed_here = matches!(e, Error::Write { path, .. } if Some(path.as_path()) == textfile);
    if let Some(path) = textfile.filter(|_| !failed_here) {
        let mut text = Vec::new();
        render::unknown::write(&report, Format::Prometheus, &Style::default(), &mut text)?;
        if let Err(also) = file::write_atomic(path, &text, Mode::Shared) {
            report.message.push_str(&format!("\nalso {also}"));
        }
    }
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
    let mut request: Request = job.request.clone();
    // `--follow` waits its period before the measurement; -t bounds the measurement only.
    let mut unfollowed = None;
    if let Some(follow) = &job.follow {
        unfollowed = super::flows::start(&mut request, follow)?;
        super::flows::first(&request, follow.first.unwrap_or_default());
    }
    let started = Instant::now();
    // The owner walk stops at three quarters of the time: the rest finishes the report with
    // what it found.
    request.plan.walk_deadline = job.timeout.map(|limit| started + limit * 3 / 4);
    let state_file = job.state_file.clone();
    let stuck_after = job.stuck_after;
    let work = move || measure(request, state_file.as_deref(), stuck_after);
    let Measured {
        state,
        unusable,
        request,
        finished,
        on_ports,
    } = match job.timeout {
        Some(limit) => within(limit, started, work)?,
        None => work()?,
    };
    let mut notes = Vec::new();
    if let Some(why) = unusable {
        // Said on stderr too: cron mails it even when the check itself is OK.
        let _ = writeln!(err, "sockscope: warning: {why}");
        notes.push(why);
    }
    if let Some(why) = unfollowed {
        let _ = writeln!(err, "sockscope: warning: {why}");
        notes.push(why);
    }
    super::warn(&render::warnings(&finished.report), err);
    super::warn(&finished.warnings, err);
    notes.extend(finished.notes);
    // Root can read every namespace: one it could not is a fault. An ordinary user cannot
    // read other users' namespaces by design; the ones it skipped are said, not judged.
    let max_unread = job
        .max_unread
        .or_else(|| rustix::process::geteuid().is_root().then_some(0));
    let status = Status::of(&finished.report.findings);
    let now = finished
        .report
        .collected_at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let measured = request.scope.filter.states.unwrap_or(StateSet::ALL);
    let ports = port_counts(&request.config.ports, measured, &finished.report, &on_ports);
    let mut report = CheckReport {
        summary: finished.report,
        context: finished.context,
        status,
        notes,
        warn: request.config.warn.clone(),
        crit: request.config.crit.clone(),
        measured,
        ports,
        max_unread,
        finding_ids: all_ids().collect(),
        notice: Notice::Report,
    };
    if report.too_many_unread() {
        report.status = status.or_unknown();
    }
    let status = report.status;
    if let Some(path) = &job.textfile {
        let mut text = Vec::new();
        render::check::write(&report, Format::Prometheus, &output.style, &mut text)?;
        file::write_atomic(path, &text, Mode::Shared)?;
    }
    #[cfg(feature = "serve")]
    if let Some(otlp) = &job.otlp {
        push(otlp, &report, &output.style)?;
    }
    let mut memory = finished.memory;
    let mut unsaid = None;
    if let Some(next) = &mut memory {
        next.last_status = status.word().to_string();
        let told = |s: &Saved| {
            (
                s.notified_status.clone(),
                s.notified_at,
                s.notified_findings.clone(),
            )
        };
        let before = told(next);
        let findings = said(&report.summary.findings);
        let speak = notify(next, status, &findings, now, job.renotify);
        report.notice = match before.0.clone() {
            _ if !speak => Notice::Quiet,
            Some(previous) if status == Status::Ok => Notice::Recovered(previous),
            _ => Notice::Report,
        };
        if told(next) != before {
            let mut without = next.clone();
            (
                without.notified_status,
                without.notified_at,
                without.notified_findings,
            ) = before;
            unsaid = Some(without);
        }
    }
    // Saved before anything is printed: a failure to save is UNKNOWN, and must be the only
    // status line a monitoring system reads. What this run tells is not in it yet…
    if let (Some(file), Some(next)) = (&state, &memory) {
        file.save(unsaid.as_ref().unwrap_or(next))?;
    }
    render::check::write(&report, output.format, &output.style, out)?;
    out.flush()?;
    // …only once it reached its reader (a full disk, a closed pipe: the next run says it
    // again, instead of keeping quiet for a renotify period about an alert nobody got).
    if let (Some(file), Some(next), Some(_)) = (&state, &memory, &unsaid)
        && let Err(e) = file.save(next)
    {
        let _ = writeln!(
            err,
            "sockscope: warning: {e}; this alert will be said again"
        );
    }
    Ok(status)
}

/// Pushes the check's series (what --textfile writes) as OTLP; a failed push is an error, so
/// UNKNOWN: the run could not report.
#[cfg(feature = "serve")]
fn push(otlp: &crate::cli::Otlp, report: &CheckReport, style: &Style) -> Result<(), Error> {
    use crate::serve::otlp::{self, Pusher};
    let mut text = Vec::new();
    render::check::write(report, Format::Prometheus, style, &mut text)?;
    let at = otlp::unix_nano(report.summary.collected_at);
    let times = crate::render::otlp::Times {
        // The counters count since boot; the run itself has no start of its own.
        start_unix_nano: at,
        unix_nano: at,
    };
    let pusher = Pusher::new(&otlp.url, std::time::Duration::from_secs(10));
    otlp::push_exposition(
        &pusher,
        &text,
        report.summary.sweep.as_deref(),
        &otlp::this_host(),
        times,
    )
    .map_err(Error::Push)
}

/// What measuring hands back: the state file (locked until dropped), the finished run and the
/// sockets on the ports with their own ranges.
struct Measured {
    state: Option<StateFile>,
    /// Why the state file could not be used (it is replaced).
    unusable: Option<String>,
    request: Request,
    finished: Finished,
    on_ports: HashMap<(Option<u64>, u16, TcpState), u64>,
}

/// Everything that reads the system: the state file, locked first (so a concurrent run waits
/// and then sees this run's state), then the pipeline.
fn measure(
    mut request: Request,
    state_file: Option<&Path>,
    stuck_after: Duration,
) -> Result<Measured, Error> {
    let (state, previous) = match state_file {
        Some(path) => {
            let (file, previous) = StateFile::open(path)?;
            (Some(file), Some(previous))
        }
        None => (None, None),
    };
    let mut unusable = None;
    request.plan.history = previous.map(|previous| History {
        previous: match previous {
            Previous::Found(saved) => Some(*saved),
            Previous::Missing => None,
            Previous::Unusable(why) => {
                unusable = Some(why);
                None
            }
        },
        stuck_after: stuck_after.as_secs(),
    });
    if crate::collect::injected("hang") {
        // Test-only: a measurement that does not end, for --timeout to cut short.
        std::thread::sleep(Duration::from_secs(60));
    }
    // The sockets on the ports with their own ranges, by namespace: their perfdata.
    let watched = request.config.watched_ports();
    let mut on_ports: HashMap<(Option<u64>, u16, TcpState), u64> = HashMap::new();
    let finished = pipeline::run(&request, &mut |label, socket| {
        let port = socket.local.port();
        if watched.contains(&port) {
            *on_ports
                .entry((label.map(|l| l.inode), port, socket.state))
                .or_default() += 1;
        }
    })?;
    Ok(Measured {
        state,
        unusable,
        request,
        finished,
        on_ports,
    })
}

/// `work` on a thread of its own, awaited until `limit` after `started`; past that the check
/// is UNKNOWN at once, and the thread (in a read that did not return) ends with the process.
/// With no thread to spare (a low `ulimit -u`), `work` runs here, bounded by the owner walk's
/// deadline only.
fn within<T: Send + 'static>(
    limit: Duration,
    started: Instant,
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let work = Arc::new(Mutex::new(Some(work)));
    let theirs = Arc::clone(&work);
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("check".into())
        .spawn(move || {
            let work = theirs.lock().ok().and_then(|mut w| w.take());
            if let Some(work) = work {
                let _ = tx.send(work());
            }
        });
    let thread = match spawned {
        Ok(thread) => thread,
        Err(_) => {
            let work = work.lock().ok().and_then(|mut w| w.take());
            return match work {
                Some(work) => work(),
                None => Err(Error::Timeout(format_duration(limit))),
            };
        }
    };
    match rx.recv_timeout(limit.saturating_sub(started.elapsed())) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(Error::Timeout(format_duration(limit))),
        // It panicked: the panic goes on here, as if it had happened on this thread.
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => Err(Error::Timeout(format_duration(limit))),
        },
    }
}

/// `200ms`, `10s`: as the option was given.
fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Each `[ports.N]` range's count: the sockets of its states on its port, over the namespaces
/// the report holds (one an error cut short counts for nothing, as in the report); `None`
/// where `--state` left all its states out.
fn port_counts(
    ports: &[PortRanges],
    measured: StateSet,
    report: &SummaryReport,
    seen: &HashMap<(Option<u64>, u16, TcpState), u64>,
) -> Vec<PortCount> {
    let read = |netns: Option<u64>| match (&report.sweep, netns) {
        (Some(sweep), Some(inode)) => sweep.namespaces.iter().any(|n| n.label.inode == inode),
        (None, _) => true,
        (Some(_), None) => false,
    };
    ports
        .iter()
        .filter_map(|p| {
            let states = p.warn.as_ref().or(p.crit.as_ref())?.states;
            let count = (states.without(measured) != states).then(|| {
                seen.iter()
                    .filter(|((netns, port, state), _)| {
                        *port == p.port && states.contains(*state) && read(*netns)
                    })
                    .map(|(_, n)| n)
                    .sum()
            });
            Some(PortCount {
                ranges: p.clone(),
                count,
            })
        })
        .collect()
}
