//! `sockscope check`: the alerting front end. Runs the pipeline with every rule, the operator's
//! state ranges and, with a state file, the two-run rules; turns the findings into a
//! monitoring-plugins status. It must never fail in a way a monitoring system could read as
//! CRITICAL: every failure to measure is UNKNOWN (exit 3).

use std::io::Write;

use crate::alert::config;
use crate::alert::file::{self, Mode};
use crate::alert::renotify::notify;
use crate::alert::state::{Previous, StateFile};
use crate::cli::{CheckArgs, CheckFormat, SharedArgs};
use crate::diagnose::{all_ids, ranges};
use crate::error::Error;
use crate::pipeline::{self, History, Plan};
use crate::render;
use crate::report::{CheckReport, Status};

/// Runs the check; returns the status to exit with. Errors are the caller's to turn into
/// UNKNOWN with [`report_unknown`].
pub fn run(
    shared: &SharedArgs,
    args: &CheckArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, Error> {
    let format = shared.check_format()?;
    // Nagios plugins keep stderr empty: warnings go into the long text instead.
    let mut sink = std::io::sink();
    let err: &mut dyn Write = if format == CheckFormat::Nagios {
        &mut sink
    } else {
        err
    };
    let scope = shared.scope();
    let mut config = config::load(shared.config.as_deref())?;
    config.override_with(&args.warn, &args.crit);
    // Taken before collecting, so a concurrent run waits and then sees this run's state.
    let state = match &args.state_file {
        Some(path) => Some(StateFile::open(path)?),
        None => None,
    };
    let mut notes = Vec::new();
    let history = state.as_ref().map(|(_, previous)| History {
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
        stuck_after: args.stuck_after.as_secs(),
    });
    let plan = Plan {
        diagnose: true,
        watch_ports: config.watched_ports(),
        // Inodes name the holders, and the state file follows them across runs.
        keep_inodes: !scope.no_processes || state.is_some(),
        history,
        // Mostly run from cron on healthy machines: walk only when a finding asks.
        walk_beside: false,
    };
    let analysis = pipeline::analyse(&scope, &plan, &config.settings, &mut |_| {}, err)?;
    let mut summary = analysis.report;
    summary.findings.extend(ranges::state_findings(
        &summary.tally,
        &analysis.observations,
        &config.warn,
        &config.crit,
        &config.ports,
    ));
    if summary.collection.skipped_lines > 0 {
        notes.push(format!(
            "{} malformed lines in the socket tables were skipped (see --format json)",
            summary.collection.skipped_lines
        ));
    }
    let mut next = None;
    if let Some(mut comparison) = analysis.comparison {
        notes.append(&mut comparison.notes);
        summary.findings.append(&mut comparison.findings);
        let mut saved = comparison.next;
        if let Some(p) = plan.history.as_ref().and_then(|h| h.previous.as_ref()) {
            saved.notified_status = p.notified_status.clone();
            saved.notified_at = p.notified_at;
        }
        next = Some(saved);
    }
    summary
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    let status = Status::of(&summary.findings);
    let now = summary
        .collected_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let report = CheckReport {
        summary,
        context: analysis.context,
        status,
        notes,
        warn: config.warn,
        crit: config.crit,
        finding_ids: all_ids().collect(),
    };
    if let Some(path) = &args.textfile {
        let mut text = Vec::new();
        render::prometheus::render(&report, &mut text)?;
        file::write_atomic(path, &text, Mode::Shared)?;
    }
    let mut print_text = true;
    let mut recovered_from = None;
    if let Some(next) = &mut next {
        next.last_status = status.word().to_string();
        let before = next.notified_status.clone();
        print_text = notify(next, status, now, args.renotify);
        if status == Status::Ok && print_text {
            recovered_from = before;
        }
    }
    // Saved before anything is printed: a failure to save is UNKNOWN, and must be the only
    // status line a monitoring system reads.
    if let (Some((file, _)), Some(next)) = (&state, &next) {
        file.save(next)?;
    }
    match format {
        CheckFormat::Text if !print_text => {}
        CheckFormat::Text => match &recovered_from {
            Some(previous) => render::check::recovered(previous, out)?,
            None => render::check::text(&report, out)?,
        },
        CheckFormat::Nagios => render::check::nagios(&report, out)?,
        CheckFormat::Json => render::json::render_check(&report, out)?,
        CheckFormat::Prometheus => render::prometheus::render(&report, out)?,
    }
    Ok(status)
}

/// A failure to measure, said the way the chosen format's reader expects; the status is UNKNOWN.
pub fn report_unknown(
    format: CheckFormat,
    message: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        CheckFormat::Json => render::json::render_unknown(message, out),
        CheckFormat::Prometheus => render::prometheus::render_unknown(out),
        CheckFormat::Text | CheckFormat::Nagios => render::check::unknown(message, out),
    }
}
