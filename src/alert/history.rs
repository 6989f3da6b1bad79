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

/// The oldest a time in the state file may be, by this run's clock. Older is a clock that was
/// wrong when the file was written (a machine without a clock battery starts in 1970, and NTP
/// sets it later) or a file left unused as long: either way not an age to report.
pub const BELIEVABLE_AGE: u64 = 366 * 86_400;

/// How far after this run's time the state file may say it was written: a clock stepped back a
/// little (NTP correcting a drift). Further is a clock that was wrong then, or is now.
pub const CLOCK_SLACK: u64 = 60;

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
    let prev = match prev {
        Some(p) if cur.now.saturating_sub(p.written_at) > BELIEVABLE_AGE => {
            notes.push(format!(
                "the state file was written {} s before this run (more than a year: a clock that was wrong then, or a file left unused): starting afresh",
                cur.now - p.written_at
            ));
            None
        }
        Some(p) if p.written_at.saturating_sub(cur.now) > CLOCK_SLACK => {
            notes.push(format!(
                "the state file was written {} s after this run's time (a clock that was ahead then, or has been set back): starting afresh",
                p.written_at - cur.now
            ));
            None
        }
        p => p,
    };
    let rebooted = prev.is_some_and(|p| {
        matches!(
            (p.boot_id.as_deref(), cur.boot_id),
            (Some(a), Some(b)) if a != b
        )
    });
    let (mut next, unbelievable) = remember(prev, cur, rebooted);
    if unbelievable > 0 {
        let what = match unbelievable {
            1 => "1 first sighting in the state file is".to_string(),
            n => format!("{n} first sightings in the state file are"),
        };
        notes.push(format!(
            "{what} after it was written or more than a year old (a clock that was wrong, or a planted file): those sockets count as first seen now"
        ));
    }
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
    let interval = if rebooted {
        notes.push(
            "the machine rebooted since the last run: counter rates are skipped this time, and sockets are followed afresh"
                .into(),
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
/// Also how many times carried over could not be true: after the file was written, or older
/// than [`BELIEVABLE_AGE`]; those start now. After a reboot nothing is carried over: no
/// socket outlives one, and inode numbers start again.
fn remember(prev: Option<&Saved>, cur: &Current, rebooted: bool) -> (Saved, u64) {
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

    // Sockets seen before keep their first-seen time when it can be true; others start now.
    let followed = prev.filter(|_| !rebooted);
    let mut unbelievable = 0;
    let mut since = |at: Option<u64>| match at {
        // Up to CLOCK_SLACK after now (the file's own time allows no more): now.
        Some(at) if followed.is_some_and(|p| believable(at, p.written_at, cur.now)) => {
            at.min(cur.now)
        }
        Some(_) => {
            unbelievable += u64::from(!rebooted);
            cur.now
        }
        None => cur.now,
    };
    for (kept, before, inodes) in [
        (
            &mut next.close_wait,
            prev.map(|p| &p.close_wait),
            &cur.obs.close_wait.inodes,
        ),
        (
            &mut next.fin_wait2,
            prev.map(|p| &p.fin_wait2),
            &cur.obs.fin_wait2_held.inodes,
        ),
    ] {
        *kept = inodes
            .iter()
            .map(|&i| (i, since(before.and_then(|b| b.get(&i).copied()))))
            .collect();
        // Bounded as the reader bounds them, so the file stays under its size cap.
        keep_oldest(kept);
    }
    for l in cur.obs.listeners.iter().filter(|l| l.queued > 0) {
        let key = l.local.to_string();
        let at = prev
            .and_then(|p| p.accept_queues.get(&key))
            .filter(|(queued, _)| *queued == l.queued)
            .map(|(_, since)| *since);
        next.accept_queues.insert(key, (l.queued, since(at)));
    }
    next.reset_rates = prev.map(|p| p.reset_rates.clone()).unwrap_or_default();
    (next, unbelievable)
}

/// Whether a time the file kept can be one: not after the file was written (its own run put
/// it there), and at most [`BELIEVABLE_AGE`] before now.
fn believable(at: u64, written_at: u64, now: u64) -> bool {
    at <= written_at && now.saturating_sub(at) <= BELIEVABLE_AGE
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
