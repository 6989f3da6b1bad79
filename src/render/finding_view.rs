//! A finding in words and as JSON: the rule's facts worded by the rule's entry, and before them
//! the operator's ranges that set its level. Every renderer reads findings through here, so the
//! text, the terminal view and the JSON say the same.

use serde::Serialize;

use super::proof::EvidenceView;
use crate::report::{Culprit, Finding, OperatorRanges, RangeVerdict, Severity};

/// A finding as the JSON document writes it (`findings[]`, and each namespace's).
#[derive(Serialize)]
pub(crate) struct FindingView<'a> {
    id: &'a str,
    severity: Severity,
    title: String,
    summary: String,
    /// What the finding rests on: first its own numbers (`kind: counts`, with the operator's
    /// ranges that set the level), then what the kernel showed behind it (ages, threads,
    /// peers, limits) and what could not be read.
    evidence: Vec<serde_json::Value>,
    /// Most likely first.
    causes: Vec<String>,
    next_steps: &'a [String],
    culprits: &'a [Culprit],
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

impl<'a> FindingView<'a> {
    pub(crate) fn of(f: &'a Finding) -> FindingView<'a> {
        FindingView {
            id: f.id,
            severity: f.severity,
            title: title(f),
            summary: summary(f),
            evidence: evidence_list(f),
            causes: causes(f),
            next_steps: &f.next_steps,
            culprits: &f.culprits,
            namespace: f.namespace.as_deref(),
        }
    }

    pub(crate) fn all(findings: &'a [Finding]) -> Vec<FindingView<'a>> {
        findings.iter().map(FindingView::of).collect()
    }
}

/// The JSON `evidence` list: the counts first, then each piece of evidence.
fn evidence_list(f: &Finding) -> Vec<serde_json::Value> {
    let mut counts = evidence(f);
    if let Some(fields) = counts.as_object_mut() {
        fields.insert("kind".into(), "counts".into());
        fields.insert("text".into(), summary(f).into());
    }
    let mut list = vec![counts];
    list.extend(
        f.evidence
            .iter()
            .map(|e| serde_json::to_value(EvidenceView::of(e)).unwrap_or_default()),
    );
    list
}

/// One line: what is wrong, and how much.
pub fn title(f: &Finding) -> String {
    f.facts.title()
}

/// The numbers in sentences, after what the operator's ranges made of them.
pub fn summary(f: &Finding) -> String {
    let own = f.facts.summary();
    match &f.ranges {
        Some(ranges) => format!("{} {own}", ranges_text(ranges)),
        None => own,
    }
}

/// Most likely first.
pub fn causes(f: &Finding) -> Vec<String> {
    f.facts.causes()
}

/// The facts, plus `operator_ranges` when the operator's ranges set the level.
pub fn evidence(f: &Finding) -> serde_json::Value {
    let mut evidence = f.facts.numbers();
    if let (Some(ranges), Some(fields)) = (&f.ranges, evidence.as_object_mut()) {
        let views: Vec<RangeView> = ranges.verdicts.iter().map(RangeView::of).collect();
        fields.insert(
            "operator_ranges".into(),
            serde_json::to_value(views).unwrap_or_default(),
        );
    }
    evidence
}

/// `Your ranges set its level: CLOSE_WAIT=300 is outside your warning range 100.`
fn ranges_text(ranges: &OperatorRanges) -> String {
    let texts: Vec<String> = ranges.verdicts.iter().map(verdict_text).collect();
    format!(
        "Your ranges set its level: {}{}.",
        texts.join("; "),
        if ranges.uncovered {
            "; the sockets on other ports are judged by the rule's own thresholds"
        } else {
            ""
        },
    )
}

/// `CLOSE_WAIT=300` or `CLOSE_WAIT on port 5000 = 300`, and what the ranges say of it.
fn verdict_text(v: &RangeVerdict) -> String {
    let state = v
        .states
        .states()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join("+");
    let what = match v.port {
        Some(p) => format!("{state} on port {p} = {}", v.count),
        None => format!("{state}={}", v.count),
    };
    match v.outside {
        Some((Severity::Critical, r)) => format!("{what} is outside your critical range {r}"),
        Some((_, r)) => format!("{what} is outside your warning range {r}"),
        None => format!(
            "{what} is within your ranges (warning {}, critical {})",
            v.warn.map_or("none".into(), |r| r.to_string()),
            v.crit.map_or("none".into(), |r| r.to_string())
        ),
    }
}

/// One of the operator's ranges in `evidence.operator_ranges`.
#[derive(Serialize)]
struct RangeView<'a> {
    state: &'a str,
    port: Option<u16>,
    count: u64,
    warn: Option<String>,
    crit: Option<String>,
}

impl<'a> RangeView<'a> {
    fn of(v: &'a RangeVerdict) -> RangeView<'a> {
        RangeView {
            state: &v.label,
            port: v.port,
            count: v.count,
            warn: v.warn.map(|r| r.to_string()),
            crit: v.crit.map(|r| r.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StateSet, TcpState};

    #[derive(Debug, Serialize)]
    struct Piled {
        count: u64,
    }

    impl crate::report::Facts for Piled {
        fn title(&self) -> String {
            format!("{} piled up", self.count)
        }
        fn summary(&self) -> String {
            "the rule's own words".into()
        }
    }

    fn verdict(port: Option<u16>, count: u64, outside: Option<Severity>) -> RangeVerdict {
        let warn: crate::report::Range = "100".parse().unwrap();
        RangeVerdict {
            label: match port {
                Some(p) => format!("close_wait_port_{p}"),
                None => "close_wait".into(),
            },
            states: StateSet::one(TcpState::CloseWait),
            port,
            count,
            warn: Some(warn),
            crit: None,
            outside: outside.map(|s| (s, warn)),
        }
    }

    #[test]
    fn the_operators_ranges_come_first_in_the_summary_and_in_the_evidence() {
        let mut f = Finding::new("close_wait_excess", Severity::Warning, Piled { count: 300 });
        assert_eq!(summary(&f), "the rule's own words");
        assert_eq!(evidence(&f), serde_json::json!({ "count": 300 }));
        f.ranges = Some(OperatorRanges {
            verdicts: vec![verdict(None, 300, Some(Severity::Warning))],
            uncovered: false,
        });
        assert_eq!(
            summary(&f),
            "Your ranges set its level: CLOSE_WAIT=300 is outside your warning range 100. the rule's own words"
        );
        let e = evidence(&f);
        assert_eq!(e["count"], 300);
        assert_eq!(
            e["operator_ranges"],
            serde_json::json!([{ "state": "close_wait", "port": null, "count": 300, "warn": "100", "crit": null }])
        );
        assert_eq!(title(&f), "300 piled up");
    }

    #[test]
    fn per_port_ranges_name_their_port_and_say_when_other_ports_keep_the_rules_level() {
        let mut f = Finding::new(
            "close_wait_excess",
            Severity::Critical,
            Piled { count: 550 },
        );
        f.ranges = Some(OperatorRanges {
            verdicts: vec![verdict(Some(5000), 30, None)],
            uncovered: true,
        });
        assert_eq!(
            summary(&f),
            "Your ranges set its level: CLOSE_WAIT on port 5000 = 30 is within your ranges (warning 100, critical none); the sockets on other ports are judged by the rule's own thresholds. the rule's own words"
        );
    }
}
