//! A11 `tcp_memory_aborts`: `TcpExt.TCPAbortOnMemory` rose since the last run. Needs two runs.

use super::counter_rose::{Counter, judge_counter};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::report::Severity;

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "tcp_memory_aborts",
    catalog: "A11",
    meaning: "`TcpExt.TCPAbortOnMemory` rose since the last run: connections were reset for lack of memory (too many orphans, or TCP memory exhausted).",
    why: "Each one is a connection the kernel reset instead of finishing (\"too many orphaned sockets\", \"out of memory -- consider tuning tcp_mem\").",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| "critical on any increase".to_string(),
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

static COUNTER: Counter = Counter {
    name: "TcpExt.TCPAbortOnMemory",
    severity: Severity::Critical,
    meaning: "connections were reset for lack of memory (too many orphans or TCP memory exhausted)",
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
