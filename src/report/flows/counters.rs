//! What `serve` counts from the destroy events across scrapes: counters per service port (and
//! per process name with `--by-process`), the lifetime histogram, lost events. Counters must
//! only ever grow, so a key keeps its series once it has one: the first `--max-series` keys
//! seen keep theirs for the life of the process, and later ones count under `other` (a series
//! that came and went would read as a counter reset). Bookkeeping only.

use std::collections::BTreeMap;

use super::{Histogram, KeyStats, Window};

/// Closed and failed counts per key, bounded: at most `cap` keys, the rest in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sticky<K: Ord> {
    pub rows: BTreeMap<K, (u64, u64)>,
    pub other: (u64, u64),
    cap: usize,
}

impl<K: Ord> Sticky<K> {
    pub fn new(cap: usize) -> Sticky<K> {
        Sticky {
            rows: BTreeMap::new(),
            other: (0, 0),
            cap,
        }
    }

    /// Adds `closed` and `failed` to `key`; returns whether they went to `other` (a new key
    /// that found no room).
    pub fn add(&mut self, key: K, closed: u64, failed: u64) -> bool {
        if let Some(slot) = self.rows.get_mut(&key) {
            slot.0 += closed;
            slot.1 += failed;
            return false;
        }
        if self.rows.len() < self.cap {
            self.rows.insert(key, (closed, failed));
            return false;
        }
        self.other.0 += closed;
        self.other.1 += failed;
        true
    }
}

/// Everything `serve` has counted since it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowCounters {
    /// Why nothing is followed; `None` while following.
    pub not_following: Option<String>,
    /// By service port: `(port, "local")` for connections accepted here, `(port, "remote")`
    /// for connections made from here.
    pub by_port: Sticky<(u16, &'static str)>,
    /// By process name (`--by-process`).
    pub by_process: Option<Sticky<String>>,
    /// Closes whose holder was not found.
    pub unattributed: u64,
    pub lifetimes: Histogram,
    pub lost: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u64,
    pub retrans: u64,
}

impl FlowCounters {
    pub fn new(max_series: usize, by_process: bool) -> FlowCounters {
        FlowCounters {
            not_following: None,
            by_port: Sticky::new(max_series),
            by_process: by_process.then(|| Sticky::new(max_series)),
            unattributed: 0,
            lifetimes: Histogram::default(),
            lost: 0,
            bytes_acked: 0,
            bytes_received: 0,
            segs_out: 0,
            retrans: 0,
        }
    }

    /// Adds one namespace's window; returns how many of its keys found no series.
    pub fn add(&mut self, w: &Window) -> u64 {
        let mut folded = 0;
        // The busiest keys first, then by key: which new keys find room does not depend on a
        // hash map's order.
        let mut ports: Vec<((u16, &'static str), &KeyStats)> = w
            .by_service
            .iter()
            .map(|(p, k)| ((*p, "local"), k))
            .chain(
                w.by_destination
                    .iter()
                    .map(|(d, k)| ((d.port(), "remote"), k)),
            )
            .collect();
        ports.sort_by_key(|(key, k)| (std::cmp::Reverse(k.closed + k.failed), *key));
        for (key, k) in ports {
            folded += u64::from(self.by_port.add(key, k.closed, k.failed));
        }
        let (closed, failed) = (w.folded.closed, w.folded.failed);
        self.by_port.other.0 += closed;
        self.by_port.other.1 += failed;
        if let Some(processes) = &mut self.by_process {
            let mut rows: Vec<_> = w.by_process.iter().collect();
            rows.sort_by_key(|(h, k)| (std::cmp::Reverse(k.closed + k.failed), h.comm.as_str()));
            for (h, k) in rows {
                folded += u64::from(processes.add(h.comm.clone(), k.closed, k.failed));
            }
            processes.other.0 += w.folded_holders.closed;
            processes.other.1 += w.folded_holders.failed;
        }
        self.unattributed += w.unknown_holder;
        self.lifetimes.merge(&w.lifetimes.classic);
        self.lost += w.lost;
        let all = &w.all;
        self.bytes_acked = self.bytes_acked.saturating_add(all.bytes_acked);
        self.bytes_received = self.bytes_received.saturating_add(all.bytes_received);
        self.segs_out = self.segs_out.saturating_add(all.segs_out);
        self.retrans = self.retrans.saturating_add(all.retrans);
        folded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::flows::tests::close;
    use crate::report::flows::{Budget, Ending};
    use std::time::SystemTime;

    #[test]
    fn a_key_keeps_its_series_and_late_ones_count_as_other() {
        let mut c = FlowCounters::new(2, false);
        let mut budget = Budget::full();
        let mut w = Window::new(SystemTime::UNIX_EPOCH);
        // The busiest first: 443 (two), then 5432 before 6379 (one each); 6379 finds no room.
        for port in [6379, 443, 5432, 443] {
            let out = close(
                Ending::Closed,
                false,
                "10.0.0.1:40000",
                &format!("10.0.0.5:{port}"),
            );
            w.add(&out, &mut budget);
        }
        w.lost = 3;
        assert_eq!(c.add(&w), 1, "6379 found no room");
        assert_eq!(
            c.by_port.rows.keys().collect::<Vec<_>>(),
            [&(443, "remote"), &(5432, "remote")]
        );
        assert_eq!(c.by_port.other, (1, 0));
        // Next time 6379 still has none, however busy, and the first two keep theirs.
        let mut w = Window::new(SystemTime::UNIX_EPOCH);
        for _ in 0..5 {
            w.add(
                &close(Ending::Closed, false, "10.0.0.1:40000", "10.0.0.5:6379"),
                &mut budget,
            );
        }
        w.add(
            &close(Ending::Failed, false, "10.0.0.1:40001", "10.0.0.5:6379"),
            &mut budget,
        );
        c.add(&w);
        assert_eq!(c.by_port.other, (6, 1));
        let total: u64 = c.by_port.rows.values().map(|r| r.0).sum::<u64>() + c.by_port.other.0;
        assert_eq!(total, 9, "every close counted once");
        assert_eq!((c.lost, c.lifetimes.count), (3, 9));
    }
}
