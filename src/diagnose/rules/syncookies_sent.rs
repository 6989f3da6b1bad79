//! A4 `syncookies_sent`: `TcpExt.SyncookiesSent` rose since the last run. Needs two runs.

use super::counter_rose::{Counter, judge_counter};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::{Interval, Runs};
use crate::diagnose::thresholds::NoThresholds;
use crate::report::Severity;

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "syncookies_sent",
    catalog: "A4",
    meaning: "`TcpExt.SyncookiesSent` rose since the last run: a SYN queue was full and the kernel answered with SYN cookies.",
    why: "Cookies keep clients served through a full SYN queue, but something filled it: a SYN flood, or a burst larger than the listen backlog.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| "warning on any increase".to_string(),
    judge: Judge::Interval(judge),
    #[cfg(test)]
    example: tests::example,
};

static COUNTER: Counter = Counter {
    name: "TcpExt.SyncookiesSent",
    severity: Severity::Warning,
    meaning: "SYN cookies were sent because a SYN queue was full (a SYN flood or a burst)",
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
