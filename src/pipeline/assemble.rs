//! Puts the namespaces' passes together: one namespace as the classic report; a sweep as the
//! host-wide total with every namespace's own report beside it.

use std::time::SystemTime;

use super::Request;
use super::pass::Part;
use crate::alert::history::Comparison;
use crate::collect::SKIPPED_DETAILS;
use crate::diagnose::observe::{Limits, Observations};
use crate::model::{KernelContext, Tally};
use crate::report::{Attribution, Checks, Collection, NamespaceReport, SummaryReport, Sweep};

/// The passes put together, before the run is finished (ranges, comparison, next steps).
pub(super) struct Assembled {
    pub report: SummaryReport,
    pub context: KernelContext,
    /// What the rules saw: the one namespace's; in a sweep each namespace's, by namespace
    /// inode (the state ranges judge each namespace on its own).
    pub observations: Observations,
    pub namespace_observations: Vec<(u64, Observations)>,
    /// The two-run comparison, with what to remember for the next run.
    pub comparison: Option<Comparison>,
}

/// One namespace as the classic report; a sweep as the host-wide total with every
/// namespace's own report beside it (its findings stay there until the run is finished).
pub(super) fn assemble(
    request: &Request,
    mut parts: Vec<Part>,
    mut sweep: Sweep,
    attribution: Option<Attribution>,
    collected_at: SystemTime,
) -> Assembled {
    let (scope, plan) = (&request.scope, &request.plan);
    let checks = |part: Option<&Part>| Checks {
        ran: plan.diagnose,
        rules: request.config.settings.rules_enabled(),
        processes_skipped: scope.no_processes,
        skipped: part.map(|p| p.verdict.skipped.clone()).unwrap_or_default(),
        limited: part.map(|p| p.verdict.limited.clone()).unwrap_or_default(),
        context_missing: part.map(|p| p.context.missing.clone()).unwrap_or_default(),
        attribution: None,
    };
    let filter = scope.filter.describe();
    if !scope.namespaces.sweeps()
        && parts.len() == 1
        && let Some(mut part) = parts.pop()
    {
        let mut c = checks(Some(&part));
        c.attribution = attribution;
        let report = SummaryReport {
            collected_at,
            tally: part.tally,
            filter,
            findings: std::mem::take(&mut part.verdict.findings),
            checks: c,
            collection: part.collection,
            sweep: None,
            flows: None,
        };
        return Assembled {
            report,
            context: part.context,
            observations: part.obs,
            namespace_observations: Vec::new(),
            comparison: part.compared,
        };
    }
    let mut tally = Tally::default();
    let mut collection = aggregate_collection(request, &parts);
    for part in &parts {
        tally.merge(&part.tally);
    }
    let mut all_checks = checks(parts.first());
    all_checks.attribution = attribution;
    let mut context = KernelContext::default();
    let mut comparison = None;
    let mut namespace_observations = Vec::with_capacity(parts.len());
    for (i, mut part) in parts.into_iter().enumerate() {
        if i == 0 {
            context = part.context.clone();
            comparison = part.compared.take();
        }
        let Some(label) = part.label.clone() else {
            continue;
        };
        namespace_observations.push((label.inode, part.obs));
        sweep.namespaces.push(NamespaceReport {
            label,
            report: SummaryReport {
                collected_at,
                tally: part.tally,
                filter: filter.clone(),
                findings: part.verdict.findings,
                checks: checks(None),
                collection: part.collection,
                sweep: None,
                flows: None,
            },
        });
    }
    collection.netns = None;
    let limits = Limits::of(&request.config.settings.thresholds);
    let observations = Observations::new(limits, &context);
    let report = SummaryReport {
        collected_at,
        tally,
        filter,
        findings: Vec::new(),
        checks: all_checks,
        collection,
        sweep: Some(Box::new(sweep)),
        flows: None,
    };
    Assembled {
        report,
        context,
        observations,
        namespace_observations,
        comparison,
    }
}

/// The host-wide collection: one source word (or `mixed`), the sums, the first skipped lines.
fn aggregate_collection(request: &Request, parts: &[Part]) -> Collection {
    // The reading only, as for one namespace: naming and the owner walk are not in it.
    let duration = parts.iter().map(|p| p.collection.duration).sum();
    let mut sources: Vec<&'static str> = parts.iter().map(|p| p.collection.source).collect();
    sources.dedup();
    let source = match sources.as_slice() {
        [one] => one,
        [] => "netlink",
        _ => "mixed",
    };
    let mut c = Collection {
        source,
        proc_root: request.scope.source.root().to_path_buf(),
        pid: None,
        netns: None,
        files: Vec::new(),
        duration,
        sockets_seen: 0,
        states_filtered_in_kernel: parts.iter().any(|p| p.collection.states_filtered_in_kernel),
        skipped_lines: 0,
        repeated_lines: 0,
        skipped: Vec::new(),
        clock_ticks: parts.first().map_or(100, |p| p.collection.clock_ticks),
        source_reason: Some(format!(
            "{} network namespaces (how each was read: namespaces[].collection)",
            parts.len()
        )),
    };
    for p in parts {
        c.sockets_seen += p.collection.sockets_seen;
        c.skipped_lines += p.collection.skipped_lines;
        c.repeated_lines += p.collection.repeated_lines;
        let room = SKIPPED_DETAILS.saturating_sub(c.skipped.len());
        c.skipped
            .extend(p.collection.skipped.iter().take(room).cloned());
    }
    c
}
