//! A1 `close_wait_growing`: CLOSE_WAIT rising run after run, a leak in progress rather than a
//! burst. Needs three runs.

use serde::Serialize;

use super::close_wait_excess;
use super::culprits::holders;
use crate::diagnose::Outcome;
use crate::diagnose::evidence::Purpose;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::model::TcpState;
use crate::report::{Facts, Finding, Seen, Severity};

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "close_wait_growing",
    catalog: "A1",
    meaning: "CLOSE_WAIT counts that rose over the last three runs, with the holders of this run's sockets.",
    why: "A leak grows run after run until its process reaches EMFILE; a burst rises and falls.",
    governs: None,
    reads: Reads::holders_of(TcpState::CloseWait),
    defaults: NoThresholds {},
    describe: |_| {
        "critical when each of three runs counted more than the one before and the last reached close_wait_excess's warn".to_string()
    },
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

fn judge(runs: &Runs, _: &Interval) -> Outcome {
    let Some(&[a, b, c]) = runs
        .history
        .get(TcpState::CloseWait.name())
        .and_then(|series| series.last_chunk::<3>())
    else {
        return Outcome::Quiet;
    };
    let warn = close_wait_excess::RULE.thresholds(runs.thresholds).warn;
    if !(a < b && b < c && c >= warn) {
        return Outcome::Quiet;
    }
    let culprits = holders(runs.owners, runs.close_wait_now);
    let (evidence, seen) = runs
        .evidence
        .map(|e| e.for_finding(Some(TcpState::CloseWait), &culprits, Purpose::Release))
        .unwrap_or_default();
    Outcome::Fired(
        Finding::new(
            RULE.id,
            Severity::Critical,
            GrowingFacts {
                series: [a, b, c],
                seen,
            },
        )
        .with_next_steps(vec![
            "sockscope top --by process --by peer --state close-wait".into(),
        ])
        .with_culprits(culprits)
        .with_inodes(runs.close_wait_now.to_vec())
        .with_evidence(evidence),
    )
}

/// CLOSE_WAIT counts of the last three runs, rising.
#[derive(Debug, Serialize)]
pub struct GrowingFacts {
    pub series: [u64; 3],
    /// What the holder's threads show.
    #[serde(skip)]
    pub seen: Option<Seen>,
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

    fn causes(&self) -> Vec<String> {
        close_wait_excess::causes(false, self.seen.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{Remembered, facts, fired};

    fn judge_series(series: &[u64]) -> Outcome {
        let mut r = Remembered::default();
        r.history.insert("CLOSE_WAIT".into(), series.to_vec());
        r.close_wait_now = (1..=series.last().copied().unwrap_or(0)).collect();
        r.judge_interval(&RULE, 60, &[], &[], &[])
    }

    pub(super) fn example() -> Finding {
        fired(judge_series(&[5, 20, 30, 40]))
    }

    #[test]
    fn three_rises_in_a_row_to_the_warning_count_are_critical() {
        let f = example();
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(facts::<GrowingFacts>(&f).series, [20, 30, 40]);
        assert_eq!(f.inodes.len(), 40);
        // Up and down is a burst; a rise below close_wait_excess's warn (20) is no leak yet.
        assert!(matches!(judge_series(&[20, 10, 30]), Outcome::Quiet));
        assert!(matches!(judge_series(&[5, 10, 15]), Outcome::Quiet));
        assert!(matches!(judge_series(&[30, 40]), Outcome::Quiet));
    }
}
