//! What one `serve` scrape exposes beyond the check report: bounded breakdowns, the age of the
//! oldest CLOSE_WAIT socket per culprit, and the exporter's own health. Data only.

use std::time::Duration;

use super::CheckReport;
use crate::model::StateCounts;

/// The family of the per-port breakdown, and its labels besides `state`.
pub const PORT_SOCKETS: &str = "sockscope_port_sockets";
pub const PORT_LABELS: &[&str] = &["port", "side"];
/// The family of the per-process breakdown (`serve --by-process`).
pub const PROCESS_SOCKETS: &str = "sockscope_process_sockets";
pub const PROCESS_LABELS: &[&str] = &["process"];

/// Sockets by state, cut to the top N keys (a port, later a process or a namespace) plus an
/// `other` row whose every label is `other`: the series count stays bounded whatever the
/// machine does.
#[derive(Debug, Clone, Default)]
pub struct Breakdown {
    /// The metric family (`sockscope_port_sockets`).
    pub name: &'static str,
    /// The labels a key is made of (`port`, `side`).
    pub labels: &'static [&'static str],
    /// The largest keys, most sockets first (ties by key), one value per label.
    pub rows: Vec<(Vec<String>, StateCounts)>,
    /// Everything beyond the top N, summed.
    pub other: StateCounts,
    /// How many values were folded into `other` this time.
    pub folded: u64,
}

impl Breakdown {
    /// Keeps the `max` largest of `counts` (by total, then by value) and folds the rest.
    pub fn top(
        name: &'static str,
        labels: &'static [&'static str],
        counts: impl IntoIterator<Item = (Vec<String>, StateCounts)>,
        max: usize,
    ) -> Breakdown {
        let mut rows: Vec<(Vec<String>, StateCounts)> = counts.into_iter().collect();
        rows.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then_with(|| a.0.cmp(&b.0)));
        let mut other = StateCounts::default();
        let rest = rows.split_off(max.min(rows.len()));
        for (_, counts) in &rest {
            other.merge(counts);
        }
        Breakdown {
            name,
            labels,
            rows,
            other,
            folded: rest.len() as u64,
        }
    }
}

/// One culprit and how long its oldest CLOSE_WAIT socket has been seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldestCloseWait {
    /// The label naming the culprit (`port`).
    pub label: &'static str,
    pub value: String,
    pub seconds: u64,
}

/// One listener's accept queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptQueue {
    /// `0.0.0.0:80`, `[::]:443`.
    pub listener: String,
    /// Connections completed and waiting for accept().
    pub queued: u32,
    /// The backlog: the limit, when the source knows it (sock_diag).
    pub backlog: Option<u32>,
}

/// The exporter's own numbers, cumulative since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExporterStats {
    /// Collections run (scrapes sharing one count once).
    pub collections: u64,
    pub collection_errors: u64,
    /// Breakdown values folded into `other` over all collections.
    pub series_dropped: u64,
}

/// A scrape's outcome: what it renders, or why the collection failed.
pub type Scrape = Result<ScrapeReport, String>;

/// Everything one scrape renders.
#[derive(Debug, Clone)]
pub struct ScrapeReport {
    pub check: CheckReport,
    pub breakdowns: Vec<Breakdown>,
    /// The oldest first; at most as many as the breakdowns keep.
    pub close_wait_oldest: Vec<OldestCloseWait>,
    /// The fullest listeners first, at most as many as the breakdowns keep.
    pub accept_queues: Vec<AcceptQueue>,
    /// Connections over time, counted since the exporter started (`None` with `--no-flows`).
    pub flows: Option<crate::report::flows::FlowCounters>,
    /// The whole scrape: collection, rules, owners.
    pub duration: Duration,
    pub stats: ExporterStats,
    pub version: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    fn counts(n: u64) -> StateCounts {
        let mut c = StateCounts::default();
        for _ in 0..n {
            c.add(TcpState::Established);
        }
        c
    }

    #[test]
    fn top_keeps_the_largest_and_folds_the_rest() {
        let b = Breakdown::top(
            "x",
            &["port"],
            [("80", 5), ("443", 9), ("22", 1), ("8080", 5)]
                .map(|(p, n)| (vec![p.to_string()], counts(n))),
            2,
        );
        let kept: Vec<&str> = b.rows.iter().map(|(v, _)| v[0].as_str()).collect();
        assert_eq!(kept, ["443", "80"]);
        assert_eq!(b.other.total(), 6);
        assert_eq!(b.folded, 2);
    }
}
