//! A3 `time_wait_overflow`: `TcpExt.TCPTimeWaitOverflow` rose since the last run. Needs two runs.

use super::counter_rose::{Counter, judge_counter};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::report::Severity;

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "time_wait_overflow",
    catalog: "A3",
    meaning: "`TcpExt.TCPTimeWaitOverflow` rose since the last run: connections closed without TIME_WAIT because net.ipv4.tcp_max_tw_buckets was reached.",
    why: "The limit is being hit, not only approached (time_wait_buckets): without TIME_WAIT a late segment of an old connection can reach a new one on the same ports.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| "warning on any increase".to_string(),
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

static COUNTER: Counter = Counter {
    name: "TcpExt.TCPTimeWaitOverflow",
    severity: Severity::Warning,
    meaning: "connections closed without TIME_WAIT because tcp_max_tw_buckets was reached",
};

fn judge(_: &Runs, interval: &Interval) -> Outcome {
    judge_counter(RULE.id, &COUNTER, interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::counter_rose::tests::{fires_on_a_rise_only, judge_rise};
    use crate::diagnose::rules::testkit::fired;
    use crate::report::Finding;

    pub(super) fn example() -> Finding {
        fired(judge_rise(&RULE, COUNTER.name, 5, 42))
    }

    #[test]
    fn any_rise_fires_and_nothing_else() {
        fires_on_a_rise_only(&RULE, &COUNTER);
    }
}
