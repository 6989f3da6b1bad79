//! The rules that need two runs: counter rates (with reset detection), growth of CLOSE_WAIT,
//! sockets stuck across runs, stalled accept queues. Pure: the previous state and this run in,
//! findings, notes and the next state out.

use std::collections::BTreeMap;

use serde_json::json;

use super::state::{HISTORY, Saved};
use crate::diagnose::observe::Observations;
use crate::diagnose::{Settings, holders};
use crate::model::{Tally, TcpState};
use crate::report::{Culprit, Finding, Owners, Severity};

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

/// The shared constructor; these findings carry no ranked causes (the counters say what).
#[allow(clippy::too_many_arguments)]
fn finding(
    id: &'static str,
    severity: Severity,
    title: String,
    summary: String,
    evidence: serde_json::Value,
    next: Vec<String>,
    culprits: Vec<Culprit>,
    inodes: Vec<u64>,
) -> Finding {
    Finding::new(
        id,
        severity,
        title,
        summary,
        evidence,
        Vec::new(),
        next,
        culprits,
        inodes,
    )
}

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
    // Seconds, for rates and for the text.
    let elapsed = elapsed_ms as f64 / 1000.0;
    // "4ms" between quick runs, whole seconds ("5m 2s") otherwise.
    let shown_ms = if elapsed_ms >= 1000 {
        elapsed_ms / 1000 * 1000
    } else {
        elapsed_ms
    };
    let since = humantime::format_duration(std::time::Duration::from_millis(shown_ms));

    let (close_wait, fin_wait2) = (c.next.close_wait.clone(), c.next.fin_wait2.clone());
    stuck(
        &mut c,
        "close_wait_stuck",
        "CLOSE_WAIT",
        &close_wait,
        cur.now,
        stuck_after,
        owners,
        "still in CLOSE_WAIT: the application has not closed them across runs, the strongest sign of a leak",
    );
    stuck(
        &mut c,
        "fin_wait2_stuck",
        "FIN_WAIT2",
        &fin_wait2,
        cur.now,
        stuck_after,
        owners,
        "still in FIN_WAIT2 and held by a process: half-closed with shutdown() and never closed; the peer never closes its side",
    );

    let stalled: Vec<(&String, &(u32, u64))> = c
        .next
        .accept_queues
        .iter()
        .filter(|(_, (_, since))| *since < cur.now)
        .collect();
    if let Some((addr, (queued, since))) = stalled.first() {
        let f = finding(
            "accept_queue_stalled",
            Severity::Critical,
            format!("accept() has stalled on {addr}"),
            format!(
                "{queued} connections have waited in the accept queue of {addr} unchanged for {} s (since the run before): the application is not accepting at all.{}",
                cur.now - since,
                if stalled.len() > 1 {
                    format!(" {} more listeners are stalled too.", stalled.len() - 1)
                } else {
                    String::new()
                }
            ),
            json!({ "listener": addr, "queued": queued, "unchanged_for_s": cur.now - since, "listeners_stalled": stalled.len() }),
            vec![
                format!(
                    "ss -lntp '( sport = :{} )'",
                    addr.rsplit(':').next().unwrap_or("0")
                ),
                "Take a thread dump of the service: the accept loop is blocked.".into(),
            ],
            Vec::new(),
            Vec::new(),
        );
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
            c.findings.push(finding(
                id,
                *severity,
                format!("{d} × {} in the last {since}", counter.split('.').nth(1).unwrap_or(counter)),
                format!("{counter} rose by {d} since the last run {since} ago: {meaning}."),
                json!({ "counter": counter, "delta": d, "interval_s": elapsed, "per_second": d as f64 / elapsed }),
                vec![format!("nstat -az {}", counter.replace('.', "")), "sockscope   # which listener or destination is behind it".into()],
                Vec::new(),
                Vec::new(),
            ));
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
            c.findings.push(finding(
                "retransmission_rate",
                severity,
                format!("{:.1}% of segments retransmitted", ratio * 100.0),
                format!("{retrans} of {out} segments sent in the last {since} were retransmissions ({:.2}%): path loss, congestion or overloaded peers.", ratio * 100.0),
                json!({ "retrans_segs": retrans, "out_segs": out, "ratio": ratio, "thresholds": { "warn": 0.01, "crit": 0.05, "min_segments": 10000 } }),
                vec!["nstat -az TcpExtTCPTimeouts TcpExtTCPFastRetrans TcpExtTCPLostRetransmit TcpExtTCPSynRetrans".into(), "sockscope list --sort tx -o | head   # which peers retransmit".into()],
                Vec::new(),
                Vec::new(),
            ));
        }
    }
    let resets: Option<i64> = RESET_COUNTERS.iter().map(|n| delta(n, &mut c.notes)).sum();
    if let Some(resets) = resets {
        let rate = resets as f64 / elapsed;
        let history = &c.next.reset_rates;
        if history.len() >= 3 {
            let m = median(history);
            if rate >= 1.0 && rate > 3.0 * m {
                c.findings.push(finding(
                    "resets_spike",
                    Severity::Warning,
                    if m > 0.0 {
                        format!("Resets and aborts at {rate:.1}/s, {:.1}× the usual", rate / m)
                    } else {
                        format!("Resets and aborts at {rate:.1}/s, where there were usually none")
                    },
                    format!("{resets} resets, failed attempts and aborts in the last {since} ({rate:.1}/s) against a median of {m:.2}/s over the last {} runs.", history.len()),
                    json!({ "per_second": rate, "median_per_second": m, "runs": history.len() }),
                    vec!["nstat -az TcpEstabResets TcpAttemptFails TcpOutRsts TcpExtTCPAbortOnClose TcpExtTCPAbortOnData TcpExtTCPAbortOnTimeout".into()],
                    Vec::new(),
                    Vec::new(),
                ));
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
        let last3 = &series[series.len() - 3..];
        if last3[0] < last3[1]
            && last3[1] < last3[2]
            && last3[2] >= settings.thresholds.close_wait.warn
        {
            c.findings.push(finding(
                "close_wait_growing",
                Severity::Critical,
                format!("CLOSE_WAIT growing: {} → {} → {}", last3[0], last3[1], last3[2]),
                format!("CLOSE_WAIT has grown over the last three runs ({} → {} → {}): a leak in progress, which ends in EMFILE.", last3[0], last3[1], last3[2]),
                json!({ "series": last3 }),
                vec!["sockscope top --by process --by peer --state close-wait".into()],
                holders(owners, &cur.obs.close_wait.inodes),
                cur.obs.close_wait.inodes.clone(),
            ));
        }
    }
    c
}

#[allow(clippy::too_many_arguments)]
fn stuck(
    c: &mut Comparison,
    id: &'static str,
    state: &str,
    seen: &BTreeMap<u64, u64>,
    now: u64,
    after: u64,
    owners: Option<&Owners>,
    meaning: &str,
) {
    let inodes: Vec<u64> = seen
        .iter()
        .filter(|(_, first)| now.saturating_sub(**first) >= after && **first < now)
        .map(|(i, _)| *i)
        .collect();
    if inodes.is_empty() {
        return;
    }
    let oldest = seen.values().min().map_or(0, |f| now - f);
    let culprits = holders(owners, &inodes);
    c.findings.push(finding(
        id,
        Severity::Warning,
        format!("{} sockets {}", inodes.len(), if state == "CLOSE_WAIT" { "stuck in CLOSE_WAIT" } else { "stuck in FIN_WAIT2" }),
        format!("{} sockets, the same inodes for at least {after} s (the oldest {oldest} s), are {meaning}.", inodes.len()),
        json!({ "sockets": inodes.len(), "stuck_after_s": after, "oldest_s": oldest }),
        vec![format!("sockscope list -p -o --state {}", if state == "CLOSE_WAIT" { "close-wait" } else { "fin-wait-2" })],
        culprits,
        inodes,
    ));
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
