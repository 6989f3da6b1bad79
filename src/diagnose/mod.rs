//! The diagnostics layer: pure rules over what was observed, each turning numbers into a
//! finding an operator can act on. Rules never read the system; owners come in already looked
//! up (and only for the sockets of findings that fired).
//!
//! A rule is one entry ([`rule::RuleDef`], one file each under `rules/`): id, documentation,
//! thresholds and their defaults, config key, function, facts and their wording. Single-run
//! rules, two-run rules ([`judge_runs`], over the views in [`runs`]) and the operator's ranges
//! ([`ranges`]) alike; `rules::ALL` lists them in the catalog's order
//! (`shared/reference/diagnostics.md` §2). Ids are stable once shipped, and [`all_ids`] is the
//! one list the README table, the config, Prometheus and the state file use.

pub mod catalog;
pub mod evidence;
pub mod flows;
pub mod observe;
pub mod ranges;
pub mod rule;
pub mod rules;
pub mod runs;
pub mod steps;
pub mod thresholds;

use std::collections::BTreeSet;

use crate::model::KernelContext;
use crate::report::{Finding, Owners};
use observe::{Limits, Observations};
use runs::{Interval, Runs};
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
    /// What the run read behind the findings (ages, threads, peers), in the pass after the
    /// owners are known; `None` before.
    pub evidence: Option<&'a evidence::EvidenceSet>,
    /// The namespace's destroy events since the previous run, when they are followed
    /// (`watch`, `serve`, `--follow`): the rules about rates judge only then.
    pub flows: Option<flows::Followed<'a>>,
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

/// Every finding id there is, in catalog order: the README table, the config, Prometheus and
/// the state file use this list.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    rules::ALL.iter().map(|r| r.id())
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

    /// How many rules judge the destroy events, when they are followed.
    pub fn followed_rules_enabled(&self) -> usize {
        rules::ALL
            .iter()
            .filter(|r| r.judges_followed() && self.enabled(r.id()))
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

impl Limits {
    /// What the rules' thresholds ask to be gathered while streaming.
    pub fn of(thresholds: &Thresholds) -> Limits {
        let tx = rules::tx_backlog::RULE.thresholds(thresholds);
        Limits {
            syn_sent_min_retransmits: rules::syn_sent_stuck::RULE
                .thresholds(thresholds)
                .min_retransmits,
            rx_warn_bytes: rules::rx_backlog::RULE.thresholds(thresholds).warn_bytes,
            tx_warn_retransmits: tx.warn_retransmits,
            tx_warn_zero_window_bytes: tx.warn_zero_window_bytes,
        }
    }
}

impl Default for Limits {
    /// As the shipped thresholds ask.
    fn default() -> Limits {
        Limits::of(&Thresholds::default())
    }
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
    // In catalog order: the pipeline sorts the run's findings by severity, once.
    d
}

/// Runs every rule that compares two runs: those over the remembered sockets, then, when the
/// interval between the runs can be trusted, those over it. Every rule runs (what the counters
/// say of a reset is noted whichever rules are on); the findings of disabled ones are dropped.
pub fn judge_runs(runs: &Runs, interval: Option<&Interval>, settings: &Settings) -> Vec<Finding> {
    let remembered = rules::ALL.iter().filter_map(|r| r.judge_remembered(runs));
    let mut outcomes: Vec<Outcome> = remembered.collect();
    if let Some(interval) = interval {
        outcomes.extend(
            rules::ALL
                .iter()
                .filter_map(|r| r.judge_interval(runs, interval)),
        );
    }
    let findings: Vec<Finding> = outcomes
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Fired(f) => Some(f),
            _ => None,
        })
        .filter(|f| settings.enabled(f.id))
        .collect();
    // In catalog order, remembered sockets first: the pipeline sorts the run's findings by
    // severity, once.
    findings
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
        let obs = Observations::new(crate::diagnose::observe::Limits::default(), &ctx);
        let s = Input {
            obs: &obs,
            ctx: &ctx,
            owners: None,
            processes: Processes::Pending,
            evidence: None,
            flows: None,
        };
        let d = diagnose(&s, &Settings::default());
        assert!(d.findings.is_empty(), "{:?}", d.findings);
    }
}
