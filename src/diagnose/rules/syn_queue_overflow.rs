//! A4 `syn_queue_overflow`: `TcpExt.TCPReqQFullDrop` rose since the last run. Needs two runs.

use super::counter_rose::{Counter, judge_counter};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::report::Severity;

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "syn_queue_overflow",
    catalog: "A4",
    meaning: "`TcpExt.TCPReqQFullDrop` rose since the last run: SYNs were dropped because a SYN queue was full and SYN cookies are off.",
    why: "Without SYN cookies a full SYN queue turns legitimate clients away with the flood or burst that filled it.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| "critical on any increase".to_string(),
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

static COUNTER: Counter = Counter {
    name: "TcpExt.TCPReqQFullDrop",
    severity: Severity::Critical,
    meaning: "SYNs were dropped because a SYN queue was full and SYN cookies are off",
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
