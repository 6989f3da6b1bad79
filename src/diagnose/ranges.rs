//! The operator's own ranges for state counts (`--warn`, `--crit`, `[states]`, `[ports.N]`):
//! a finding for each count outside its range. Sockets on a port with its own ranges are
//! judged there, not in the global count. Where the operator gave ranges for a state, they
//! decide the level of the rule about that state too.

use std::collections::BTreeSet;

use serde_json::json;

use super::STATE_COUNT_ID;
use super::observe::Observations;
use crate::model::{StateSet, Tally, TcpState};
use crate::report::{Finding, PortRanges, Range, Severity, StateRange};

fn judge(count: u64, w: Option<Range>, c: Option<Range>) -> Option<(Severity, Range)> {
    match (c, w) {
        (Some(c), _) if c.alerts(count as f64) => Some((Severity::Critical, c)),
        (_, Some(w)) if w.alerts(count as f64) => Some((Severity::Warning, w)),
        _ => None,
    }
}

struct Judged<'a> {
    label: String,
    states: StateSet,
    count: u64,
    warn: Option<Range>,
    crit: Option<Range>,
    /// `--state` argument(s) of the next step.
    arg: &'a str,
    port: Option<u16>,
}

fn finding(j: Judged, (severity, range): (Severity, Range)) -> Finding {
    let level = if severity == Severity::Critical {
        "critical"
    } else {
        "warning"
    };
    let Judged {
        label,
        states,
        count,
        warn,
        crit,
        arg,
        port,
    } = j;
    let names: Vec<&str> = states.states().map(|s| s.name()).collect();
    let next = match port {
        Some(p) => format!("sockscope top --by process --by peer --state {arg} --sport {p}"),
        None => format!("sockscope top --by process --by peer --state {arg}"),
    };
    Finding::new(
        STATE_COUNT_ID,
        severity,
        format!("{label}={count}, outside its {level} range {range}"),
        format!(
            "{count} socket{} in {}; the {level} range is {range}.",
            if count == 1 { "" } else { "s" },
            if names.len() == 1 {
                names.join("")
            } else {
                // A group reads as the operator named it: `connected (SYN_SENT, …)`.
                format!("{} ({})", arg, names.join(", "))
            },
        ),
        json!({
            "state": label,
            "count": count,
            "warn": warn.map(|r| r.to_string()),
            "crit": crit.map(|r| r.to_string()),
        }),
        vec![],
        vec![next],
        vec![],
        vec![],
    )
}

/// One range judged: a state (or group), globally or on one port, and what it says.
struct Judgment<'a> {
    judged: Judged<'a>,
    verdict: Option<(Severity, Range)>,
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
            verdict: judge(count, w, c),
            judged: Judged {
                label,
                states: spec.states,
                count,
                warn: w,
                crit: c,
                arg: &spec.name,
                port: None,
            },
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
            verdict: judge(count, w, c),
            judged: Judged {
                label: format!("{}_port_{}", spec.label(), p.port),
                states: spec.states,
                count,
                warn: w,
                crit: c,
                arg: &spec.name,
                port: Some(p.port),
            },
        });
    }
    judgments
}

/// The rule that explains a pile of sockets in one state.
const RULE_OF_STATE: &[(TcpState, &str)] = &[
    (TcpState::CloseWait, "close_wait_excess"),
    (TcpState::SynSent, "syn_sent_stuck"),
    (TcpState::SynRecv, "syn_recv_flood"),
    (TcpState::FinWait1, "fin_wait1_excess"),
    (TcpState::FinWait2, "fin_wait2_excess"),
    (TcpState::LastAck, "last_ack_excess"),
    (TcpState::Closing, "closing_excess"),
];

/// `CLOSE_WAIT=300` or `CLOSE_WAIT on port 5000 = 300`, and what the ranges say of it.
fn verdict_text(j: &Judgment) -> String {
    let state = j
        .judged
        .states
        .states()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join("+");
    let what = match j.judged.port {
        Some(p) => format!("{state} on port {p} = {}", j.judged.count),
        None => format!("{state}={}", j.judged.count),
    };
    match j.verdict {
        Some((Severity::Critical, r)) => format!("{what} is outside your critical range {r}"),
        Some((_, r)) => format!("{what} is outside your warning range {r}"),
        None => format!(
            "{what} is within your ranges (warning {}, critical {})",
            j.judged.warn.map_or("none".into(), |r| r.to_string()),
            j.judged.crit.map_or("none".into(), |r| r.to_string())
        ),
    }
}

/// Applies the operator's state ranges to the findings: a count outside its range is a
/// `state_count` finding, unless the rule about that state fired: then the rule keeps its
/// culprits, causes and next steps but takes its level from the ranges (and is dropped when
/// they call the count fine). Returns notes about ranges that could not be judged.
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
    for &(state, id) in RULE_OF_STATE {
        let mine: Vec<usize> = (0..judgments.len())
            .filter(|&i| judgments[i].judged.states == StateSet::one(state))
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
        let has_global = mine.iter().any(|&i| judgments[i].judged.port.is_none());
        let on_ports: u64 = mine
            .iter()
            .filter(|&&i| judgments[i].judged.port.is_some())
            .map(|&i| judgments[i].judged.count)
            .sum();
        // Sockets of the state outside every port with ranges, and no global range: for
        // those the rule's own judgment still holds.
        let uncovered = !has_global && tally.state_total(state) > on_ports;
        let operator = mine
            .iter()
            .filter_map(|&i| judgments[i].verdict.map(|v| v.0))
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
        let texts: Vec<String> = mine.iter().map(|&i| verdict_text(&judgments[i])).collect();
        finding.severity = severity;
        finding.summary = format!(
            "Your ranges set its level: {}{}. {}",
            texts.join("; "),
            if uncovered {
                "; the sockets on other ports are judged by the rule's own thresholds"
            } else {
                ""
            },
            finding.summary
        );
        if let Some(evidence) = finding.evidence.as_object_mut() {
            evidence.insert(
                "operator_ranges".into(),
                mine.iter()
                    .map(|&i| {
                        let j = &judgments[i].judged;
                        json!({
                            "state": j.label,
                            "port": j.port,
                            "count": j.count,
                            "warn": j.warn.map(|r| r.to_string()),
                            "crit": j.crit.map(|r| r.to_string()),
                        })
                    })
                    .collect(),
            );
        }
    }
    for (j, governed) in judgments.into_iter().zip(governed) {
        if let (Some(verdict), false) = (j.verdict, governed) {
            findings.push(finding(j.judged, verdict));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::thresholds::Thresholds;
    use crate::model::{Family, KernelContext, Socket};

    fn close_wait(n_on_5000: usize, n_elsewhere: usize) -> (Tally, Observations) {
        let mut obs = Observations::new(&Thresholds::default(), &KernelContext::default());
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

    fn rule(severity: Severity) -> Finding {
        Finding::new(
            "close_wait_excess",
            severity,
            "t".into(),
            "the rule's own words".into(),
            json!({}),
            vec!["cause".into()],
            vec!["next".into()],
            vec![],
            vec![],
        )
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
        assert!(f[0].summary.starts_with("Your ranges set its level: CLOSE_WAIT=300 is outside your warning range 100. the rule's own words"));
        assert_eq!(f[0].next_steps, vec!["next"]);
        assert_eq!(f[0].evidence["operator_ranges"][0]["count"], 300);
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
        assert_eq!(levels(&f), vec![(STATE_COUNT_ID, Severity::Warning)]);
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
        assert!(
            f[0].summary.contains("CLOSE_WAIT on port 5000 = 300"),
            "{}",
            f[0].summary
        );
        // 250 more on a port without ranges: the rule's own critical still holds for them.
        let (tally, obs) = close_wait(300, 250);
        let mut f = vec![rule(Severity::Critical)];
        apply(&mut f, &tally, &obs, &[], &[], &[port], None);
        assert_eq!(levels(&f), vec![("close_wait_excess", Severity::Critical)]);
        assert!(
            f[0].summary.contains("judged by the rule's own thresholds"),
            "{}",
            f[0].summary
        );
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
