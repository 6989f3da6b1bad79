//! `docs/runbooks.md`: what each alert means and what to do, one section per rule: what the rule
//! looks at, its thresholds and why, how long the alert waits and why, and the rule's example
//! finding exactly as the CLI prints it (evidence, causes most likely first, next steps).

use super::alerts::exporter_alerts;
use super::{Window, alert_name, window};
use crate::diagnose::rules::ALL;
use crate::render::{Style, findings, scrape};

/// The rule's example finding as `sockscope` prints it when piped (no colour, no wrapping).
fn printed(rule: &dyn crate::diagnose::rule::Rule) -> String {
    let report = scrape::example().check.summary;
    let style = Style {
        unicode: false,
        color: false,
        width: None,
    };
    let mut out = Vec::new();
    findings::block(&report, &rule.example(), style, &mut out).unwrap();
    String::from_utf8(out).unwrap().trim_start().to_string()
}

pub fn markdown() -> String {
    let mut out = String::from(
        "# sockscope runbooks\n\n\
         <!-- Generated from the rule entries (src/diagnose/rules): SOCKSCOPE_REFRESH=1 cargo test --lib fleet -->\n\n\
         One section per alert of `deploy/sockscope-rules.yml`, which links here (`runbook_url`). An alert\n\
         says that a rule fired on a node; `sockscope` on that node (with `--all-netns`, or\n\
         `--netns NAME` for the container that `sockscope_netns_finding` names) prints the finding\n\
         with its evidence, the culprits, the causes ranked by that evidence, and the commands to run\n\
         next, as in the examples below (made-up hosts; yours will name your processes and ports).\n\n",
    );
    for rule in ALL {
        let id = rule.id();
        let doc = rule.doc(&Default::default());
        let Window {
            hold,
            lookback,
            why,
        } = window(*rule);
        let wait = match lookback {
            Some(range) => format!("fires on any rise seen in the last {range}"),
            None => format!("fires after {hold} of the finding"),
        };
        out.push_str(&format!(
            "<a id=\"{id}\"></a>\n## {id} ({})\n\n\
             Alert `{}`: {wait} ({why}).\n\n\
             **What it looks at.** {}\n\n\
             **Thresholds.** {}. {}\n\n\
             **What the CLI prints**, for example:\n\n```text\n{}```\n\n",
            doc.catalog,
            alert_name(id),
            doc.meaning,
            upper_first(&doc.defaults),
            doc.why,
            printed(*rule),
        ));
    }
    out.push_str("# The exporter's own alerts\n\n");
    for a in exporter_alerts() {
        let anchor = a
            .annotations
            .iter()
            .find(|(k, _)| *k == "runbook_url")
            .and_then(|(_, url)| url.rsplit_once('#'))
            .map_or(String::new(), |(_, a)| a.to_string());
        let description = a
            .annotations
            .iter()
            .find(|(k, _)| *k == "description")
            .map_or("", |(_, d)| d.as_str());
        out.push_str(&format!(
            "<a id=\"{anchor}\"></a>\n## {}\n\n`{}` for {}. {description}\n\n",
            a.name, a.expr, a.hold
        ));
    }
    out
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
