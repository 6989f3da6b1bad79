//! A17 `resets_spike`: resets, failed attempts and aborts per second against this host's own
//! recent rate. Needs at least four runs.

use serde::Serialize;

use super::words::since;
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "resets_spike",
    catalog: "A17",
    meaning: "Resets, failed connection attempts and aborts per second since the last run (`EstabResets`, `AttemptFails`, `OutRsts`, `TCPAbortOnClose`, `TCPAbortOnData`, `TCPAbortOnTimeout`) against their median over the last runs.",
    why: "Every host resets some connections; the signal is a rate unusual for this host, so the baseline is its own recent runs.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| {
        format!(
            "warning above {SPIKE}× the median of the last runs (up to 7) and at least {MIN_RATE}/s, once {MIN_RUNS} runs are known"
        )
    },
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

/// How many times the usual rate is a spike.
const SPIKE: f64 = 3.0;
/// Resets per second below which nothing is a spike.
const MIN_RATE: f64 = 1.0;
/// Earlier rates needed for a usual rate.
const MIN_RUNS: usize = 3;

fn judge(_: &Runs, interval: &Interval) -> Outcome {
    let Some(resets) = interval.resets() else {
        return Outcome::Quiet;
    };
    let rate = resets as f64 / interval.seconds();
    let history = interval.reset_rates;
    if history.len() < MIN_RUNS {
        return Outcome::Quiet;
    }
    let usual = median(history);
    if rate < MIN_RATE || rate <= SPIKE * usual {
        return Outcome::Quiet;
    }
    let facts = ResetsFacts {
        per_second: rate,
        median_per_second: usual,
        runs: history.len(),
        resets,
        elapsed_ms: interval.elapsed_ms,
    };
    Outcome::Fired(Finding::new(RULE.id, Severity::Warning, facts).with_next_steps(vec![
        "nstat -az TcpEstabResets TcpAttemptFails TcpOutRsts TcpExtTCPAbortOnClose TcpExtTCPAbortOnData TcpExtTCPAbortOnTimeout".into(),
    ]))
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
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
        let (rate, usual) = (self.per_second, self.median_per_second);
        if usual > 0.0 {
            format!(
                "Resets and aborts at {rate:.1}/s, {:.1}× the usual",
                rate / usual
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{Remembered, facts, fired};
    use crate::diagnose::runs::RESET_COUNTERS;

    /// `resets` in 60 s, after runs at `usual` per second.
    fn judge_resets(resets: i64, usual: &[f64]) -> Outcome {
        let before: Vec<(&str, i64)> = RESET_COUNTERS.iter().map(|n| (*n, 0)).collect();
        let mut now = before.clone();
        now[0].1 = resets;
        Remembered::default().judge_interval(&RULE, 60, &before, &now, usual)
    }

    pub(super) fn example() -> Finding {
        fired(judge_resets(600, &[1.0, 2.0, 2.0]))
    }

    #[test]
    fn a_rate_three_times_the_usual_is_a_spike() {
        let f = example();
        let seen = facts::<ResetsFacts>(&f);
        assert_eq!(
            (
                seen.resets,
                seen.per_second,
                seen.median_per_second,
                seen.runs
            ),
            (600, 10.0, 2.0, 3)
        );
        assert_eq!(
            f.facts.title(),
            "Resets and aborts at 10.0/s, 5.0× the usual"
        );
        assert!(matches!(
            judge_resets(300, &[1.0, 2.0, 2.0]),
            Outcome::Quiet
        ));
        // Two runs are no baseline; under one a second is no spike.
        assert!(matches!(judge_resets(600, &[1.0, 2.0]), Outcome::Quiet));
        assert!(matches!(judge_resets(50, &[0.0, 0.0, 0.0]), Outcome::Quiet));
    }

    #[test]
    fn after_quiet_runs_it_says_so_instead_of_an_infinite_ratio() {
        let f = fired(judge_resets(600, &[0.0, 0.0, 0.0]));
        let title = f.facts.title();
        assert_eq!(
            title,
            "Resets and aborts at 10.0/s, where there were usually none"
        );
    }
}
