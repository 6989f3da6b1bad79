//! The operator's own ranges for state counts (`--warn`, `--crit`, `[states]`, `[ports.N]`):
//! a finding for each count outside its range. Sockets on a port with its own ranges are
//! judged there, not in the global count. Where the operator gave ranges for a state, they
//! decide the level of the rule about that state too.

use std::collections::BTreeSet;

use super::observe::Observations;
use super::rules::{ALL, state_count};
use crate::model::{StateSet, Tally};
use crate::report::{
    Finding, OperatorRanges, PortRanges, Range, RangeVerdict, Severity, StateRange,
};

fn judge(count: u64, w: Option<Range>, c: Option<Range>) -> Option<(Severity, Range)> {
    match (c, w) {
        (Some(c), _) if c.alerts(count as f64) => Some((Severity::Critical, c)),
        (_, Some(w)) if w.alerts(count as f64) => Some((Severity::Warning, w)),
        _ => None,
    }
}

/// One range judged: a state (or group), globally or on one port, and what it says.
struct Judgment<'a> {
    verdict: RangeVerdict,
    /// `--state` argument(s) of the next step.
    arg: &'a str,
}

/// Every state range judged, alerting or not; ranges whose states the `--state` filter leaves
/// out entirely are not judged (a count of 0 would be a lie) and come back as notes.
fn judge_all<'a>(
    tally: &Tally,
    obs: &Observations,
    warn: &'a [StateRange],
    crit: &'a [StateRange],
    ports: &'a [PortRanges],
    wanted: Option<StateSet>,
    notes: &mut Vec<String>,
) -> Vec<Judgment<'a>> {
    let mut judgments = Vec::new();
    let mut seen = BTreeSet::new();
    let excluded = |states: StateSet| wanted.is_some_and(|w| states.without(w) == states);
    let port_count = |port: u16, states: StateSet| -> u64 {
        states
            .states()
            .map(|s| obs.port_states.get(&(port, s)).copied().unwrap_or(0))
            .sum()
    };
    let range_of = |specs: &[StateRange], label: &str| {
        specs.iter().find(|r| r.label() == label).map(|r| r.range)
    };
    for spec in warn.iter().chain(crit) {
        let label = spec.label();
        if !seen.insert(label.clone()) {
            continue;
        }
        if excluded(spec.states) {
            notes.push(format!(
                "{} has ranges but --state leaves it out: it was not judged",
                spec.name
            ));
            continue;
        }
        let mut count: u64 = spec.states.states().map(|s| tally.state_total(s)).sum();
        for p in ports {
            let theirs = p.warn.as_ref().or(p.crit.as_ref());
            if theirs.is_some_and(|r| r.label() == label) {
                count = count.saturating_sub(port_count(p.port, spec.states));
            }
        }
        let (w, c) = (range_of(warn, &label), range_of(crit, &label));
        judgments.push(Judgment {
            verdict: RangeVerdict {
                label,
                states: spec.states,
                port: None,
                count,
                warn: w,
                crit: c,
                outside: judge(count, w, c),
            },
            arg: &spec.name,
        });
    }
    for p in ports {
        let Some(spec) = p.warn.as_ref().or(p.crit.as_ref()) else {
            continue;
        };
        if excluded(spec.states) {
            notes.push(format!(
                "{} on port {} has ranges but --state leaves it out: it was not judged",
                spec.name, p.port
            ));
            continue;
        }
        let count = port_count(p.port, spec.states);
        let (w, c) = (
            p.warn.as_ref().map(|r| r.range),
            p.crit.as_ref().map(|r| r.range),
        );
        judgments.push(Judgment {
            verdict: RangeVerdict {
                label: format!("{}_port_{}", spec.label(), p.port),
                states: spec.states,
                port: Some(p.port),
                count,
                warn: w,
                crit: c,
                outside: judge(count, w, c),
            },
            arg: &spec.name,
        });
    }
    judgments
}

/// Applies the operator's state ranges to the findings: a count outside its range is a
/// `state_count` finding, unless the rule about that state fired: then the rule keeps its
/// culprits, causes and next steps but takes its level from the ranges (and is dropped when
/// they call the count fine), and carries the verdicts ([`Finding::ranges`]). Returns notes
/// about ranges that could not be judged.
pub fn apply(
    findings: &mut Vec<Finding>,
    tally: &Tally,
    obs: &Observations,
    warn: &[StateRange],
    crit: &[StateRange],
    ports: &[PortRanges],
    wanted: Option<StateSet>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let judgments = judge_all(tally, obs, warn, crit, ports, wanted, &mut notes);
    let mut governed = vec![false; judgments.len()];
    // The rules that explain a pile of sockets in one state.
    for (state, id) in ALL.iter().filter_map(|r| Some((r.governs()?, r.id()))) {
        let mine: Vec<usize> = (0..judgments.len())
            .filter(|&i| judgments[i].verdict.states == StateSet::one(state))
            .collect();
        let Some(at) = findings.iter().position(|f| f.id == id) else {
            continue;
        };
        if mine.is_empty() {
            continue;
        }
        for &i in &mine {
            governed[i] = true;
        }
        let has_global = mine.iter().any(|&i| judgments[i].verdict.port.is_none());
        let on_ports: u64 = mine
            .iter()
            .filter(|&&i| judgments[i].verdict.port.is_some())
            .map(|&i| judgments[i].verdict.count)
            .sum();
        // Sockets of the state outside every port with ranges, and no global range: for
        // those the rule's own judgment still holds.
        let uncovered = !has_global && tally.state_total(state) > on_ports;
        let operator = mine
            .iter()
            .filter_map(|&i| judgments[i].verdict.outside.map(|v| v.0))
            .max();
        let finding = &mut findings[at];
        let severity = match (operator, uncovered) {
            (Some(o), true) => Some(o.max(finding.severity)),
            (None, true) => Some(finding.severity),
            (o, false) => o,
        };
        let Some(severity) = severity else {
            findings.remove(at);
            continue;
        };
        finding.severity = severity;
        finding.ranges = Some(OperatorRanges {
            verdicts: mine.iter().map(|&i| judgments[i].verdict.clone()).collect(),
            uncovered,
        });
    }
    for (j, governed) in judgments.into_iter().zip(governed) {
        if let (Some(outside), false) = (j.verdict.outside, governed) {
            findings.push(state_count::finding(j.verdict, j.arg, outside));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::model::{Family, KernelContext, Socket, TcpState};
    use crate::report::Facts;

    fn close_wait(n_on_5000: usize, n_elsewhere: usize) -> (Tally, Observations) {
        let mut obs = Observations::new(
            crate::diagnose::observe::Limits::default(),
            &KernelContext::default(),
        );
        obs.watch_ports([5000]);
        let mut tally = Tally::default();
        for (port, n) in [(5000, n_on_5000), (8080, n_elsewhere)] {
            for i in 0..n {
                let s = Socket::for_test(
                    TcpState::CloseWait,
                    &format!("10.0.0.1:{port}"),
                    &format!("10.0.0.5:{}", 40000 + i),
                );
                obs.observe(&s);
                tally.add(Family::Ipv4, TcpState::CloseWait);
            }
        }
        (tally, obs)
    }

    fn range(text: &str) -> StateRange {
        StateRange {
            name: "close-wait".into(),
            states: StateSet::one(TcpState::CloseWait),
            range: text.parse().unwrap(),
        }
    }

    #[derive(Debug, Serialize)]
    struct Piled;

    impl Facts for Piled {
        fn title(&self) -> String {
            "t".into()
        }
        fn summary(&self) -> String {
            "the rule's own words".into()
        }
    }

    fn rule(severity: Severity) -> Finding {
        Finding::new("close_wait_excess", severity, Piled).with_next_steps(vec!["next".into()])
    }

    /// The operator's verdicts the finding carries, as text: `CLOSE_WAIT=300 warning 100`.
    fn verdicts(f: &Finding) -> (Vec<String>, bool) {
        let Some(r) = &f.ranges else {
            return (Vec::new(), false);
        };
        let texts = r
            .verdicts
            .iter()
            .map(|v| {
                format!(
                    "{}{}={} {}",
                    v.label,
                    v.port.map_or(String::new(), |p| format!("@{p}")),
                    v.count,
                    v.outside
                        .map_or("within".into(), |(s, r)| format!("{} {r}", s.word()))
                )
            })
            .collect();
        (texts, r.uncovered)
    }

    fn levels(findings: &[Finding]) -> Vec<(&str, Severity)> {
        findings.iter().map(|f| (f.id, f.severity)).collect()
    }

    #[test]
    fn the_operators_ranges_set_the_rules_level_once() {
        let (tally, obs) = close_wait(300, 0);
        let mut f = vec![rule(Severity::Critical)];
        apply(
            &mut f,
            &tally,
            &obs,
            &[range("100")],
            &[range("1000")],
            &[],
            None,
        );
        assert_eq!(levels(&f), vec![("close_wait_excess", Severity::Warning)]);
        assert_eq!(
            verdicts(&f[0]),
            (vec!["close_wait=300 WARNING 100".to_string()], false)
        );
        assert_eq!(f[0].next_steps, vec!["next"]);
        // Within the ranges: the rule says nothing.
        let mut f = vec![rule(Severity::Critical)];
        apply(
            &mut f,
            &tally,
            &obs,
            &[range("1000")],
            &[range("2000")],
            &[],
            None,
        );
        assert_eq!(levels(&f), vec![]);
        // No rule fired: the count itself is the finding.
        let mut f = vec![];
        apply(&mut f, &tally, &obs, &[range("100")], &[], &[], None);
        assert_eq!(levels(&f), vec![("state_count", Severity::Warning)]);
        assert_eq!(
            f[0].facts.title(),
            "close_wait=300, outside its warning range 100"
        );
        assert_eq!(
            f[0].facts.summary(),
            "300 sockets in CLOSE_WAIT; the warning range is 100."
        );
        let facts = f[0].facts_as::<state_count::StateCountFacts>().unwrap();
        assert_eq!((facts.count, facts.warn.as_deref()), (300, Some("100")));
    }

    #[test]
    fn per_port_ranges_name_their_port_and_leave_other_ports_to_the_rule() {
        let port = PortRanges {
            port: 5000,
            warn: Some(range("100")),
            crit: Some(range("1000")),
        };
        let (tally, obs) = close_wait(300, 0);
        let mut f = vec![rule(Severity::Critical)];
        apply(
            &mut f,
            &tally,
            &obs,
            &[],
            &[],
            std::slice::from_ref(&port),
            None,
        );
        assert_eq!(levels(&f), vec![("close_wait_excess", Severity::Warning)]);
        assert_eq!(
            verdicts(&f[0]),
            (
                vec!["close_wait_port_5000@5000=300 WARNING 100".to_string()],
                false
            )
        );
        // 250 more on a port without ranges: the rule's own critical still holds for them.
        let (tally, obs) = close_wait(300, 250);
        let mut f = vec![rule(Severity::Critical)];
        apply(&mut f, &tally, &obs, &[], &[], &[port], None);
        assert_eq!(levels(&f), vec![("close_wait_excess", Severity::Critical)]);
        assert!(verdicts(&f[0]).1, "the other ports keep the rule's level");
    }

    #[test]
    fn a_state_the_filter_leaves_out_is_not_judged_on_zero() {
        let (tally, obs) = close_wait(0, 0);
        let mut f = vec![];
        let wanted = Some(StateSet::one(TcpState::Established));
        let notes = apply(&mut f, &tally, &obs, &[range("1:")], &[], &[], wanted);
        assert_eq!(levels(&f), vec![]);
        assert_eq!(
            notes,
            vec!["close-wait has ranges but --state leaves it out: it was not judged"]
        );
    }
}
