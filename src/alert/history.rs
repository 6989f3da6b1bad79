//! The rules that need two runs: counter rates (with reset detection), growth of CLOSE_WAIT,
//! sockets stuck across runs, stalled accept queues. Pure: the previous state and this run in,
//! findings, notes and the next state out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::state::{HISTORY, Saved};
use crate::diagnose::observe::Observations;
use crate::diagnose::rules::close_wait_excess;
use crate::diagnose::{Settings, holders};
use crate::model::{Tally, TcpState};
use crate::report::{Facts, Finding, Owners, Severity};

/// This run, as the comparison needs it.
pub struct Current<'a> {
    /// Epoch seconds.
    pub now: u64,
    /// Epoch milliseconds.
    pub now_ms: u64,
    pub boot_id: Option<&'a str>,
    pub tally: &'a Tally,
    pub counters: &'a BTreeMap<String, i64>,
    pub obs: &'a Observations,
}

#[derive(Debug, Default)]
pub struct Comparison {
    pub findings: Vec<Finding>,
    /// Why some comparisons were skipped (first run, reboot, counter reset).
    pub notes: Vec<String>,
    /// What to save for the next run (notification fields are the caller's).
    pub next: Saved,
}

/// Counters whose increase since the last run is itself a problem: (counter, id, severity,
/// what it means).
const EVENT_COUNTERS: &[(&str, &str, Severity, &str)] = &[
    (
        "TcpExt.ListenOverflows",
        "listen_overflows",
        Severity::Warning,
        "connection attempts were dropped because an accept queue was full",
    ),
    (
        "TcpExt.TCPReqQFullDrop",
        "syn_queue_overflow",
        Severity::Critical,
        "SYNs were dropped because a SYN queue was full and SYN cookies are off",
    ),
    (
        "TcpExt.SyncookiesSent",
        "syncookies_sent",
        Severity::Warning,
        "SYN cookies were sent because a SYN queue was full (a SYN flood or a burst)",
    ),
    (
        "TcpExt.TCPTimeWaitOverflow",
        "time_wait_overflow",
        Severity::Warning,
        "connections closed without TIME_WAIT because tcp_max_tw_buckets was reached",
    ),
    (
        "TcpExt.TCPAbortOnMemory",
        "tcp_memory_aborts",
        Severity::Critical,
        "connections were reset for lack of memory (too many orphans or TCP memory exhausted)",
    ),
];

const RESET_COUNTERS: &[&str] = &[
    "Tcp.EstabResets",
    "Tcp.AttemptFails",
    "Tcp.OutRsts",
    "TcpExt.TCPAbortOnClose",
    "TcpExt.TCPAbortOnData",
    "TcpExt.TCPAbortOnTimeout",
];

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Compares this run with the previous one. `stuck_after` is in seconds. Findings of rules
/// the operator disabled are dropped; the state kept for the next run is not.
pub fn compare(
    prev: Option<&Saved>,
    cur: &Current,
    settings: &Settings,
    stuck_after: u64,
    owners: Option<&Owners>,
) -> Comparison {
    let mut c = compare_all(prev, cur, settings, stuck_after, owners);
    c.findings.retain(|f| settings.enabled(f.id));
    c.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    c
}

fn compare_all(
    prev: Option<&Saved>,
    cur: &Current,
    settings: &Settings,
    stuck_after: u64,
    owners: Option<&Owners>,
) -> Comparison {
    let mut c = Comparison {
        next: Saved::new(),
        ..Comparison::default()
    };
    c.next.written_at = cur.now;
    c.next.written_at_ms = cur.now_ms;
    c.next.boot_id = cur.boot_id.map(str::to_string);
    c.next.counters = cur.counters.clone();

    // Per-state history, for growth.
    for state in TcpState::KNOWN {
        let mut series = prev
            .and_then(|p| p.history.get(state.name()).cloned())
            .unwrap_or_default();
        series.push(cur.tally.state_total(state));
        let excess = series.len().saturating_sub(HISTORY);
        series.drain(..excess);
        c.next.history.insert(state.name().to_string(), series);
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
    c.next.close_wait = carry(prev.map(|p| &p.close_wait), &cur.obs.close_wait.inodes);
    c.next.fin_wait2 = carry(prev.map(|p| &p.fin_wait2), &cur.obs.fin_wait2_held.inodes);
    // Bounded as the reader bounds them, so the file stays under its size cap.
    super::state::keep_oldest(&mut c.next.close_wait);
    super::state::keep_oldest(&mut c.next.fin_wait2);
    for l in cur.obs.listeners.iter().filter(|l| l.queued > 0) {
        let key = l.local.to_string();
        let since = prev
            .and_then(|p| p.accept_queues.get(&key))
            .filter(|(queued, _)| *queued == l.queued)
            .map_or(cur.now, |(_, since)| *since);
        c.next.accept_queues.insert(key, (l.queued, since));
    }
    c.next.reset_rates = prev.map(|p| p.reset_rates.clone()).unwrap_or_default();

    let Some(prev) = prev else {
        c.notes.push(
            "first run with this state file: rates, growth and stuck sockets need a second run"
                .into(),
        );
        return c;
    };
    let elapsed_ms = cur.now_ms.saturating_sub(prev.written_at_ms);
    // Seconds, for rates.
    let elapsed = elapsed_ms as f64 / 1000.0;

    let (close_wait, fin_wait2) = (c.next.close_wait.clone(), c.next.fin_wait2.clone());
    let stuck_at = |seen| Stuck {
        seen,
        now: cur.now,
        after: stuck_after,
        owners,
    };
    c.findings
        .extend(stuck_at(&close_wait).finding("close_wait_stuck", &CLOSE_WAIT_STUCK));
    c.findings
        .extend(stuck_at(&fin_wait2).finding("fin_wait2_stuck", &FIN_WAIT2_STUCK));

    let stalled: Vec<(&String, &(u32, u64))> = c
        .next
        .accept_queues
        .iter()
        .filter(|(_, (_, since))| *since < cur.now)
        .collect();
    if let Some((addr, (queued, since))) = stalled.first() {
        let facts = StalledFacts {
            listener: addr.to_string(),
            queued: *queued,
            unchanged_for_s: cur.now - since,
            listeners_stalled: stalled.len(),
        };
        let f =
            Finding::new("accept_queue_stalled", Severity::Critical, facts).with_next_steps(vec![
                format!(
                    "ss -lntp '( sport = :{} )'",
                    addr.rsplit(':').next().unwrap_or("0")
                ),
                "Take a thread dump of the service: the accept loop is blocked.".into(),
            ]);
        c.findings.push(f);
    }

    if let (Some(a), Some(b)) = (prev.boot_id.as_deref(), cur.boot_id)
        && a != b
    {
        c.notes.push(
            "the machine rebooted since the last run: counter rates are skipped this time".into(),
        );
        c.next.reset_rates.clear();
        return c;
    }
    if elapsed_ms == 0 {
        c.notes
            .push("no time has passed since the last run: rates are skipped".into());
        return c;
    }
    let delta = |name: &str, notes: &mut Vec<String>| -> Option<i64> {
        let (Some(before), Some(now)) = (prev.counters.get(name), cur.counters.get(name)) else {
            return None;
        };
        let d = now - before;
        if d < 0 {
            notes.push(format!(
                "{name} went backwards ({before} to {now}): counter reset, its rate is skipped"
            ));
            return None;
        }
        Some(d)
    };
    for (counter, id, severity, meaning) in EVENT_COUNTERS {
        if let Some(d) = delta(counter, &mut c.notes).filter(|&d| d > 0) {
            let facts = CounterRose {
                counter,
                delta: d,
                interval_s: elapsed,
                per_second: d as f64 / elapsed,
                elapsed_ms,
                meaning,
            };
            c.findings
                .push(Finding::new(id, *severity, facts).with_next_steps(vec![
                    format!("nstat -az {}", counter.replace('.', "")),
                    "sockscope   # which listener or destination is behind it".into(),
                ]));
        }
    }
    if let (Some(retrans), Some(out)) = (
        delta("Tcp.RetransSegs", &mut c.notes),
        delta("Tcp.OutSegs", &mut c.notes),
    ) && out >= 10_000
    {
        let ratio = retrans as f64 / out as f64;
        let severity = Severity::from_levels(ratio >= 0.01, ratio >= 0.05);
        if let Some(severity) = severity {
            let facts = RetransmissionFacts {
                retrans_segs: retrans,
                out_segs: out,
                ratio,
                thresholds: RetransmissionThresholds {
                    warn: 0.01,
                    crit: 0.05,
                    min_segments: 10_000,
                },
                elapsed_ms,
            };
            c.findings.push(Finding::new("retransmission_rate", severity, facts).with_next_steps(vec![
                "nstat -az TcpExtTCPTimeouts TcpExtTCPFastRetrans TcpExtTCPLostRetransmit TcpExtTCPSynRetrans".into(),
                "sockscope list --sort tx -o | head   # which peers retransmit".into(),
            ]));
        }
    }
    let resets: Option<i64> = RESET_COUNTERS.iter().map(|n| delta(n, &mut c.notes)).sum();
    if let Some(resets) = resets {
        let rate = resets as f64 / elapsed;
        let history = &c.next.reset_rates;
        if history.len() >= 3 {
            let m = median(history);
            if rate >= 1.0 && rate > 3.0 * m {
                let facts = ResetsFacts {
                    per_second: rate,
                    median_per_second: m,
                    runs: history.len(),
                    resets,
                    elapsed_ms,
                };
                c.findings.push(Finding::new("resets_spike", Severity::Warning, facts).with_next_steps(vec![
                    "nstat -az TcpEstabResets TcpAttemptFails TcpOutRsts TcpExtTCPAbortOnClose TcpExtTCPAbortOnData TcpExtTCPAbortOnTimeout".into(),
                ]));
            }
        }
        c.next.reset_rates.push(rate);
        let excess = c.next.reset_rates.len().saturating_sub(7);
        c.next.reset_rates.drain(..excess);
    }

    // CLOSE_WAIT rising run after run is a leak in progress, not a burst.
    if let Some(series) = c.next.history.get("CLOSE_WAIT")
        && series.len() >= 3
    {
        let last3 = [
            series[series.len() - 3],
            series[series.len() - 2],
            series[series.len() - 1],
        ];
        if last3[0] < last3[1]
            && last3[1] < last3[2]
            && last3[2]
                >= close_wait_excess::RULE
                    .thresholds(&settings.thresholds)
                    .warn
        {
            c.findings.push(
                Finding::new(
                    "close_wait_growing",
                    Severity::Critical,
                    GrowingFacts { series: last3 },
                )
                .with_next_steps(vec![
                    "sockscope top --by process --by peer --state close-wait".into(),
                ])
                .with_culprits(holders(owners, &cur.obs.close_wait.inodes))
                .with_inodes(cur.obs.close_wait.inodes.clone()),
            );
        }
    }
    c
}

/// "4ms" between quick runs, whole seconds ("5m 2s") otherwise.
fn since(elapsed_ms: u64) -> String {
    let shown_ms = if elapsed_ms >= 1000 {
        elapsed_ms / 1000 * 1000
    } else {
        elapsed_ms
    };
    humantime::format_duration(std::time::Duration::from_millis(shown_ms)).to_string()
}

/// A kernel counter that rose since the last run, where any rise is a problem.
#[derive(Debug, Serialize)]
pub struct CounterRose {
    /// `TcpExt.ListenOverflows`
    pub counter: &'static str,
    pub delta: i64,
    pub interval_s: f64,
    pub per_second: f64,
    #[serde(skip)]
    pub elapsed_ms: u64,
    /// What a rise means, as a clause.
    #[serde(skip)]
    pub meaning: &'static str,
}

impl Facts for CounterRose {
    fn title(&self) -> String {
        format!(
            "{} × {} in the last {}",
            self.delta,
            self.counter.split('.').nth(1).unwrap_or(self.counter),
            since(self.elapsed_ms)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} rose by {} since the last run {} ago: {}.",
            self.counter,
            self.delta,
            since(self.elapsed_ms),
            self.meaning
        )
    }
}

/// Retransmitted segments against segments sent, since the last run.
#[derive(Debug, Serialize)]
pub struct RetransmissionFacts {
    pub retrans_segs: i64,
    pub out_segs: i64,
    pub ratio: f64,
    pub thresholds: RetransmissionThresholds,
    #[serde(skip)]
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct RetransmissionThresholds {
    pub warn: f64,
    pub crit: f64,
    /// Fewer segments sent say nothing.
    pub min_segments: u64,
}

impl Facts for RetransmissionFacts {
    fn title(&self) -> String {
        format!("{:.1}% of segments retransmitted", self.ratio * 100.0)
    }

    fn summary(&self) -> String {
        format!(
            "{} of {} segments sent in the last {} were retransmissions ({:.2}%): path loss, congestion or overloaded peers.",
            self.retrans_segs,
            self.out_segs,
            since(self.elapsed_ms),
            self.ratio * 100.0
        )
    }
}

/// Resets and aborts per second, against the usual rate of the last runs.
#[derive(Debug, Serialize)]
pub struct ResetsFacts {
    pub per_second: f64,
    pub median_per_second: f64,
    /// Runs the median is taken over.
    pub runs: usize,
    #[serde(skip)]
    pub resets: i64,
    #[serde(skip)]
    pub elapsed_ms: u64,
}

impl Facts for ResetsFacts {
    fn title(&self) -> String {
        let (rate, m) = (self.per_second, self.median_per_second);
        if m > 0.0 {
            format!(
                "Resets and aborts at {rate:.1}/s, {:.1}× the usual",
                rate / m
            )
        } else {
            format!("Resets and aborts at {rate:.1}/s, where there were usually none")
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} resets, failed attempts and aborts in the last {} ({:.1}/s) against a median of {:.2}/s over the last {} runs.",
            self.resets,
            since(self.elapsed_ms),
            self.per_second,
            self.median_per_second,
            self.runs
        )
    }
}

/// CLOSE_WAIT counts of the last three runs, rising.
#[derive(Debug, Serialize)]
pub struct GrowingFacts {
    pub series: [u64; 3],
}

impl Facts for GrowingFacts {
    fn title(&self) -> String {
        let [a, b, c] = self.series;
        format!("CLOSE_WAIT growing: {a} → {b} → {c}")
    }

    fn summary(&self) -> String {
        let [a, b, c] = self.series;
        format!(
            "CLOSE_WAIT has grown over the last three runs ({a} → {b} → {c}): a leak in progress, which ends in EMFILE."
        )
    }
}

/// A listener whose accept queue has not moved since the run before.
#[derive(Debug, Serialize)]
pub struct StalledFacts {
    pub listener: String,
    pub queued: u32,
    pub unchanged_for_s: u64,
    pub listeners_stalled: usize,
}

impl Facts for StalledFacts {
    fn title(&self) -> String {
        format!("accept() has stalled on {}", self.listener)
    }

    fn summary(&self) -> String {
        format!(
            "{} connections have waited in the accept queue of {} unchanged for {} s (since the run before): the application is not accepting at all.{}",
            self.queued,
            self.listener,
            self.unchanged_for_s,
            if self.listeners_stalled > 1 {
                format!(
                    " {} more listeners are stalled too.",
                    self.listeners_stalled - 1
                )
            } else {
                String::new()
            }
        )
    }
}

/// The sockets of one state seen across runs, by inode with when each was first seen.
struct Stuck<'a> {
    seen: &'a BTreeMap<u64, u64>,
    now: u64,
    /// Seconds.
    after: u64,
    owners: Option<&'a Owners>,
}

/// What a stuck-socket finding says of its state.
#[derive(Debug)]
pub struct StuckWords {
    state: &'static str,
    /// `--state` argument.
    arg: &'static str,
    meaning: &'static str,
}

static CLOSE_WAIT_STUCK: StuckWords = StuckWords {
    state: "CLOSE_WAIT",
    arg: "close-wait",
    meaning: "still in CLOSE_WAIT: the application has not closed them across runs, the strongest sign of a leak",
};

static FIN_WAIT2_STUCK: StuckWords = StuckWords {
    state: "FIN_WAIT2",
    arg: "fin-wait-2",
    meaning: "still in FIN_WAIT2 and held by a process: half-closed with shutdown() and never closed; the peer never closes its side",
};

impl Stuck<'_> {
    fn finding(&self, id: &'static str, words: &'static StuckWords) -> Option<Finding> {
        let inodes: Vec<u64> = self
            .seen
            .iter()
            .filter(|(_, first)| {
                self.now.saturating_sub(**first) >= self.after && **first < self.now
            })
            .map(|(i, _)| *i)
            .collect();
        if inodes.is_empty() {
            return None;
        }
        let facts = StuckFacts {
            sockets: inodes.len(),
            stuck_after_s: self.after,
            oldest_s: self.seen.values().min().map_or(0, |f| self.now - f),
            words,
        };
        Some(
            Finding::new(id, Severity::Warning, facts)
                .with_next_steps(vec![format!("sockscope list -p -o --state {}", words.arg)])
                .with_culprits(holders(self.owners, &inodes))
                .with_inodes(inodes),
        )
    }
}

/// The same sockets in one state for at least `stuck_after_s`.
#[derive(Debug, Serialize)]
pub struct StuckFacts {
    pub sockets: usize,
    pub stuck_after_s: u64,
    pub oldest_s: u64,
    #[serde(skip)]
    pub words: &'static StuckWords,
}

impl Facts for StuckFacts {
    fn title(&self) -> String {
        format!("{} sockets stuck in {}", self.sockets, self.words.state)
    }

    fn summary(&self) -> String {
        format!(
            "{} sockets, the same inodes for at least {} s (the oldest {} s), are {}.",
            self.sockets, self.stuck_after_s, self.oldest_s, self.words.meaning
        )
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
