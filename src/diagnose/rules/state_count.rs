//! `state_count`: a state's count outside the range the operator gave it (`--warn`, `--crit`,
//! `[states]`, `[ports.N]`). `ranges::apply` judges the ranges; this entry documents the rule,
//! builds its finding and words it.

use serde::Serialize;

use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::NoThresholds;
use crate::model::StateSet;
use crate::report::{Facts, Finding, Range, RangeVerdict, Severity};

pub static RULE: RuleDef<NoThresholds> = RuleDef {
    id: "state_count",
    catalog: "§3",
    meaning: "A state's count (or a group's, or on one local port) outside the range you gave it with `--warn`, `--crit`, `[states]` or `[ports.N]`.",
    why: "Your own limits, in the monitoring-plugins range syntax. Where a rule explains that state, your ranges set that rule's level instead, and the count is not reported twice.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: NoThresholds {},
    describe: |_| "none: only the ranges you give".to_string(),
    judge: Judge::Ranges,
    #[cfg(test)]
    example: tests::example,
};

/// A `state_count` finding: a count outside the range the operator gave it.
pub fn finding(v: RangeVerdict, arg: &str, (severity, range): (Severity, Range)) -> Finding {
    let next = match v.port {
        Some(p) => format!("sockscope top --by process --by peer --state {arg} --sport {p}"),
        None => format!("sockscope top --by process --by peer --state {arg}"),
    };
    let facts = StateCountFacts {
        state: v.label,
        count: v.count,
        warn: v.warn.map(|r| r.to_string()),
        crit: v.crit.map(|r| r.to_string()),
        states: v.states,
        selector: arg.to_string(),
        level: severity,
        range,
    };
    Finding::new(RULE.id, severity, facts).with_next_steps(vec![next])
}

/// A state's count (or a group's, or on one port) outside the operator's range.
#[derive(Debug, Serialize)]
pub struct StateCountFacts {
    /// `close_wait`, `close_wait_port_5000`.
    pub state: String,
    pub count: u64,
    pub warn: Option<String>,
    pub crit: Option<String>,
    #[serde(skip)]
    pub states: StateSet,
    /// As the operator named the state or group (`close-wait`, `connected`).
    #[serde(skip)]
    pub selector: String,
    #[serde(skip)]
    pub level: Severity,
    /// The range the count is outside.
    #[serde(skip)]
    pub range: Range,
}

impl StateCountFacts {
    fn level(&self) -> &'static str {
        if self.level == Severity::Critical {
            "critical"
        } else {
            "warning"
        }
    }
}

impl Facts for StateCountFacts {
    fn title(&self) -> String {
        format!(
            "{}={}, outside its {} range {}",
            self.state,
            self.count,
            self.level(),
            self.range
        )
    }

    fn summary(&self) -> String {
        let names: Vec<&str> = self.states.states().map(|s| s.name()).collect();
        format!(
            "{} socket{} in {}; the {} range is {}.",
            self.count,
            if self.count == 1 { "" } else { "s" },
            if names.len() == 1 {
                names.join("")
            } else {
                // A group reads as the operator named it: `connected (SYN_SENT, …)`.
                format!("{} ({})", self.selector, names.join(", "))
            },
            self.level(),
            self.range
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    fn verdict(states: StateSet, count: u64, warn: &str) -> (RangeVerdict, Range) {
        let warn: Range = warn.parse().unwrap();
        let v = RangeVerdict {
            label: "close_wait".into(),
            states,
            port: None,
            count,
            warn: Some(warn),
            crit: None,
            outside: Some((Severity::Warning, warn)),
        };
        (v, warn)
    }

    pub(super) fn example() -> Finding {
        let (v, warn) = verdict(StateSet::one(TcpState::CloseWait), 300, "100");
        finding(v, "close-wait", (Severity::Warning, warn))
    }

    #[test]
    fn a_count_outside_its_range_says_which_and_how_far() {
        let f = example();
        assert_eq!((f.id, f.severity), ("state_count", Severity::Warning));
        let facts = f.facts_as::<StateCountFacts>().unwrap();
        assert_eq!((facts.count, facts.warn.as_deref()), (300, Some("100")));
        assert_eq!(
            f.facts.title(),
            "close_wait=300, outside its warning range 100"
        );
        assert_eq!(
            f.facts.summary(),
            "300 sockets in CLOSE_WAIT; the warning range is 100."
        );
        assert_eq!(
            f.next_steps,
            vec!["sockscope top --by process --by peer --state close-wait"]
        );
    }

    #[test]
    fn a_group_reads_as_the_operator_named_it() {
        let group = StateSet::of(&[TcpState::SynSent, TcpState::Established]);
        let (mut v, warn) = verdict(group, 1, "0");
        v.port = Some(443);
        let f = finding(v, "connected", (Severity::Warning, warn));
        assert_eq!(
            f.facts.summary(),
            "1 socket in connected (SYN_SENT, ESTABLISHED); the warning range is 0."
        );
        assert_eq!(
            f.next_steps,
            vec!["sockscope top --by process --by peer --state connected --sport 443"]
        );
    }
}
