//! `sockscope check`: the alerting front end. Runs the collector and every rule, adds the
//! `--warn`/`--crit` state thresholds, and turns the findings into a monitoring-plugins status.
//! It must never fail in a way a monitoring system could read as CRITICAL: every failure to
//! measure is UNKNOWN (exit 3).

pub mod config;
pub mod history;
pub mod range;
pub mod state;

use std::io::Write;
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde_json::json;

use crate::cli::{CheckArgs, CheckFormat, StateRange};
use crate::collect::ProcSource;
use crate::collect::owners::find_owners;
use crate::commands::summary::{Analysis, Options, analyse};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::TcpState;
use crate::render;
use crate::report::{Finding, Report, Severity};
use range::Range;
use state::{Previous, Saved, StateFile};

/// The monitoring-plugins status; the discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Info findings do not change the status.
    pub fn of(findings: &[Finding]) -> Status {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Critical) => Status::Critical,
            Some(Severity::Warning) => Status::Warning,
            _ => Status::Ok,
        }
    }
}

/// The states a `--warn`/`--crit` value counts (one state, or a group such as `connected`).
fn states_of(spec: &StateRange) -> Vec<TcpState> {
    crate::filter::states_in(spec.state)
}

/// The label a state threshold goes by: `close_wait`, or the group name (`connected`).
pub fn label(spec: &StateRange) -> String {
    let states = states_of(spec);
    match states.as_slice() {
        [one] => one.name().to_lowercase(),
        _ => spec.state.to_possible_value_name().replace('-', "_"),
    }
}

fn judge(count: u64, w: Option<Range>, c: Option<Range>) -> Option<(Severity, Range)> {
    match (c, w) {
        (Some(c), _) if c.alerts(count as f64) => Some((Severity::Critical, c)),
        (_, Some(w)) if w.alerts(count as f64) => Some((Severity::Warning, w)),
        _ => None,
    }
}

fn state_finding(
    name: String,
    states: &[TcpState],
    count: u64,
    (severity, range): (Severity, Range),
    w: Option<Range>,
    c: Option<Range>,
    arg: &str,
) -> Finding {
    let level = if severity == Severity::Critical {
        "critical"
    } else {
        "warning"
    };
    Finding {
        id: "state_count",
        severity,
        title: format!("{name}={count}, outside its {level} range {range}"),
        summary: format!(
            "{count} socket{} in {}; the {level} range is {range}.",
            if count == 1 { "" } else { "s" },
            states
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join("+"),
        ),
        evidence: json!({
            "state": name,
            "count": count,
            "warn": w.map(|r| r.to_string()),
            "crit": c.map(|r| r.to_string()),
        }),
        causes: vec![],
        next_steps: vec![format!(
            "sockscope top --by process --by peer --state {arg}"
        )],
        culprits: vec![],
        inodes: vec![],
    }
}

/// Findings for the state counts outside their ranges. Sockets on a port with its own ranges
/// (config `[ports.N]`) are judged there, not in the global count.
pub fn state_findings(
    report: &Report,
    obs: &crate::diagnose::observe::Observations,
    warn: &[StateRange],
    crit: &[StateRange],
    ports: &[config::PortLevels],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let port_count = |port: u16, states: &[TcpState]| -> u64 {
        states
            .iter()
            .map(|&s| obs.port_states.get(&(port, s)).copied().unwrap_or(0))
            .sum()
    };
    for spec in warn.iter().chain(crit) {
        let name = label(spec);
        if !seen.insert(name.clone()) {
            continue;
        }
        let states = states_of(spec);
        let mut count: u64 = states.iter().map(|&s| report.tally.state_total(s)).sum();
        for p in ports {
            let theirs = p.warn.as_ref().or(p.crit.as_ref());
            if theirs.is_some_and(|r| label(r) == name) {
                count = count.saturating_sub(port_count(p.port, &states));
            }
        }
        let w = warn.iter().find(|r| label(r) == name).map(|r| r.range);
        let c = crit.iter().find(|r| label(r) == name).map(|r| r.range);
        if let Some(verdict) = judge(count, w, c) {
            findings.push(state_finding(
                name,
                &states,
                count,
                verdict,
                w,
                c,
                &spec.state.to_possible_value_name(),
            ));
        }
    }
    for p in ports {
        let Some(spec) = p.warn.as_ref().or(p.crit.as_ref()) else {
            continue;
        };
        let states = states_of(spec);
        let count = port_count(p.port, &states);
        let (w, c) = (
            p.warn.as_ref().map(|r| r.range),
            p.crit.as_ref().map(|r| r.range),
        );
        if let Some(verdict) = judge(count, w, c) {
            let name = format!("{}_port_{}", label(spec), p.port);
            findings.push(state_finding(
                name,
                &states,
                count,
                verdict,
                w,
                c,
                &format!("{} --sport {}", spec.state.to_possible_value_name(), p.port),
            ));
        }
    }
    findings
}

/// Runs the check; returns the status to exit with. Errors are the caller's to turn into
/// UNKNOWN.
pub fn run(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, Error> {
    // Nagios plugins keep stderr empty: warnings go into the long text instead.
    let mut sink = std::io::sink();
    let err: &mut dyn Write = if args.format == CheckFormat::Nagios {
        &mut sink
    } else {
        err
    };
    let filter = Filter::new(&args.filter);
    let source = ProcSource::from_args(&args.source);
    let mut config = config::load(args.config.as_deref())?;
    config.override_with(&args.warn, &args.crit);
    let thresholds = config.thresholds.clone();
    // Taken before collecting, so a concurrent run waits and then sees this run's state.
    let state = match &args.state_file {
        Some(path) => Some(StateFile::open(path)?),
        None => None,
    };
    let Analysis {
        mut report,
        context,
        observations,
        owners,
    } = analyse(
        &filter,
        &source,
        &thresholds,
        &Options {
            diagnose: true,
            no_processes: args.no_processes,
            watch_ports: config.watched_ports(),
            // Inodes name the holders, and the state file follows them across runs.
            keep_inodes: !args.no_processes || args.state_file.is_some(),
        },
        err,
    )?;
    let mut extra = state_findings(
        &report,
        &observations,
        &config.warn,
        &config.crit,
        &config.ports,
    );
    report.findings.append(&mut extra);

    let mut notes = Vec::new();
    if report.collection.skipped_lines > 0 {
        notes.push(format!(
            "{} malformed lines in the socket tables were skipped (see --format json)",
            report.collection.skipped_lines
        ));
    }
    let mut saved = None;
    if let Some((file, previous)) = &state {
        let prev = match previous {
            Previous::Found(saved) => Some(saved.as_ref()),
            Previous::Missing => None,
            Previous::Unusable(why) => {
                // Said on stderr too: cron mails it even when the check itself is OK.
                let _ = writeln!(err, "sockscope: warning: {why}");
                notes.push(why.clone());
                None
            }
        };
        let since_epoch = report
            .collected_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let now = since_epoch.as_secs();
        let boot_id = read_boot_id(source.root());
        let current = history::Current {
            now,
            now_ms: u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
            boot_id: boot_id.as_deref(),
            tally: &report.tally,
            counters: &context.counters,
            obs: &observations,
        };
        let stuck_after = args.stuck_after.as_secs();
        let mut comparison = history::compare(prev, &current, &thresholds, stuck_after, None);
        let wanted = crate::diagnose::wanted_inodes(&comparison.findings);
        if !wanted.is_empty() && !args.no_processes {
            // The diagnostics' lookup usually covers these already (stuck CLOSE_WAIT sockets are
            // the ones close_wait_excess looked up): walk /proc/*/fd again only if it did not.
            let walked;
            let usable = match &owners {
                Some((found, covered)) if wanted.is_subset(covered) => found,
                _ => {
                    walked = find_owners(source.root(), &wanted).map_err(|e| Error::Read {
                        path: source.root().to_path_buf(),
                        source: e,
                    })?;
                    &walked
                }
            };
            comparison = history::compare(prev, &current, &thresholds, stuck_after, Some(usable));
        }
        notes.extend(comparison.notes);
        report.findings.append(&mut comparison.findings);
        let mut next = comparison.next;
        if let Some(p) = prev {
            next.notified_status = p.notified_status.clone();
            next.notified_at = p.notified_at;
        }
        saved = Some((file, next, now));
    }
    report
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    let status = Status::of(&report.findings);
    let view = CheckView {
        report: &report,
        context: &context,
        status,
        warn: &config.warn,
        crit: &config.crit,
        notes: &notes,
    };
    if let Some(path) = &args.textfile {
        write_textfile(path, &view)?;
    }
    let mut print_text = true;
    let mut recovered_from = None;
    if let Some((_, next, now)) = &mut saved {
        next.last_status = status.word().to_string();
        let before = next.notified_status.clone();
        print_text = notify(next, status, *now, args.renotify);
        if status == Status::Ok && print_text {
            recovered_from = before;
        }
    }
    // Saved before anything is printed: a failure to save is UNKNOWN, and must be the only
    // status line a monitoring system reads.
    if let Some((file, next, _)) = &saved {
        file.save(next)?;
    }
    match args.format {
        CheckFormat::Text if !print_text => {}
        CheckFormat::Text => match &recovered_from {
            Some(previous) => render::check::recovered(previous, out)?,
            None => render::check::text(&view, out)?,
        },
        CheckFormat::Nagios => render::check::nagios(&view, out)?,
        CheckFormat::Json => render::json::render_with_status(&report, Some(status), &notes, out)?,
        CheckFormat::Prometheus => render::prometheus::render(&view, out)?,
    }
    Ok(status)
}

/// Whether text output should speak this time, updating what was last said. Without
/// `--renotify` every problem is printed; with it, an unchanged problem waits that long, and
/// the return to OK is printed once.
fn notify(
    next: &mut Saved,
    status: Status,
    now: u64,
    renotify: Option<std::time::Duration>,
) -> bool {
    let word = status.word();
    let before = next.notified_status.clone();
    let speak = match (status, before.as_deref(), renotify) {
        (Status::Ok, Some(prev), _) if prev != "OK" => true,
        (Status::Ok, _, _) => false,
        (_, _, None) => true,
        (_, Some(prev), Some(every)) if prev == word => next
            .notified_at
            .is_none_or(|at| now.saturating_sub(at) >= every.as_secs()),
        _ => true,
    };
    if speak || status == Status::Ok {
        next.notified_status = Some(word.to_string());
        if speak {
            next.notified_at = Some(now);
        }
    }
    speak
}

/// `/proc/sys/kernel/random/boot_id`: a new value means counters restarted from zero.
fn read_boot_id(root: &Path) -> Option<String> {
    std::fs::read_to_string(root.join("sys/kernel/random/boot_id"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// A failure to measure, said the way the chosen format's reader expects; the status is UNKNOWN.
pub fn report_unknown(
    format: CheckFormat,
    message: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        CheckFormat::Json => {
            let doc = json!({
                "schema_version": render::json::SCHEMA_VERSION,
                "status": "unknown",
                "exit_code": Status::Unknown.code(),
                "error": message,
            });
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::from)?;
            writeln!(out)
        }
        CheckFormat::Prometheus => {
            writeln!(
                out,
                "# HELP sockscope_status Overall status of the last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."
            )?;
            writeln!(out, "# TYPE sockscope_status gauge")?;
            writeln!(out, "sockscope_status {}", Status::Unknown.code())
        }
        CheckFormat::Text | CheckFormat::Nagios => writeln!(out, "SOCKSCOPE UNKNOWN - {message}"),
    }
}

/// Everything the check renderers need.
pub struct CheckView<'a> {
    pub report: &'a Report,
    /// State-file notes: first run, reboot, counter resets, a replaced file.
    pub notes: &'a [String],
    pub context: &'a crate::collect::context::KernelContext,
    pub status: Status,
    pub warn: &'a [StateRange],
    pub crit: &'a [StateRange],
}

/// Writes the Prometheus text to a temp file beside `path`, then renames it into place, so
/// node_exporter never reads half a file.
fn write_textfile(path: &Path, view: &CheckView) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let fail = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sockscope-")
        .suffix(".prom.tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    render::prometheus::render(view, tmp.as_file_mut()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
