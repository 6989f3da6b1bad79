//! The last steps of a run, done once for every command: the operator's state ranges (each
//! namespace of a sweep on its own), the two-run comparison merged in, next steps rewritten to
//! run where each finding is, and the findings sorted, most severe first.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::assemble::Assembled;
use super::{Finished, Request};
use crate::diagnose::observe::Observations;
use crate::diagnose::ranges;
use crate::diagnose::steps::{self, Netns, Place};
use crate::model::Tally;
use crate::report::Finding;

/// `reach`: how a person enters each namespace of a sweep (by inode, in the order read: the
/// first is the one the two-run comparison is about); `None` for the host's.
pub(super) fn finish(
    request: &Request,
    assembled: Assembled,
    place: &Place,
    reach: &[(u64, Option<Netns>)],
) -> Finished {
    let Assembled {
        mut report,
        context,
        observations,
        namespace_observations,
        comparison,
    } = assembled;
    let mut range_notes = BTreeSet::new();
    let entering = |inode: u64| {
        let netns = reach
            .iter()
            .find(|(i, _)| *i == inode)
            .and_then(|(_, n)| n.clone());
        place.in_namespace(netns)
    };
    // The comparison is about the first namespace read (the host's, or the one chosen).
    let mut compared_in = (place.clone(), None);
    match report.sweep.as_deref_mut() {
        Some(sweep) => {
            for ns in &mut sweep.namespaces {
                if let Some((_, obs)) = namespace_observations
                    .iter()
                    .find(|(inode, _)| *inode == ns.label.inode)
                {
                    let r = &mut ns.report;
                    range_notes.extend(judge_ranges(request, &mut r.findings, &r.tally, obs));
                }
                let name = ns.label.name();
                for f in &mut ns.report.findings {
                    f.namespace = Some(name.clone());
                }
                let here = entering(ns.label.inode);
                steps::localize(&mut ns.report.findings, &here);
                if reach
                    .first()
                    .is_some_and(|(inode, _)| *inode == ns.label.inode)
                {
                    compared_in = (here, Some(name));
                }
                sort(&mut ns.report.findings);
            }
            // A sweep lists the namespaces with the worst findings first.
            sweep.sort();
            report.findings = sweep
                .namespaces
                .iter()
                .flat_map(|ns| ns.report.findings.iter().cloned())
                .collect();
        }
        None => {
            range_notes.extend(judge_ranges(
                request,
                &mut report.findings,
                &report.tally,
                &observations,
            ));
            steps::localize(&mut report.findings, place);
        }
    }
    let warnings: Vec<String> = range_notes.into_iter().collect();
    let mut notes = warnings.clone();
    let mut memory = None;
    if let Some(mut comparison) = comparison {
        let (here, name) = compared_in;
        for f in &mut comparison.findings {
            f.namespace = name.clone();
        }
        steps::localize(&mut comparison.findings, &here);
        report.findings.append(&mut comparison.findings);
        notes.append(&mut comparison.notes);
        let mut next = comparison.next;
        // Who was last told what is the alerting policy's to keep, across runs.
        if let Some(previous) = request
            .plan
            .history
            .as_ref()
            .and_then(|h| h.previous.as_ref())
        {
            next.notified_status = previous.notified_status.clone();
            next.notified_at = previous.notified_at;
            next.notified_findings = previous.notified_findings.clone();
        }
        memory = Some(next);
    }
    sort(&mut report.findings);
    Finished {
        report,
        context,
        notes,
        warnings,
        memory,
        owners: None,
        walk: None,
        ages: Vec::new(),
        local_ports: None,
        flow_windows: Vec::new(),
    }
}

/// The operator's ranges over one namespace's counts; notes about ranges that cannot be judged.
fn judge_ranges(
    request: &Request,
    findings: &mut Vec<Finding>,
    tally: &Tally,
    obs: &Observations,
) -> Vec<String> {
    if !request.plan.ranges {
        return Vec::new();
    }
    let config = &request.config;
    ranges::apply(
        findings,
        tally,
        obs,
        &config.warn,
        &config.crit,
        &config.ports,
        request.scope.filter.states,
    )
}

/// Most severe first; equal severities keep catalog order (the sort is stable).
fn sort(findings: &mut [Finding]) {
    findings.sort_by_key(|f| Reverse(f.severity));
}
