//! The judging both `check` and `serve` do: the pipeline with every rule, the operator's state
//! ranges and, given an earlier run, the two-run rules, assembled into one [`CheckReport`]. It
//! never reads or writes a state file: `check` keeps the earlier run on disk, `serve` in memory.

use std::io::Write;

use crate::alert::config::Config;
use crate::alert::state::Saved;
use crate::diagnose::{all_ids, ranges};
use crate::error::Error;
use crate::model::Socket;
use crate::pipeline::{self, History, Plan, Scope};
use crate::report::{CheckReport, Status};

/// One judged run: the report, and what to remember for the next (with a history only).
pub struct Judged {
    pub report: CheckReport,
    pub next: Option<Saved>,
}

/// Runs the pipeline with the rules and ranges of `config`; `history` enables the two-run rules,
/// `notes` are carried into the report. `each` sees every matching socket as it streams by.
pub fn evaluate(
    scope: &Scope,
    config: &Config,
    history: Option<History>,
    mut notes: Vec<String>,
    each: &mut dyn FnMut(&Socket),
    err: &mut dyn Write,
) -> Result<Judged, Error> {
    let plan = Plan {
        diagnose: true,
        watch_ports: config.watched_ports(),
        // Inodes name the holders, and the history follows them across runs.
        keep_inodes: !scope.no_processes || history.is_some(),
        history,
        ..Plan::default()
    };
    let analysis = pipeline::analyse(scope, &plan, &config.settings, each, err)?;
    let mut summary = analysis.report;
    let mut range_notes = std::collections::BTreeSet::new();
    match summary.sweep.as_deref_mut() {
        // A sweep judges each namespace's counts against the ranges on its own: a pod with 300
        // CLOSE_WAIT alerts even when the host-wide total would hide where they are.
        Some(sweep) => {
            let mut all = Vec::new();
            for ns in &mut sweep.namespaces {
                if let Some((_, obs)) = analysis
                    .namespace_observations
                    .iter()
                    .find(|(inode, _)| *inode == ns.label.inode)
                {
                    range_notes.extend(ranges::apply(
                        &mut ns.report.findings,
                        &ns.report.tally,
                        obs,
                        &config.warn,
                        &config.crit,
                        &config.ports,
                        scope.filter.states,
                    ));
                }
                for f in &mut ns.report.findings {
                    f.namespace = Some(ns.label.name());
                }
                all.extend(ns.report.findings.iter().cloned());
            }
            sweep.sort();
            summary.findings = all;
        }
        None => range_notes.extend(ranges::apply(
            &mut summary.findings,
            &summary.tally,
            &analysis.observations,
            &config.warn,
            &config.crit,
            &config.ports,
            scope.filter.states,
        )),
    }
    for note in range_notes {
        // A range that cannot be judged is a configuration mistake: said even when all is OK.
        let _ = writeln!(err, "sockscope: warning: {note}");
        notes.push(note);
    }
    // The state_count findings are new here; the pipeline's are already localized (twice
    // changes nothing).
    let place = crate::diagnose::steps::Place::new(
        scope.source.root(),
        summary.collection.netns.is_some(),
        scope.source.pid(),
        rustix::process::geteuid().is_root(),
    );
    crate::diagnose::steps::localize(&mut summary.findings, &place);
    for (id, what) in &summary.checks.limited {
        notes.push(format!("{id}: {what}"));
    }
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
    let report = CheckReport {
        summary,
        context: analysis.context,
        status,
        notes,
        warn: config.warn.clone(),
        crit: config.crit.clone(),
        finding_ids: all_ids().collect(),
    };
    Ok(Judged { report, next })
}
