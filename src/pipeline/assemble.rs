//! Puts the namespaces' passes together: one namespace as the classic report; a sweep as the
//! host-wide total with every namespace's own report beside it and its findings tagged.

use std::cmp::Reverse;
use std::time::SystemTime;

use super::{Analysis, Part, Plan, Scope};
use crate::collect::SKIPPED_DETAILS;
use crate::diagnose::Settings;
use crate::diagnose::observe::Observations;
use crate::model::Tally;
use crate::report::{Attribution, Checks, Collection, NamespaceReport, SummaryReport, Sweep};

#[allow(clippy::too_many_arguments)]
pub(super) fn assemble(
    scope: &Scope,
    plan: &Plan,
    settings: &Settings,
    mut parts: Vec<Part>,
    mut sweep: Sweep,
    attribution: Option<Attribution>,
    collected_at: SystemTime,
) -> Analysis {
    let checks = |part: Option<&Part>| Checks {
        ran: plan.diagnose,
        rules: settings.rules_enabled(),
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
        };
        return Analysis {
            report,
            context: part.context,
            observations: part.obs,
            comparison: part.compared,
            namespace_observations: Vec::new(),
            owners: None,
        };
    }
    let mut tally = Tally::default();
    let mut findings = Vec::new();
    let mut collection = aggregate_collection(scope, &parts);
    for part in &parts {
        tally.merge(&part.tally);
    }
    let mut all_checks = checks(parts.first());
    all_checks.attribution = attribution;
    let mut context = crate::model::KernelContext::default();
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
        let name = label.name();
        let mut own = part.verdict.findings;
        for f in &mut own {
            f.namespace = Some(name.clone());
        }
        findings.extend(own.iter().cloned());
        sweep.namespaces.push(NamespaceReport {
            label,
            report: SummaryReport {
                collected_at,
                tally: part.tally,
                filter: filter.clone(),
                findings: own,
                checks: checks(None),
                collection: part.collection,
                sweep: None,
            },
        });
    }
    collection.netns = None;
    findings.sort_by_key(|f| Reverse(f.severity));
    sweep.sort();
    let observations = Observations::new(&settings.thresholds, &context);
    let report = SummaryReport {
        collected_at,
        tally,
        filter,
        findings,
        checks: all_checks,
        collection,
        sweep: Some(Box::new(sweep)),
    };
    Analysis {
        report,
        context,
        observations,
        comparison,
        namespace_observations,
        owners: None,
    }
}

/// The host-wide collection: one source word (or `mixed`), the sums, the first skipped lines.
fn aggregate_collection(scope: &Scope, parts: &[Part]) -> Collection {
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
        proc_root: scope.source.root().to_path_buf(),
        pid: None,
        netns: None,
        files: Vec::new(),
        duration,
        sockets_seen: 0,
        states_filtered_in_kernel: parts.iter().any(|p| p.collection.states_filtered_in_kernel),
        skipped_lines: 0,
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
        let room = SKIPPED_DETAILS.saturating_sub(c.skipped.len());
        c.skipped
            .extend(p.collection.skipped.iter().take(room).cloned());
    }
    c
}
