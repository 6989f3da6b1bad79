//! What `sockscope watch` shows: the latest refresh, the counts it remembers across refreshes
//! (for deltas and sparklines) and what the operator chose (selected state, grouping, filter,
//! pause, interval). Data and small pure bookkeeping only: the refreshing is
//! `commands::watch`, the drawing `render::watch`.

#[cfg(feature = "tui")]
use std::collections::VecDeque;
#[cfg(feature = "tui")]
use std::time::Duration;

use super::{Attribution, GroupKey, KeyValue, SummaryReport};
use crate::model::{StateCounts, TcpState};

#[cfg(feature = "tui")]
/// How many refreshes each state's sparkline remembers (wider than any terminal needs).
pub const HISTORY_POINTS: usize = 300;

/// One culprit of the selected state: who, how many, and for CLOSE_WAIT / FIN_WAIT2 how long
/// the oldest of its sockets has been seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CulpritRow {
    pub key: KeyValue,
    pub count: u64,
    /// Seconds the oldest socket has been seen in this state (CLOSE_WAIT, held FIN_WAIT2).
    pub oldest_s: Option<u64>,
    /// That socket was there at the first refresh: it is at least that old.
    pub since_start: bool,
}

/// The culprit panel: the sockets of one state grouped by one key, largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprits {
    pub state: TcpState,
    pub by: GroupKey,
    pub rows: Vec<CulpritRow>,
    /// Sockets of the state (after the filter).
    pub total: u64,
    /// Groups left out of `rows`, and their sockets.
    pub rest: (u64, u64),
    /// How far owners were found, when grouping by process.
    pub attribution: Option<Attribution>,
    /// Why the panel is empty or partial (processes skipped, …).
    pub note: Option<String>,
}

/// What one refresh produced. Records show only the report; the rest is the screen's.
#[cfg_attr(not(feature = "tui"), allow(dead_code))]
#[derive(Debug, Clone)]
pub struct Refresh {
    /// The summary; its findings include the two-run ones, most severe first.
    pub report: SummaryReport,
    /// What the comparison with the previous refresh could not do (counter reset, reboot).
    pub notes: Vec<String>,
    /// Malformed lines skipped while reading (the screen shows the last).
    pub warnings: Vec<String>,
    pub culprits: Option<Culprits>,
    /// Oldest CLOSE_WAIT and held FIN_WAIT2 socket, in seconds, with whether it was there at
    /// the first refresh.
    pub oldest: [Option<(u64, bool)>; 2],
}

/// One `watch` refresh as a record (when not on a terminal): the summary, and the counts of
/// the record before (`None` for the first).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub report: &'a SummaryReport,
    pub previous: Option<&'a StateCounts>,
}

#[cfg(feature = "tui")]
/// A filter being typed after `f`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prompt {
    pub text: String,
    /// Where the cursor is, in bytes into `text` (at a character boundary).
    pub cursor: usize,
    /// Why the last attempt was refused.
    pub error: Option<String>,
}

#[cfg(feature = "tui")]
/// The live view's whole state.
#[derive(Debug, Clone)]
pub struct WatchView {
    pub latest: Option<Refresh>,
    /// Counts at the first refresh and at the one before the latest.
    pub start: Option<StateCounts>,
    pub previous: Option<StateCounts>,
    /// Per state, in [`TcpState::KNOWN`] order, the counts of the last refreshes, oldest first.
    pub history: [VecDeque<u64>; 11],
    pub refreshes: u64,
    pub selected: TcpState,
    pub by: GroupKey,
    /// Index of the expanded finding.
    pub finding: usize,
    pub paused: bool,
    pub all_states: bool,
    pub interval: Duration,
    pub prompt: Option<Prompt>,
    /// A one-line message (where a snapshot was written, a key that does nothing yet).
    pub message: Option<String>,
    /// The grouping by container exists: the namespace sweep is on.
    pub containers: bool,
    pub color: bool,
    /// Connections closed per second at each refresh (tenths), oldest first, while destroy
    /// events are followed.
    pub flow_history: VecDeque<u64>,
    /// The flows panel shows its top destinations and processes (`l`).
    pub flows_expanded: bool,
}

#[cfg(feature = "tui")]
impl WatchView {
    pub fn new(interval: Duration, by: GroupKey, color: bool) -> WatchView {
        WatchView {
            latest: None,
            start: None,
            previous: None,
            history: Default::default(),
            refreshes: 0,
            selected: TcpState::CloseWait,
            by,
            finding: 0,
            paused: false,
            all_states: false,
            interval,
            prompt: None,
            message: None,
            containers: false,
            color,
            flow_history: VecDeque::new(),
            flows_expanded: false,
        }
    }

    /// Takes in a refresh: the latest becomes the previous, its counts join the history.
    pub fn record(&mut self, refresh: Refresh) {
        let counts = refresh.report.tally.both();
        for state in TcpState::KNOWN {
            if let Some(i) = state.index() {
                let series = &mut self.history[i];
                series.push_back(counts.get(state));
                if series.len() > HISTORY_POINTS {
                    series.pop_front();
                }
            }
        }
        if let Some(f) = &refresh.report.flows {
            self.flow_history
                .push_back((f.totals.closed_per_s * 10.0).round() as u64);
            if self.flow_history.len() > HISTORY_POINTS {
                self.flow_history.pop_front();
            }
        }
        self.previous = self.latest.as_ref().map(|r| r.report.tally.both());
        if self.start.is_none() {
            self.start = Some(counts);
        }
        self.finding = self
            .finding
            .min(refresh.report.findings.len().saturating_sub(1));
        self.latest = Some(refresh);
        self.refreshes += 1;
    }

    /// Forgets the counts (a new filter makes them incomparable).
    pub fn reset_history(&mut self) {
        self.history = Default::default();
        self.flow_history.clear();
        self.start = None;
        self.previous = None;
        self.latest = None;
        self.refreshes = 0;
    }

    pub fn count(&self, state: TcpState) -> u64 {
        self.latest
            .as_ref()
            .map_or(0, |r| r.report.tally.state_total(state))
    }

    /// Change since the refresh before the latest (`None` before the second refresh).
    pub fn delta_last(&self, state: TcpState) -> Option<i64> {
        self.previous
            .as_ref()
            .map(|p| diff(self.count(state), p.get(state)))
    }

    /// Change since the first refresh.
    pub fn delta_start(&self, state: TcpState) -> Option<i64> {
        self.start
            .as_ref()
            .map(|s| diff(self.count(state), s.get(state)))
    }

    /// The states shown, in lifecycle order: non-zero now or in the remembered history (a
    /// drop to zero stays visible), the selected one, or all with `all_states`.
    pub fn visible_states(&self) -> Vec<TcpState> {
        TcpState::LIFECYCLE
            .into_iter()
            .filter(|&s| {
                self.all_states
                    || s == self.selected
                    || s.index()
                        .is_some_and(|i| self.history[i].iter().any(|&n| n > 0))
            })
            .collect()
    }

    /// Moves the selection among the shown states (wrapping).
    pub fn select_step(&mut self, forward: bool) {
        let states = self.visible_states();
        let at = states.iter().position(|&s| s == self.selected).unwrap_or(0);
        let n = states.len();
        if n == 0 {
            return;
        }
        let next = if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        };
        self.selected = states[next];
    }

    pub fn findings(&self) -> usize {
        self.latest.as_ref().map_or(0, |r| r.report.findings.len())
    }
}

/// `now - before` as a signed change.
pub fn diff(now: u64, before: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX)
}

/// Each known state's change between two counts, in [`TcpState::KNOWN`] order.
pub fn deltas(now: &StateCounts, before: &StateCounts) -> [i64; 11] {
    TcpState::KNOWN.map(|s| diff(now.get(s), before.get(s)))
}
