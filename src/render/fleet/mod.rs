//! What a fleet reads, generated from the rule entries and the series `serve` writes, and
//! checked in: the Prometheus alert rules and their promtool tests (`deploy/`), the runbooks
//! they link to (`docs/runbooks.md`) and the Grafana dashboard (`deploy/grafana/`). The
//! runbooks quote each rule's example finding as the CLI prints it, and the examples exist in
//! test builds only, so the generator is this test module: a stale file fails here, naming
//! the command that refreshes it.

// Test code throughout (the module is compiled for tests only): a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod dashboard;
mod runbooks;
mod series;

use std::path::Path;

use crate::diagnose::rule::{Judged, Rule};
use crate::report::Severity;

const REFRESH: &str = "SOCKSCOPE_REFRESH=1 cargo test --lib fleet";

/// Where the runbooks are read, for `runbook_url`.
const RUNBOOKS_URL: &str = "https://github.com/sockscope/sockscope/blob/main/docs/runbooks.md";

/// `close_wait_excess` → `SockscopeCloseWaitExcess`.
fn alert_name(id: &str) -> String {
    let mut name = String::from("Sockscope");
    for word in id.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
}

/// How an alert on a rule's finding waits, and why: derived from when the rule judges.
struct Window {
    /// The alert's `for:`.
    hold: &'static str,
    /// For the rules that judge an interval: a rise is seen on one scrape only, so the alert
    /// looks back this far (`max_over_time`) and holds nothing.
    lookback: Option<&'static str>,
    why: &'static str,
}

fn window(rule: &dyn Rule) -> Window {
    let example = rule.example();
    match rule.judged() {
        Judged::Interval => Window {
            hold: "0m",
            lookback: Some("15m"),
            why: "a kernel counter rose between two collections: one scrape shows it, so the alert fires at once and stays 15 minutes after the last rise",
        },
        Judged::Remembered => Window {
            hold: "5m",
            lookback: None,
            why: "the rule already compares collections over time; five more minutes of the same keep one restart from paging",
        },
        Judged::Followed => Window {
            hold: "5m",
            lookback: None,
            why: "a rate over the connections closed since the previous collection (serve follows them): five minutes of it, so one burst of retries does not page",
        },
        Judged::Ranges => Window {
            hold: "5m",
            lookback: None,
            why: "your own ranges: five minutes outside them",
        },
        Judged::Once if example.severity == Severity::Info => Window {
            hold: "1h",
            lookback: None,
            why: "a setting worth a look, not an incident: an hour of it",
        },
        Judged::Once if rule.governs().is_some() => Window {
            hold: "15m",
            lookback: None,
            why: "a pile of sockets in one state: bursts drain within minutes, a leak or a stuck peer does not",
        },
        Judged::Once => Window {
            hold: "5m",
            lookback: None,
            why: "a kernel limit or queue nearly used up: drops start when it is, so five minutes",
        },
    }
}

/// The first sentence of `text`.
fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}

/// Checks `path` (relative to the crate) against `generated`, or rewrites it under
/// SOCKSCOPE_REFRESH.
fn fresh(path: &str, generated: &str) {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("SOCKSCOPE_REFRESH").is_some() {
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&full, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        committed == generated,
        "{path} is stale or missing; refresh it with:\n    {REFRESH}"
    );
}

#[test]
fn fleet_alert_rules_are_fresh() {
    fresh("deploy/sockscope-rules.yml", &alerts::rules());
    fresh("deploy/sockscope-rules.test.yml", &alerts::tests());
}

#[test]
fn fleet_runbooks_are_fresh() {
    fresh("docs/runbooks.md", &runbooks::markdown());
}

#[test]
fn fleet_dashboard_is_fresh() {
    fresh("deploy/grafana/sockscope.json", &dashboard::json());
}

#[test]
fn alert_names_are_camel_case_ids() {
    assert_eq!(alert_name("close_wait_excess"), "SockscopeCloseWaitExcess");
    assert_eq!(alert_name("fin_wait2_stuck"), "SockscopeFinWait2Stuck");
}

/// promtool's cases cover every alert both ways: one evaluation where it must be quiet
/// (`exp_alerts: []`) and one where it must fire on node-a (and so not on node-b).
#[test]
fn every_alert_has_a_firing_and_a_quiet_case() {
    let rules = alerts::rules();
    let tests = alerts::tests();
    let names: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(names.len() > 20, "{} alerts", names.len());
    for name in names {
        let quiet = format!("alertname: {name}\n        exp_alerts: []\n");
        let fires = format!(
            "alertname: {name}\n        exp_alerts:\n          - exp_labels:\n              instance: node-a\n"
        );
        assert!(
            tests.contains(&quiet),
            "{name} has no case where it stays quiet"
        );
        assert!(tests.contains(&fires), "{name} has no case where it fires");
    }
}
