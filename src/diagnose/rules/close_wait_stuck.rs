//! A1 `close_wait_stuck`: the same CLOSE_WAIT sockets seen across runs for `--stuck-after`.
//! Needs two runs.

use super::stuck::{StuckWords, judge_stuck};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::Runs;
use crate::diagnose::thresholds::NoThresholds;
use crate::model::TcpState;

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "close_wait_stuck",
    catalog: "A1",
    meaning: "The same CLOSE_WAIT sockets (by inode) seen across runs for `--stuck-after`, with their holders.",
    why: "A socket that stays in CLOSE_WAIT across runs is one the application will not close: the strongest sign of a leak, whatever the count.",
    governs: None,
    reads: Reads::holders_of(TcpState::CloseWait),
    defaults: NoThresholds {},
    describe: |_| "warning once a socket has stayed `--stuck-after` (default 5m)".to_string(),
    judge: Judge::Remembered(judge),
    #[cfg(test)]
    example: tests::example,
};

static WORDS: StuckWords = StuckWords {
    tcp_state: TcpState::CloseWait,
    state: "CLOSE_WAIT",
    arg: "close-wait",
    meaning: "still in CLOSE_WAIT: the application has not closed them across runs, the strongest sign of a leak",
};

fn judge(runs: &Runs) -> Outcome {
    judge_stuck(runs, RULE.id, runs.close_wait, &WORDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::stuck::StuckFacts;
    use crate::diagnose::rules::testkit::{Remembered, facts, fired};
    use crate::report::Finding;

    /// Sockets 1 and 2 first seen 400 s ago, 3 just now, 4 200 s ago; stuck after 300 s.
    fn remembered() -> Remembered {
        Remembered {
            close_wait: [(1, 600), (2, 600), (3, 1000), (4, 800)].into(),
            ..Remembered::default()
        }
    }

    pub(super) fn example() -> Finding {
        fired(remembered().judge(&RULE))
    }

    #[test]
    fn the_sockets_seen_for_long_enough_are_stuck() {
        let f = example();
        assert_eq!(f.inodes, vec![1, 2]);
        let seen = facts::<StuckFacts>(&f);
        assert_eq!(
            (seen.sockets, seen.stuck_after_s, seen.oldest_s),
            (2, 300, 400)
        );
        assert_eq!(f.facts.title(), "2 sockets stuck in CLOSE_WAIT");
        assert_eq!(
            f.next_steps,
            vec!["sockscope list -p -o --state close-wait"]
        );
        let mut young = remembered();
        young.stuck_after = 500;
        assert!(matches!(young.judge(&RULE), Outcome::Quiet));
    }
}
