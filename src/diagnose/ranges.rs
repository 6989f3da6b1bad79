//! The operator's own ranges for state counts (`--warn`, `--crit`, `[states]`, `[ports.N]`):
//! a finding for each count outside its range. Sockets on a port with its own ranges are
//! judged there, not in the global count.

use std::collections::BTreeSet;

use serde_json::json;

use super::STATE_COUNT_ID;
use super::observe::Observations;
use crate::model::{StateSet, Tally};
use crate::report::{Finding, PortRanges, Range, Severity, StateRange};

fn judge(count: u64, w: Option<Range>, c: Option<Range>) -> Option<(Severity, Range)> {
    match (c, w) {
        (Some(c), _) if c.alerts(count as f64) => Some((Severity::Critical, c)),
        (_, Some(w)) if w.alerts(count as f64) => Some((Severity::Warning, w)),
        _ => None,
    }
}

struct Judged<'a> {
    label: String,
    states: StateSet,
    count: u64,
    warn: Option<Range>,
    crit: Option<Range>,
    /// `--state` argument(s) of the next step.
    arg: &'a str,
    port: Option<u16>,
}

fn finding(j: Judged, (severity, range): (Severity, Range)) -> Finding {
    let level = if severity == Severity::Critical {
        "critical"
    } else {
        "warning"
    };
    let Judged {
        label,
        states,
        count,
        warn,
        crit,
        arg,
        port,
    } = j;
    let names: Vec<&str> = states.states().map(|s| s.name()).collect();
    let next = match port {
        Some(p) => format!("sockscope top --by process --by peer --state {arg} --sport {p}"),
        None => format!("sockscope top --by process --by peer --state {arg}"),
    };
    Finding::new(
        STATE_COUNT_ID,
        severity,
        format!("{label}={count}, outside its {level} range {range}"),
        format!(
            "{count} socket{} in {}; the {level} range is {range}.",
            if count == 1 { "" } else { "s" },
            names.join("+"),
        ),
        json!({
            "state": label,
            "count": count,
            "warn": warn.map(|r| r.to_string()),
            "crit": crit.map(|r| r.to_string()),
        }),
        vec![],
        vec![next],
        vec![],
        vec![],
    )
}

/// Findings for the state counts outside their ranges.
pub fn state_findings(
    tally: &Tally,
    obs: &Observations,
    warn: &[StateRange],
    crit: &[StateRange],
    ports: &[PortRanges],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen = BTreeSet::new();
    let port_count = |port: u16, states: StateSet| -> u64 {
        states
            .states()
            .map(|s| obs.port_states.get(&(port, s)).copied().unwrap_or(0))
            .sum()
    };
    let range_of = |specs: &[StateRange], label: &str| {
        specs.iter().find(|r| r.label() == label).map(|r| r.range)
    };
    for spec in warn.iter().chain(crit) {
        let label = spec.label();
        if !seen.insert(label.clone()) {
            continue;
        }
        let mut count: u64 = spec.states.states().map(|s| tally.state_total(s)).sum();
        for p in ports {
            let theirs = p.warn.as_ref().or(p.crit.as_ref());
            if theirs.is_some_and(|r| r.label() == label) {
                count = count.saturating_sub(port_count(p.port, spec.states));
            }
        }
        let (w, c) = (range_of(warn, &label), range_of(crit, &label));
        if let Some(verdict) = judge(count, w, c) {
            let judged = Judged {
                label,
                states: spec.states,
                count,
                warn: w,
                crit: c,
                arg: &spec.name,
                port: None,
            };
            findings.push(finding(judged, verdict));
        }
    }
    for p in ports {
        let Some(spec) = p.warn.as_ref().or(p.crit.as_ref()) else {
            continue;
        };
        let count = port_count(p.port, spec.states);
        let (w, c) = (
            p.warn.as_ref().map(|r| r.range),
            p.crit.as_ref().map(|r| r.range),
        );
        if let Some(verdict) = judge(count, w, c) {
            let judged = Judged {
                label: format!("{}_port_{}", spec.label(), p.port),
                states: spec.states,
                count,
                warn: w,
                crit: c,
                arg: &spec.name,
                port: Some(p.port),
            };
            findings.push(finding(judged, verdict));
        }
    }
    findings
}
