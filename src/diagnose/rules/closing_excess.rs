//! A10 `closing_excess`: simultaneous closes whose FIN is not acknowledged.

use serde::Serialize;

use super::culprits::peer_culprits;
use super::words::{plural, strings};
use crate::diagnose::evidence::Purpose;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::Count;
use crate::diagnose::{Input, Outcome};
use crate::model::TcpState;
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<Count> = RuleDef {
    id: "closing_excess",
    catalog: "A10",
    meaning: "Simultaneous closes whose FIN is not acknowledged.",
    why: "Rare in healthy traffic; suggests lost ACKs or middleboxes mangling FINs.",
    governs: Some(TcpState::Closing),
    reads: Reads {
        ages: Some(TcpState::Closing),
        threads: false,
    },
    defaults: Count {
        warn: 10,
        crit: 100,
    },
    describe: |t| format!("warning at {}, critical at {}", t.warn, t.crit),
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

fn judge(s: &Input, th: &Count) -> Outcome {
    let n = s.obs.closing.total;
    let Some(sev) = Severity::from_levels(n >= th.warn, n >= th.crit) else {
        return Outcome::Quiet;
    };
    Outcome::Fired(
        Finding::new(
            RULE.id,
            sev,
            ClosingFacts {
                count: n,
                thresholds: *th,
            },
        )
        .with_next_steps(vec![
            "ss -tno state closing".into(),
            "sockscope top --by peer --state closing".into(),
        ])
        .with_culprits(peer_culprits(&s.obs.closing.by_peer))
        .with_evidence(
            s.evidence
                .map(|e| {
                    e.for_finding(Some(TcpState::Closing), &[], Purpose::Peers)
                        .0
                })
                .unwrap_or_default(),
        ),
    )
}

/// Simultaneous closes whose FIN is not acknowledged.
#[derive(Debug, Serialize)]
pub struct ClosingFacts {
    pub count: u64,
    pub thresholds: Count,
}

impl Facts for ClosingFacts {
    fn title(&self) -> String {
        format!("{} stuck in CLOSING", plural(self.count, "connection"))
    }

    fn summary(&self) -> String {
        format!(
            "{} in CLOSING: both sides closed at once and this host's FIN is still unacknowledged. That is rare in healthy traffic.",
            plural(self.count, "socket")
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "ACKs lost on the path.",
            "A middlebox that mangles or drops FIN segments.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::orphan_state::tests::orphans;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, severity};

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &ctx(), &orphans(TcpState::Closing, 10, 0)))
    }

    #[test]
    fn closing_warns_at_ten() {
        let f = example();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(facts::<ClosingFacts>(&f).count, 10);
        assert_quiet(judge(&RULE, &ctx(), &orphans(TcpState::Closing, 9, 0)));
        assert_eq!(
            severity(&judge(&RULE, &ctx(), &orphans(TcpState::Closing, 100, 0))),
            Some(Severity::Critical)
        );
    }
}
