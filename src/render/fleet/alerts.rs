//! `deploy/sockscope-rules.yml`: one Prometheus alert per rule of the catalog, on
//! `sockscope_finding`, its `for:` from when the rule judges, its summary from the rule's
//! meaning, its description the first cause and next step the CLI prints for the rule's
//! example finding, its `runbook_url` the rule's section of `docs/runbooks.md`; then the
//! exporter's own alerts. And `deploy/sockscope-rules.test.yml`: a `promtool test rules` case per
//! alert that fires on one node, stays quiet on another, and stays quiet before its `for:`.

use super::{RUNBOOKS_URL, Window, alert_name, first_sentence, series, window};
use crate::diagnose::rules::ALL;
use crate::render::finding_view::causes;

/// YAML's double-quoted scalar is JSON's string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// One alert, whatever it watches.
pub struct Alert {
    pub name: String,
    pub expr: String,
    pub hold: &'static str,
    /// Labels the alert adds (the rules' alerts take `id` and `severity` from the series).
    pub labels: Vec<(&'static str, String)>,
    /// (key, template); `{{ $labels.instance }}` is the one template used.
    pub annotations: Vec<(&'static str, String)>,
    pub test: Case,
}

/// Input series for one node that fires (`node-a`) and one that does not (`node-b`), and when
/// to look: `quiet_at` minutes (nothing yet), `firing_at` minutes (node-a only), and for the
/// alerts that look back, `over_at` minutes (nothing again).
pub struct Case {
    /// (series without the instance label, values on node-a, values on node-b)
    pub inputs: Vec<(String, &'static str, &'static str)>,
    pub quiet_at: u32,
    pub firing_at: u32,
    pub over_at: Option<u32>,
    /// The labels of node-a's alert besides `instance`.
    pub labels: Vec<(&'static str, String)>,
}

fn minutes(hold: &str) -> u32 {
    hold.trim_end_matches(['m', 'h'])
        .parse::<u32>()
        .unwrap()
        .saturating_mul(if hold.ends_with('h') { 60 } else { 1 })
}

/// Every rule's alert, in catalog order.
pub fn finding_alerts() -> Vec<Alert> {
    let finding = series::family("sockscope_finding");
    let netns_finding = series::family("sockscope_netns_finding");
    ALL.iter()
        .map(|rule| {
            let id = rule.id();
            let example = rule.example();
            let doc = rule.doc(&Default::default());
            let Window { hold, lookback, .. } = window(*rule);
            let selector = format!("{finding}{{id=\"{id}\"}}");
            let expr = match lookback {
                Some(range) => format!(
                    "max by (instance, id, severity) (max_over_time({selector}[{range}])) == 1"
                ),
                None => format!("max by (instance, id, severity) ({selector}) == 1"),
            };
            let cause = causes(&example).into_iter().next().unwrap_or_default();
            let step = example.next_steps.first().cloned().unwrap_or_default();
            let description = format!(
                "Most likely: {cause} First step, as the CLI words it for an example: `{step}`. Run `sockscope` on {{{{ $labels.instance }}}} for the evidence, the culprits and the causes ranked by them; with --all-netns, {netns_finding}{{id=\"{id}\"}} names the namespace and container."
            );
            assert!(
                !cause.contains("{{") && !step.contains("{{"),
                "{id}'s words would be read as a template"
            );
            let severity = example.severity.word().to_lowercase();
            let (a, b, quiet_at, firing_at, over_at) = match lookback {
                // A rise seen on one scrape at minute 2; nothing on node-b.
                Some(_) => ("0 0 1 0x60", "0x63", 1, 5, Some(40)),
                None => ("1x120", "0x120", minutes(hold).max(1) - 1, minutes(hold) + 1, None),
            };
            Alert {
                name: alert_name(id),
                expr,
                hold,
                labels: Vec::new(),
                annotations: vec![
                    (
                        "summary",
                        format!(
                            "{{{{ $labels.instance }}}}: {} ({id})",
                            first_sentence(doc.meaning).trim_end_matches('.')
                        ),
                    ),
                    ("description", description),
                    ("runbook_url", format!("{RUNBOOKS_URL}#{id}")),
                ],
                test: Case {
                    inputs: vec![(
                        format!("{finding}{{job=\"sockscope\",id=\"{id}\",severity=\"{severity}\"}}"),
                        a,
                        b,
                    )],
                    quiet_at,
                    firing_at,
                    over_at,
                    labels: vec![("id", id.to_string()), ("severity", severity)],
                },
            }
        })
        .collect()
}

/// The exporter's own alerts: it cannot collect, or it folds many sockets away.
pub fn exporter_alerts() -> Vec<Alert> {
    let up = series::family("sockscope_up");
    let dropped = series::family("sockscope_series_dropped_total");
    let port = series::family("sockscope_port_sockets");
    let failures = series::family("sockscope_connect_failures_total");
    let lost = series::family("sockscope_events_lost_total");
    vec![
        Alert {
            name: "SockscopeDown".into(),
            expr: format!("up{{job=~\".*sockscope.*\"}} == 0 or {up} == 0"),
            hold: "5m",
            labels: vec![("severity", "warning".into())],
            annotations: vec![
                ("summary", "sockscope on {{ $labels.instance }} cannot collect".into()),
                ("description", "The scrape failed, or the collection did: the reason is in the body of /metrics (curl it), and in the logs of the pod or unit.".into()),
                ("runbook_url", format!("{RUNBOOKS_URL}#sockscope-down")),
            ],
            test: Case {
                inputs: vec![
                    (format!("{up}{{job=\"sockscope\"}}"), "0x20", "1x20"),
                ],
                quiet_at: 4,
                firing_at: 6,
                over_at: None,
                labels: vec![("job", "sockscope".into()), ("severity", "warning".into())],
            },
        },
        Alert {
            name: "SockscopeSeriesFolded".into(),
            expr: format!(
                "increase({dropped}[1h]) > 0 and on (instance) {port}{{port=\"other\"}} > 1000"
            ),
            hold: "0m",
            labels: vec![("severity", "info".into())],
            annotations: vec![
                ("summary", "{{ $labels.instance }}: over 1000 sockets on ports beyond --max-series; raise it to see them".into()),
                ("description", "serve keeps the --max-series busiest ports and sums the rest as port=\"other\"; the ports behind a finding may be among them.".into()),
                ("runbook_url", format!("{RUNBOOKS_URL}#sockscope-series-folded")),
            ],
            test: Case {
                inputs: vec![
                    (format!("{dropped}{{job=\"sockscope\"}}"), "0x5 10+10x60", "0x66"),
                    (
                        format!("{port}{{job=\"sockscope\",port=\"other\",side=\"local\",state=\"established\",folded=\"true\"}}"),
                        "2000x66",
                        "2000x66",
                    ),
                ],
                quiet_at: 4,
                firing_at: 10,
                over_at: None,
                labels: vec![("job", "sockscope".into()), ("severity", "info".into())],
            },
        },
        Alert {
            name: "SockscopeConnectFailures".into(),
            expr: format!("sum by (instance) (rate({failures}[5m])) > 1"),
            hold: "5m",
            labels: vec![("severity", "warning".into())],
            annotations: vec![
                ("summary", "{{ $labels.instance }}: over 1 connect a second never got an answer (refused or timed out)".into()),
                ("description", "A client retrying against a dead or unreachable backend: sockscope_connect_failures_total by port names where (port=\"0\": refused, the kernel cleared the port). On the node: sockscope watch shows the failed connects per destination and process.".into()),
                ("runbook_url", format!("{RUNBOOKS_URL}#sockscope-connect-failures")),
            ],
            test: Case {
                inputs: vec![(
                    format!("{failures}{{job=\"sockscope\",port=\"5432\",side=\"remote\"}}"),
                    "0+300x30",
                    "0+30x30",
                )],
                quiet_at: 4,
                firing_at: 12,
                over_at: None,
                labels: vec![("severity", "warning".into())],
            },
        },
        Alert {
            name: "SockscopeFlowEventsLost".into(),
            expr: format!("increase({lost}[10m]) > 0"),
            hold: "0m",
            labels: vec![("severity", "info".into())],
            annotations: vec![
                ("summary", "{{ $labels.instance }}: connection events were lost in the last 10 minutes; the flow counts miss them".into()),
                ("description", "The kernel dropped destroy events because sockscope's receive buffer was full: raise serve's --flow-buffer.".into()),
                ("runbook_url", format!("{RUNBOOKS_URL}#sockscope-flow-events-lost")),
            ],
            test: Case {
                inputs: vec![(
                    format!("{lost}{{job=\"sockscope\"}}"),
                    "0x5 50x40",
                    "0x45",
                )],
                quiet_at: 4,
                firing_at: 8,
                over_at: Some(30),
                labels: vec![("job", "sockscope".into()), ("severity", "info".into())],
            },
        },
    ]
}

fn write_rule(out: &mut String, a: &Alert) {
    out.push_str(&format!("      - alert: {}\n", a.name));
    out.push_str(&format!("        expr: {}\n", quoted(&a.expr)));
    out.push_str(&format!("        for: {}\n", a.hold));
    if !a.labels.is_empty() {
        out.push_str("        labels:\n");
        for (k, v) in &a.labels {
            out.push_str(&format!("          {k}: {}\n", quoted(v)));
        }
    }
    out.push_str("        annotations:\n");
    for (k, v) in &a.annotations {
        out.push_str(&format!("          {k}: {}\n", quoted(v)));
    }
}

/// `deploy/sockscope-rules.yml`.
pub fn rules() -> String {
    let mut out = String::from(
        "# Alert rules for sockscope serve: one per rule of the catalog, on sockscope_finding, and the\n\
         # exporter's own. Generated from the rule entries (src/diagnose/rules) by\n\
         #     SOCKSCOPE_REFRESH=1 cargo test --lib fleet\n\
         # Do not edit: a test fails when this file differs from what the rules generate.\n\
         # Check: promtool check rules sockscope-rules.yml; promtool test rules sockscope-rules.test.yml\n\
         # Each alert's severity and id come from the series; its runbook is in docs/runbooks.md.\n\
         groups:\n  - name: sockscope-findings\n    rules:\n",
    );
    for a in finding_alerts() {
        write_rule(&mut out, &a);
    }
    out.push_str("  - name: sockscope-exporter\n    rules:\n");
    for a in exporter_alerts() {
        write_rule(&mut out, &a);
    }
    out
}

/// `{{ $labels.instance }}` filled in, as Prometheus renders it for node-a.
fn rendered(template: &str) -> String {
    template.replace("{{ $labels.instance }}", "node-a")
}

fn write_case(out: &mut String, a: &Alert) {
    let c = &a.test;
    out.push_str(&format!(
        "  - name: {}\n    interval: 1m\n    input_series:\n",
        a.name
    ));
    for (series, on_a, on_b) in &c.inputs {
        for (node, values) in [("node-a", on_a), ("node-b", on_b)] {
            let with = series.replacen('{', &format!("{{instance=\"{node}\","), 1);
            out.push_str(&format!(
                "      - series: {}\n        values: {}\n",
                quoted(&with),
                quoted(values)
            ));
        }
    }
    out.push_str("    alert_rule_test:\n");
    let mut quiet = vec![c.quiet_at];
    quiet.extend(c.over_at);
    for at in quiet {
        out.push_str(&format!(
            "      - eval_time: {at}m\n        alertname: {}\n        exp_alerts: []\n",
            a.name
        ));
    }
    out.push_str(&format!(
        "      - eval_time: {}m\n        alertname: {}\n        exp_alerts:\n          - exp_labels:\n              instance: node-a\n",
        c.firing_at, a.name
    ));
    for (k, v) in &c.labels {
        out.push_str(&format!("              {k}: {}\n", quoted(v)));
    }
    out.push_str("            exp_annotations:\n");
    for (k, v) in &a.annotations {
        out.push_str(&format!("              {k}: {}\n", quoted(&rendered(v))));
    }
}

/// `deploy/sockscope-rules.test.yml`.
pub fn tests() -> String {
    let mut out = String::from(
        "# promtool test rules sockscope-rules.test.yml: every alert of sockscope-rules.yml fires on\n\
         # node-a, stays quiet on node-b, and stays quiet before its `for:` (and, for the alerts\n\
         # on a counter's rise, again after its look-back). Generated with sockscope-rules.yml.\n\
         rule_files:\n  - sockscope-rules.yml\nevaluation_interval: 1m\ntests:\n",
    );
    for a in finding_alerts().iter().chain(&exporter_alerts()) {
        write_case(&mut out, a);
    }
    out
}
