//! The diagnostics layer: pure rules over what was observed, each turning numbers into a
//! finding an operator can act on. Rules never read the system; owners come in already looked
//! up (and only for the sockets of findings that fired).
//!
//! The catalog is `shared/reference/diagnostics.md` §2; ids are stable once shipped, and
//! [`all_ids`] is the one list the README table, the config, Prometheus and the state file use.

pub mod catalog;
pub mod observe;
pub mod ranges;
pub mod rule;
pub mod rules;
pub mod steps;
pub mod thresholds;

use std::collections::BTreeSet;

use crate::model::KernelContext;
use crate::report::{Finding, Owners};
use observe::Observations;
pub use rules::culprits::holders;
use thresholds::Thresholds;

/// Whether processes were looked up for the findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processes {
    /// Not yet: the first pass, which decides which sockets to look up.
    Pending,
    LookedUp,
    /// `--no-processes`.
    Skipped,
}

/// Everything a rule may look at.
pub struct Input<'a> {
    pub obs: &'a Observations,
    pub ctx: &'a KernelContext,
    pub owners: Option<&'a Owners>,
    pub processes: Processes,
}

/// What one rule concluded.
#[derive(Debug, Clone)]
pub enum Outcome {
    Fired(Finding),
    Quiet,
    /// The rule lacks an input (a missing file or sysctl): it says which, and does not fire.
    Skipped(String),
    /// Quiet, but judged on a weaker input than it needs: it says what it may have missed.
    Limited(String),
}

/// The rules that compare two collections (`check --state-file`, `serve`, `watch`).
pub const TWO_RUN_IDS: &[&str] = &[
    "listen_overflows",
    "syn_queue_overflow",
    "syncookies_sent",
    "time_wait_overflow",
    "tcp_memory_aborts",
    "retransmission_rate",
    "resets_spike",
    "close_wait_growing",
    "close_wait_stuck",
    "fin_wait2_stuck",
    "accept_queue_stalled",
];

/// The findings of the operator's own state ranges (`--warn`, `--crit`, `[states]`).
pub const STATE_COUNT_ID: &str = "state_count";

/// Every finding id there is, in catalog order: the README table, the config, Prometheus and
/// the state file use this list.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    rules::ALL
        .iter()
        .map(|r| r.id())
        .chain(TWO_RUN_IDS.iter().copied())
        .chain([STATE_COUNT_ID])
}

/// The thresholds, and the rules the operator switched off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub thresholds: Thresholds,
    /// Rule ids from `[rules.ID] enabled = false`.
    pub disabled: BTreeSet<String>,
}

impl Settings {
    pub fn enabled(&self, id: &str) -> bool {
        !self.disabled.contains(id)
    }

    /// How many single-collection rules run.
    pub fn rules_enabled(&self) -> usize {
        rules::ALL
            .iter()
            .filter(|r| r.judges_once() && self.enabled(r.id()))
            .count()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Most severe first, then in catalog order.
    pub findings: Vec<Finding>,
    /// Rules that could not run: (id, why).
    pub skipped: Vec<(&'static str, String)>,
    /// Rules that ran on a weaker input and may have missed something: (id, what).
    pub limited: Vec<(&'static str, String)>,
}

/// Runs every enabled rule that judges one collection.
pub fn diagnose(input: &Input, settings: &Settings) -> Verdict {
    let mut d = Verdict::default();
    for rule in rules::ALL {
        if !settings.enabled(rule.id()) {
            continue;
        }
        match rule.judge_once(input, &settings.thresholds) {
            Some(Outcome::Fired(f)) => d.findings.push(f),
            Some(Outcome::Quiet) | None => {}
            Some(Outcome::Skipped(why)) => d.skipped.push((rule.id(), why)),
            Some(Outcome::Limited(what)) => d.limited.push((rule.id(), what)),
        }
    }
    // Stable: equal severities keep catalog order.
    d.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    d
}

/// The sockets whose holders the findings want named.
pub fn wanted_inodes(findings: &[Finding]) -> std::collections::HashSet<u64> {
    findings
        .iter()
        .flat_map(|f| f.inodes.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_is_listed_once() {
        let ids: Vec<&str> = all_ids().collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "{ids:?}");
    }

    #[test]
    fn an_empty_machine_is_quiet() {
        let ctx = KernelContext::default();
        let obs = Observations::new(&Thresholds::default(), &ctx);
        let s = Input {
            obs: &obs,
            ctx: &ctx,
            owners: None,
            processes: Processes::Pending,
        };
        let d = diagnose(&s, &Settings::default());
        assert!(d.findings.is_empty(), "{:?}", d.findings);
    }
}
