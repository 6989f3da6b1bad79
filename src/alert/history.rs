//! The comparison of two runs: what to remember for the next run (counts per state, kernel
//! counters, when each CLOSE_WAIT and held FIN_WAIT2 socket was first seen, accept queues,
//! reset rates), whether the interval between the runs can be trusted, and the two-run rules
//! (entries in `diagnose::rules`) run over it. Pure: the previous state and this run in,
//! findings, notes and the next state out.

use std::collections::BTreeMap;

use super::state::{HISTORY, Saved, keep_oldest};
use crate::diagnose::evidence::EvidenceSet;
use crate::diagnose::observe::Observations;
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::{self, Settings};
use crate::model::{Tally, TcpState};
use crate::report::{Finding, Owners};

/// This run, as the comparison needs it.
pub struct Current<'a> {
    /// Epoch seconds.
    pub now: u64,
    /// Epoch milliseconds.
    pub now_ms: u64,
    pub boot_id: Option<&'a str>,
    /// The network namespace this run compares (its inode), when known.
    pub netns: Option<u64>,
    pub tally: &'a Tally,
    pub counters: &'a BTreeMap<String, i64>,
    pub obs: &'a Observations,
    /// What the run read behind its findings, for the rules about the same sockets.
    pub evidence: Option<&'a EvidenceSet>,
}

#[derive(Debug, Default)]
pub struct Comparison {
    pub findings: Vec<Finding>,
    /// Why some comparisons were skipped (first run, reboot, counter reset).
    pub notes: Vec<String>,
    /// What to save for the next run (notification fields are the caller's).
    pub next: Saved,
}

/// Reset rates kept for the median `resets_spike` compares with.
const RESET_RATES: usize = 7;

/// Compares this run with the previous one. `stuck_after` is in seconds. Findings of rules
/// the operator disabled are dropped; the state kept for the next run is not.
pub fn compare(
    prev: Option<&Saved>,
    cur: &Current,
    settings: &Settings,
    stuck_after: u64,
    owners: Option<&Owners>,
) -> Comparison {
    let mut notes = Vec::new();
    // Another namespace's file (`--netns A`, then `--netns B`): its counters and sockets are
    // not this one's. Start afresh, and say so.
    let prev = match (prev, cur.netns) {
        (Some(p), Some(now)) if p.netns.is_some_and(|was| was != now) => {
            notes.push(format!(
                "the state file was written for another network namespace (net:[{}]); this run reads net:[{now}]: starting afresh",
                p.netns.unwrap_or_default()
            ));
            None
        }
        (p, _) => p,
    };
    let mut next = remember(prev, cur);
    let Some(prev) = prev else {
        notes.push(
            "first run with this state file: rates, growth and stuck sockets need a second run"
                .into(),
        );
        return Comparison {
            findings: Vec::new(),
            notes,
            next,
        };
    };
    let elapsed_ms = cur.now_ms.saturating_sub(prev.written_at_ms);
    let rebooted = matches!(
        (prev.boot_id.as_deref(), cur.boot_id),
        (Some(a), Some(b)) if a != b
    );
    let interval = if rebooted {
        notes.push(
            "the machine rebooted since the last run: counter rates are skipped this time".into(),
        );
        None
    } else if elapsed_ms == 0 {
        notes.push("no time has passed since the last run: rates are skipped".into());
        None
    } else {
        Some(Interval::new(
            elapsed_ms,
            &prev.counters,
            cur.counters,
            &prev.reset_rates,
        ))
    };
    let runs = Runs {
        now: cur.now,
        stuck_after,
        thresholds: &settings.thresholds,
        owners,
        close_wait_now: &cur.obs.close_wait.inodes,
        close_wait: &next.close_wait,
        fin_wait2: &next.fin_wait2,
        accept_queues: &next.accept_queues,
        history: &next.history,
        evidence: cur.evidence,
    };
    let findings = diagnose::judge_runs(&runs, interval.as_ref(), settings);
    let reset_rate = interval.as_ref().and_then(Interval::reset_rate);
    if rebooted {
        next.reset_rates.clear();
    }
    if let Some(interval) = interval {
        notes.extend(interval.into_notes());
    }
    if let Some(rate) = reset_rate {
        next.reset_rates.push(rate);
        let excess = next.reset_rates.len().saturating_sub(RESET_RATES);
        next.reset_rates.drain(..excess);
    }
    Comparison {
        findings,
        notes,
        next,
    }
}

/// What this run leaves for the next: counts per state, counters, the first-seen time of each
/// followed socket, the accept queues and since when each is unchanged, the reset rates so far.
fn remember(prev: Option<&Saved>, cur: &Current) -> Saved {
    let mut next = Saved::new();
    next.written_at = cur.now;
    next.written_at_ms = cur.now_ms;
    next.boot_id = cur.boot_id.map(str::to_string);
    next.netns = cur.netns;
    next.counters = cur.counters.clone();

    // Per-state history, for growth.
    for state in TcpState::KNOWN {
        let mut series = prev
            .and_then(|p| p.history.get(state.name()).cloned())
            .unwrap_or_default();
        series.push(cur.tally.state_total(state));
        let excess = series.len().saturating_sub(HISTORY);
        series.drain(..excess);
        next.history.insert(state.name().to_string(), series);
    }

    // Sockets seen before keep their first-seen time; new ones start now.
    let carry = |before: Option<&BTreeMap<u64, u64>>, inodes: &[u64]| -> BTreeMap<u64, u64> {
        inodes
            .iter()
            .map(|&i| {
                (
                    i,
                    before.and_then(|b| b.get(&i).copied()).unwrap_or(cur.now),
                )
            })
            .collect()
    };
    next.close_wait = carry(prev.map(|p| &p.close_wait), &cur.obs.close_wait.inodes);
    next.fin_wait2 = carry(prev.map(|p| &p.fin_wait2), &cur.obs.fin_wait2_held.inodes);
    // Bounded as the reader bounds them, so the file stays under its size cap.
    keep_oldest(&mut next.close_wait);
    keep_oldest(&mut next.fin_wait2);
    for l in cur.obs.listeners.iter().filter(|l| l.queued > 0) {
        let key = l.local.to_string();
        let since = prev
            .and_then(|p| p.accept_queues.get(&key))
            .filter(|(queued, _)| *queued == l.queued)
            .map_or(cur.now, |(_, since)| *since);
        next.accept_queues.insert(key, (l.queued, since));
    }
    next.reset_rates = prev.map(|p| p.reset_rates.clone()).unwrap_or_default();
    next
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
