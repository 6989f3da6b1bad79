//! The diagnostics layer: pure rules over what was observed, each turning numbers into a
//! finding an operator can act on. Rules never read the system; owners come in already looked
//! up (and only for the sockets of findings that fired).
//!
//! The catalog is `shared/reference/diagnostics.md` §2; ids are stable once shipped, and
//! [`all_ids`] is the one list the README table, the config, Prometheus and the state file use.

pub mod catalog;
pub mod observe;
pub mod ranges;
mod rules;
pub mod steps;
pub mod thresholds;

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use crate::model::KernelContext;
use crate::report::{Culprit, Finding, Owners};
use observe::Observations;
use thresholds::Thresholds;

/// How many culprits of each kind a finding names.
pub const TOP_CULPRITS: usize = 5;

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

type Rule = fn(&Input, &Thresholds) -> Outcome;

/// Every rule that judges one collection, by id, in catalog order.
pub const RULES: &[(&str, Rule)] = &[
    ("close_wait_excess", rules::states::close_wait),
    ("ephemeral_port_pressure", rules::limits::ephemeral_ports),
    ("time_wait_buckets", rules::limits::time_wait_buckets),
    ("syn_recv_flood", rules::listen::syn_recv),
    ("accept_queue_overflow", rules::listen::accept_queue),
    ("syn_sent_stuck", rules::states::syn_sent),
    ("fin_wait1_excess", rules::states::fin_wait1),
    ("fin_wait2_excess", rules::states::fin_wait2),
    ("last_ack_excess", rules::states::last_ack),
    ("closing_excess", rules::states::closing),
    ("orphans_near_limit", rules::limits::orphans),
    ("tcp_memory_pressure", rules::limits::tcp_memory),
    ("rx_backlog", rules::queues::rx_backlog),
    ("tx_backlog", rules::queues::tx_backlog),
    ("conntrack_near_limit", rules::limits::conntrack),
    ("risky_settings", rules::limits::risky_settings),
];

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

/// Every finding id there is: the rules, the two-run rules, the state ranges.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    RULES
        .iter()
        .map(|(id, _)| *id)
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
        RULES.iter().filter(|(id, _)| self.enabled(id)).count()
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

/// Runs every enabled rule.
pub fn diagnose(input: &Input, settings: &Settings) -> Verdict {
    let mut d = Verdict::default();
    for (id, rule) in RULES {
        if !settings.enabled(id) {
            continue;
        }
        match rule(input, &settings.thresholds) {
            Outcome::Fired(f) => d.findings.push(f),
            Outcome::Quiet => {}
            Outcome::Skipped(why) => d.skipped.push((id, why)),
            Outcome::Limited(what) => d.limited.push((id, what)),
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

/// The largest entries of a count map, count first, then key: stable output.
fn top<K: Ord + Clone + Hash, S>(counts: &HashMap<K, u64, S>, n: usize) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = counts.iter().map(|(k, &c)| (k.clone(), c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

fn port_culprits<S>(counts: &HashMap<u16, u64, S>) -> Vec<Culprit> {
    top(counts, TOP_CULPRITS)
        .into_iter()
        .map(|(port, count)| Culprit::LocalPort { port, count })
        .collect()
}

fn peer_culprits<S>(counts: &HashMap<std::net::IpAddr, u64, S>) -> Vec<Culprit> {
    top(counts, TOP_CULPRITS)
        .into_iter()
        .map(|(ip, count)| Culprit::Peer {
            addr: ip.to_string(),
            count,
        })
        .collect()
}

/// The processes holding `inodes`, largest holders first, with their fd use.
fn process_culprits(s: &Input, inodes: &[u64]) -> Vec<Culprit> {
    holders(s.owners, inodes)
}

/// As [`process_culprits`], for the two-run rules.
pub fn holders(owners: Option<&Owners>, inodes: &[u64]) -> Vec<Culprit> {
    let Some(owners) = owners else {
        return Vec::new();
    };
    let mut per_pid: HashMap<u32, u64> = HashMap::new();
    for &inode in inodes {
        for p in owners.of(inode) {
            *per_pid.entry(p.pid).or_default() += 1;
        }
    }
    top(&per_pid, TOP_CULPRITS)
        .into_iter()
        .filter_map(|(pid, count)| {
            let p = owners.processes().iter().find(|p| p.pid == pid)?;
            Some(Culprit::Process {
                pid,
                comm: p.comm.clone(),
                count,
                fd_count: p.fd_count,
                nofile_soft: p.nofile_soft,
            })
        })
        .collect()
}

/// `1 socket`, `2 sockets`.
fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `12.5%`
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "n/a".into();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_in_the_catalog_once_and_in_order() {
        let ids: Vec<&str> = RULES.iter().map(|(id, _)| *id).collect();
        let documented: Vec<&str> = catalog::catalog(&Thresholds::default())
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, documented);
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
