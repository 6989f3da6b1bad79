//! When `check`'s text output speaks: every problem by default; with `--renotify`, an
//! unchanged problem only once per period, and the return to OK once. A problem that changed
//! is news at once although the status word did not: a finding not told of before (a rule, or
//! the same rule in another namespace or on another range), a finding more severe than when
//! it was told, or another top culprit process (by name: a restart under a new pid is not).

use std::time::Duration;

use super::state::{MAX_TRACKED, Said, Saved};
use crate::report::{Culprit, Finding, Severity, Status};

/// What a notification tells of each warning and critical finding, to compare with the next.
pub fn said(findings: &[Finding]) -> Vec<Said> {
    findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .take(MAX_TRACKED)
        .map(|f| Said {
            id: f.id.to_string(),
            subject: subject(f),
            namespace: f.namespace.clone(),
            severity: f.severity.word().to_string(),
            process: f.culprits.iter().find_map(|c| match c {
                Culprit::Process { comm, .. } => Some(comm.clone()),
                _ => None,
            }),
        })
        .collect()
}

/// What a finding is about beyond its rule, where one rule fires for several things at once:
/// `state_count`, once per range outside (its facts' `state`: `established`,
/// `close_wait_port_5000`).
fn subject(f: &Finding) -> Option<String> {
    match f.facts.numbers().get("state")? {
        serde_json::Value::String(label) => Some(label.clone()),
        _ => None,
    }
}

/// The same problem, wherever it is: rule, subject, namespace.
fn same(a: &Said, b: &Said) -> bool {
    (&a.id, &a.subject, &a.namespace) == (&b.id, &b.subject, &b.namespace)
}

fn rank(severity: &str) -> u8 {
    match severity {
        "CRITICAL" => 2,
        "WARNING" => 1,
        _ => 0,
    }
}

/// Whether `now` holds something `told` did not: a finding not told of, one more severe than
/// told, or another top culprit process. A finding whose holder could not be named this time
/// is no news (attribution comes and goes with processes that exit).
fn news(told: &[Said], now: &[Said]) -> bool {
    now.iter().any(|n| match told.iter().find(|t| same(t, n)) {
        None => true,
        Some(t) => {
            rank(&n.severity) > rank(&t.severity)
                || n.process
                    .as_ref()
                    .is_some_and(|p| t.process.as_ref() != Some(p))
        }
    })
}

/// What to remember as told: `now`, each keeping the culprit told before where none was named
/// this time.
fn remembered(told: Option<&[Said]>, now: &[Said]) -> Vec<Said> {
    now.iter()
        .map(|n| {
            let before = told.and_then(|t| t.iter().find(|t| same(t, n)));
            Said {
                process: n
                    .process
                    .clone()
                    .or_else(|| before.and_then(|b| b.process.clone())),
                ..n.clone()
            }
        })
        .collect()
}

/// Whether text output should speak this time, with the findings it would tell of (`now`);
/// updates what was last told in `next`.
pub fn notify(
    next: &mut Saved,
    status: Status,
    now: &[Said],
    at: u64,
    renotify: Option<Duration>,
) -> bool {
    let word = status.word();
    let before = next.notified_status.clone();
    // A file of an earlier version does not say what was told: nothing is news, once.
    let changed = next
        .notified_findings
        .as_deref()
        .is_some_and(|told| news(told, now));
    let speak = match (status, before.as_deref(), renotify) {
        (Status::Ok, Some(prev), _) if prev != "OK" => true,
        (Status::Ok, _, _) => false,
        (_, _, None) => true,
        (_, Some(prev), Some(every)) if prev == word => {
            changed
                || next
                    .notified_at
                    .is_none_or(|t| at.saturating_sub(t) >= every.as_secs())
        }
        _ => true,
    };
    if speak || status == Status::Ok {
        next.notified_status = Some(word.to_string());
        if speak {
            next.notified_at = Some(at);
        }
    }
    // What was told stays what was told while quiet, so a finding that comes and goes, or
    // eases and worsens again, is not news each time.
    if speak || status == Status::Ok || next.notified_findings.is_none() {
        let told = next.notified_findings.take();
        next.notified_findings = Some(remembered(told.as_deref(), now));
    }
    speak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, severity: &str, process: Option<&str>) -> Said {
        Said {
            id: id.into(),
            subject: None,
            namespace: None,
            severity: severity.into(),
            process: process.map(String::from),
        }
    }

    #[test]
    fn an_unchanged_problem_waits_and_recovery_speaks_once() {
        let hour = Some(Duration::from_secs(3600));
        let mut s = Saved::new();
        let w = [finding("close_wait_excess", "WARNING", Some("java"))];
        let c = [finding("close_wait_excess", "CRITICAL", Some("java"))];
        assert!(notify(&mut s, Status::Warning, &w, 1000, hour));
        assert!(!notify(&mut s, Status::Warning, &w, 1060, hour));
        assert!(
            notify(&mut s, Status::Critical, &c, 1120, hour),
            "a new status speaks"
        );
        assert!(
            notify(&mut s, Status::Critical, &c, 4800, hour),
            "an hour later"
        );
        assert!(notify(&mut s, Status::Ok, &[], 4860, hour), "recovery");
        assert!(!notify(&mut s, Status::Ok, &[], 4920, hour), "only once");
        let mut s = Saved::new();
        assert!(notify(&mut s, Status::Warning, &w, 1000, None));
        assert!(
            notify(&mut s, Status::Warning, &w, 1001, None),
            "no --renotify: always"
        );
    }

    #[test]
    fn a_changed_problem_is_news_within_the_period() {
        let day = Some(Duration::from_secs(86400));
        let java = [finding("close_wait_excess", "WARNING", Some("java"))];
        let python = [finding("close_wait_excess", "WARNING", Some("python3"))];
        let mut s = Saved::new();
        assert!(notify(&mut s, Status::Warning, &java, 0, day));
        // Its holder not named this time: no news, and java is still what was told.
        let unnamed = [finding("close_wait_excess", "WARNING", None)];
        assert!(!notify(&mut s, Status::Warning, &unnamed, 60, day));
        assert!(!notify(&mut s, Status::Warning, &java, 120, day));
        assert!(notify(&mut s, Status::Warning, &python, 180, day));
        // The same rule in another namespace is another problem.
        let elsewhere = Said {
            namespace: Some("web".into()),
            ..python[0].clone()
        };
        let both = [python[0].clone(), elsewhere];
        assert!(notify(&mut s, Status::Warning, &both, 240, day));
        // Gone, then back: it was told, so it is not news again.
        assert!(!notify(&mut s, Status::Warning, &python, 300, day));
        assert!(!notify(&mut s, Status::Warning, &both, 360, day));
        // A file of an earlier version: nothing to compare with, once; then remembered.
        let mut s = Saved::new();
        s.notified_status = Some("WARNING".into());
        s.notified_at = Some(0);
        assert!(!notify(&mut s, Status::Warning, &java, 60, day));
        assert!(notify(&mut s, Status::Warning, &python, 120, day));
    }
}
