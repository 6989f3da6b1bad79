//! A8 `fin_wait2_stuck`: the same FIN_WAIT2 sockets, still held by a process, seen across runs
//! for `--stuck-after`. Needs two runs.

use super::stuck::{StuckWords, judge_stuck};
use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::Runs;
use crate::diagnose::thresholds::NoThresholds;
use crate::model::TcpState;

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "fin_wait2_stuck",
    catalog: "A8",
    meaning: "The same FIN_WAIT2 sockets still held by a process (by inode) seen across runs for `--stuck-after`, with their holders.",
    why: "No timer ends a FIN_WAIT2 socket its process still holds after shutdown(): the peer never closes its side, and the application waits for ever.",
    governs: None,
    reads: Reads::holders_of(TcpState::FinWait2),
    defaults: NoThresholds {},
    describe: |_| "warning once a socket has stayed `--stuck-after` (default 5m)".to_string(),
    judge: Judge::Remembered(judge),
    #[cfg(test)]
    example: tests::example,
};

static WORDS: StuckWords = StuckWords {
    tcp_state: TcpState::FinWait2,
    state: "FIN_WAIT2",
    arg: "fin-wait-2",
    meaning: "still in FIN_WAIT2 and held by a process: half-closed with shutdown() and never closed; the peer never closes its side",
};

fn judge(runs: &Runs) -> Outcome {
    judge_stuck(runs, RULE.id, runs.fin_wait2, &WORDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::stuck::StuckFacts;
    use crate::diagnose::rules::testkit::{Remembered, facts, fired};
    use crate::report::Finding;

    pub(super) fn example() -> Finding {
        let r = Remembered {
            fin_wait2: [(7, 100), (8, 1000)].into(),
            ..Remembered::default()
        };
        fired(r.judge(&RULE))
    }

    #[test]
    fn held_sockets_seen_for_long_enough_are_stuck() {
        let f = example();
        assert_eq!(f.inodes, vec![7]);
        assert_eq!(facts::<StuckFacts>(&f).oldest_s, 900);
        assert_eq!(f.facts.title(), "1 sockets stuck in FIN_WAIT2");
        let r = Remembered {
            close_wait: [(7, 100)].into(),
            ..Remembered::default()
        };
        assert!(
            matches!(r.judge(&RULE), Outcome::Quiet),
            "CLOSE_WAIT is not its state"
        );
    }
}
