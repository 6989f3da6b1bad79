//! A5 `accept_queue_stalled`: a listener whose accept queue is waiting and has not moved since
//! the run before. Needs two runs.

use serde::Serialize;

use crate::diagnose::Outcome;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::runs::Runs;
use crate::diagnose::thresholds::NoThresholds;
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "accept_queue_stalled",
    catalog: "A5",
    meaning: "A listener whose accept queue holds connections and is unchanged since the last run.",
    why: "A queue that neither grows nor drains means accept() is not being called at all: the service is hung, not slow.",
    governs: None,
    reads: Reads {
        ages: None,
        threads: true,
    },
    defaults: NoThresholds {},
    describe: |_| "critical when a waiting queue has not moved between two runs".to_string(),
    judge: Judge::Remembered(judge),
    #[cfg(test)]
    example: tests::example,
};

fn judge(runs: &Runs) -> Outcome {
    let stalled: Vec<(&String, &(u32, u64))> = runs
        .accept_queues
        .iter()
        .filter(|(_, (_, since))| *since < runs.now)
        .collect();
    let Some((addr, (queued, since))) = stalled.first() else {
        return Outcome::Quiet;
    };
    let facts = StalledFacts {
        listener: addr.to_string(),
        queued: *queued,
        unchanged_for_s: runs.now - since,
        listeners_stalled: stalled.len(),
    };
    Outcome::Fired(
        Finding::new(RULE.id, Severity::Critical, facts).with_next_steps(vec![
            format!(
                "ss -lntp '( sport = :{} )'",
                addr.rsplit(':').next().unwrap_or("0")
            ),
            "Take a thread dump of the service: the accept loop is blocked.".into(),
        ]),
    )
}

/// The first listener (by address) whose accept queue has not moved since the run before.
#[derive(Debug, Serialize)]
pub struct StalledFacts {
    pub listener: String,
    pub queued: u32,
    pub unchanged_for_s: u64,
    pub listeners_stalled: usize,
}

impl Facts for StalledFacts {
    fn title(&self) -> String {
        format!("accept() has stalled on {}", self.listener)
    }

    fn summary(&self) -> String {
        format!(
            "{} connections have waited in the accept queue of {} unchanged for {} s (since the run before): the application is not accepting at all.{}",
            self.queued,
            self.listener,
            self.unchanged_for_s,
            if self.listeners_stalled > 1 {
                format!(
                    " {} more listeners are stalled too.",
                    self.listeners_stalled - 1
                )
            } else {
                String::new()
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{Remembered, facts, fired};

    pub(super) fn example() -> Finding {
        let r = Remembered {
            accept_queues: [
                ("127.0.0.1:5000".to_string(), (7, 940)),
                ("127.0.0.1:6000".to_string(), (2, 1000)),
                ("[::1]:7000".to_string(), (3, 700)),
            ]
            .into(),
            ..Remembered::default()
        };
        fired(r.judge(&RULE))
    }

    #[test]
    fn a_queue_unchanged_since_the_run_before_is_a_stalled_accept_loop() {
        let f = example();
        assert_eq!(f.severity, Severity::Critical);
        let seen = facts::<StalledFacts>(&f);
        assert_eq!(
            (
                seen.listener.as_str(),
                seen.queued,
                seen.unchanged_for_s,
                seen.listeners_stalled
            ),
            ("127.0.0.1:5000", 7, 60, 2)
        );
        assert_eq!(f.next_steps[0], "ss -lntp '( sport = :5000 )'");
        assert!(
            f.facts
                .summary()
                .ends_with(" 1 more listeners are stalled too.")
        );
        let moving = Remembered {
            accept_queues: [("127.0.0.1:5000".to_string(), (7, 1000))].into(),
            ..Remembered::default()
        };
        assert!(matches!(moving.judge(&RULE), Outcome::Quiet));
    }
}
