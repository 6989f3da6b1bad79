//! A16 `retransmission_rate`: segments retransmitted against segments sent since the last run.
//! Needs two runs.

use serde::Serialize;

use super::words::{pct, since};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "retransmission_rate",
    catalog: "A16",
    meaning: "Segments retransmitted against segments sent since the last run (`Tcp.RetransSegs` / `Tcp.OutSegs`).",
    why: "A healthy path retransmits well under 1%; more is loss, congestion or overloaded peers. Below 10000 segments a few retransmits are a large share of almost nothing.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| {
        format!(
            "warning at {}, critical at {} of segments sent, once at least {} were sent",
            pct(LIMITS.warn),
            pct(LIMITS.crit),
            LIMITS.min_segments
        )
    },
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

/// Fixed levels: `[rules.retransmission_rate]` takes only `enabled`.
static LIMITS: RetransmissionThresholds = RetransmissionThresholds {
    warn: 0.01,
    crit: 0.05,
    min_segments: 10_000,
};

fn judge(_: &Runs, interval: &Interval) -> Outcome {
    let (Some(retrans), Some(out)) = (
        interval.delta("Tcp.RetransSegs"),
        interval.delta("Tcp.OutSegs"),
    ) else {
        return Outcome::Quiet;
    };
    if out < LIMITS.min_segments as i64 {
        return Outcome::Quiet;
    }
    let ratio = retrans as f64 / out as f64;
    let Some(severity) = Severity::from_levels(ratio >= LIMITS.warn, ratio >= LIMITS.crit) else {
        return Outcome::Quiet;
    };
    let facts = RetransmissionFacts {
        retrans_segs: retrans,
        out_segs: out,
        ratio,
        thresholds: LIMITS,
        elapsed_ms: interval.elapsed_ms,
    };
    Outcome::Fired(Finding::new(RULE.id, severity, facts).with_next_steps(vec![
        "nstat -az TcpExtTCPTimeouts TcpExtTCPFastRetrans TcpExtTCPLostRetransmit TcpExtTCPSynRetrans".into(),
        "sockscope list --sort tx -o | head   # which peers retransmit".into(),
    ]))
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

#[derive(Debug, Clone, Copy, Serialize)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{Remembered, facts, fired};

    fn judge_segments(out: i64, retrans: i64) -> Outcome {
        Remembered::default().judge_interval(
            &RULE,
            60,
            &[("Tcp.OutSegs", 100_000), ("Tcp.RetransSegs", 0)],
            &[("Tcp.OutSegs", 100_000 + out), ("Tcp.RetransSegs", retrans)],
            &[],
        )
    }

    pub(super) fn example() -> Finding {
        fired(judge_segments(20_000, 300))
    }

    #[test]
    fn warns_at_one_percent_and_is_critical_at_five_once_enough_was_sent() {
        let f = example();
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<RetransmissionFacts>(&f);
        assert_eq!(
            (seen.retrans_segs, seen.out_segs, seen.ratio),
            (300, 20_000, 0.015)
        );
        assert_eq!(f.facts.title(), "1.5% of segments retransmitted");
        let f = fired(judge_segments(20_000, 1000));
        assert_eq!(f.severity, Severity::Critical);
        assert!(matches!(judge_segments(20_000, 100), Outcome::Quiet));
        // 30% of too few segments says nothing.
        assert!(matches!(judge_segments(9_999, 3000), Outcome::Quiet));
    }
}
