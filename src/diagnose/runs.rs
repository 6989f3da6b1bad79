//! What the two-run rules look at: the sockets remembered across runs ([`Runs`]) and, when
//! the time between two runs can be trusted, how the kernel counters moved in it
//! ([`Interval`]). Views over what the state file remembers; what to remember for the next run
//! is `alert::history`'s, not the rules'.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::thresholds::Thresholds;
use crate::report::Owners;

/// This run against the runs before it.
pub struct Runs<'a> {
    /// Epoch seconds.
    pub now: u64,
    /// Seconds a socket must stay before it counts as stuck (`--stuck-after`).
    pub stuck_after: u64,
    /// Every rule's thresholds (close_wait_growing takes close_wait_excess's warning count).
    pub thresholds: &'a Thresholds,
    pub owners: Option<&'a Owners>,
    /// This run's CLOSE_WAIT sockets, whose holders a growing count names.
    pub close_wait_now: &'a [u64],
    /// CLOSE_WAIT sockets by inode, with when each was first seen (epoch seconds).
    pub close_wait: &'a BTreeMap<u64, u64>,
    /// FIN_WAIT2 sockets still held by a process, by inode, with when each was first seen.
    pub fin_wait2: &'a BTreeMap<u64, u64>,
    /// Listeners with connections waiting: address → (queued, first seen with this queue).
    pub accept_queues: &'a BTreeMap<String, (u32, u64)>,
    /// Counts per state (netstat names) of the last runs, oldest first, this run last.
    pub history: &'a BTreeMap<String, Vec<u64>>,
    /// What this run read behind its findings (ages, threads, peers).
    pub evidence: Option<&'a super::evidence::EvidenceSet>,
}

/// Counters whose sum is the rate `resets_spike` compares with the runs before.
pub const RESET_COUNTERS: &[&str] = &[
    "Tcp.EstabResets",
    "Tcp.AttemptFails",
    "Tcp.OutRsts",
    "TcpExt.TCPAbortOnClose",
    "TcpExt.TCPAbortOnData",
    "TcpExt.TCPAbortOnTimeout",
];

/// The time since the last run, on the same boot, and how the counters moved in it.
pub struct Interval<'a> {
    /// Milliseconds, more than 0.
    pub elapsed_ms: u64,
    before: &'a BTreeMap<String, i64>,
    now: &'a BTreeMap<String, i64>,
    /// The reset rates of the runs before (per second), oldest first.
    pub reset_rates: &'a [f64],
    /// Counters that went backwards, each said once, in the order the rules asked.
    notes: RefCell<Vec<String>>,
}

impl<'a> Interval<'a> {
    pub fn new(
        elapsed_ms: u64,
        before: &'a BTreeMap<String, i64>,
        now: &'a BTreeMap<String, i64>,
        reset_rates: &'a [f64],
    ) -> Interval<'a> {
        Interval {
            elapsed_ms,
            before,
            now,
            reset_rates,
            notes: RefCell::new(Vec::new()),
        }
    }

    /// Seconds, for rates.
    pub fn seconds(&self) -> f64 {
        self.elapsed_ms as f64 / 1000.0
    }

    /// How much counter `name` rose; `None` when either run lacks it, or when it went
    /// backwards (a counter reset: a note says so, and its rate is skipped).
    pub fn delta(&self, name: &str) -> Option<i64> {
        let (Some(before), Some(now)) = (self.before.get(name), self.now.get(name)) else {
            return None;
        };
        let d = now - before;
        if d < 0 {
            let note = format!(
                "{name} went backwards ({before} to {now}): counter reset, its rate is skipped"
            );
            let mut notes = self.notes.borrow_mut();
            if !notes.contains(&note) {
                notes.push(note);
            }
            return None;
        }
        Some(d)
    }

    /// Resets, failed attempts and aborts since the last run; `None` when one of the
    /// counters is missing or was reset.
    pub fn resets(&self) -> Option<i64> {
        RESET_COUNTERS.iter().map(|n| self.delta(n)).sum()
    }

    /// [`Interval::resets`] per second.
    pub fn reset_rate(&self) -> Option<f64> {
        self.resets().map(|r| r as f64 / self.seconds())
    }

    /// Why some rates were skipped.
    pub fn into_notes(self) -> Vec<String> {
        self.notes.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn a_counter_that_went_backwards_is_noted_once_and_has_no_delta() {
        let before = counters(&[("Tcp.OutSegs", 100), ("Tcp.RetransSegs", 9)]);
        let now = counters(&[("Tcp.OutSegs", 250), ("Tcp.RetransSegs", 2)]);
        let interval = Interval::new(2000, &before, &now, &[]);
        assert_eq!(interval.delta("Tcp.OutSegs"), Some(150));
        assert_eq!(interval.delta("Tcp.RetransSegs"), None);
        assert_eq!(interval.delta("Tcp.RetransSegs"), None);
        assert_eq!(interval.delta("Tcp.Missing"), None);
        assert_eq!(interval.seconds(), 2.0);
        assert_eq!(
            interval.into_notes(),
            vec!["Tcp.RetransSegs went backwards (9 to 2): counter reset, its rate is skipped"]
        );
    }

    #[test]
    fn the_reset_rate_needs_every_counter() {
        let before: BTreeMap<String, i64> =
            RESET_COUNTERS.iter().map(|n| (n.to_string(), 0)).collect();
        let mut now = before.clone();
        now.insert("Tcp.OutRsts".into(), 30);
        assert_eq!(
            Interval::new(3000, &before, &now, &[]).reset_rate(),
            Some(10.0)
        );
        now.remove("Tcp.AttemptFails");
        assert_eq!(Interval::new(3000, &before, &now, &[]).reset_rate(), None);
    }
}
