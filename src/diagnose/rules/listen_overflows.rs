//! A5 `listen_overflows`: `TcpExt.ListenOverflows` rose since the last run. Needs two runs.

use super::counter_rose::{Counter, judge_counter};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::report::Severity;

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "listen_overflows",
    catalog: "A5",
    meaning: "`TcpExt.ListenOverflows` rose since the last run: an accept queue was full and new connections were dropped.",
    why: "Each one is a client that timed out while the service looked idle; the queue may have drained before anyone looked (accept_queue_overflow sees only the moment).",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| "warning on any increase".to_string(),
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

static COUNTER: Counter = Counter {
    name: "TcpExt.ListenOverflows",
    severity: Severity::Warning,
    meaning: "connection attempts were dropped because an accept queue was full",
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
