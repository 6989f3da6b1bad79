//! The series the alerts and the dashboard query, as `serve` writes them: each name is looked
//! up in an example scrape rendered by the code that serves, so a renamed family fails the
//! freshness tests here (or, for the kernel counters, flows through by itself) instead of
//! leaving a dashboard panel that silently shows nothing.

use crate::render::prometheus::PERF_COUNTERS;
use crate::render::{Format, Style, scrape};

/// Counter values no other sample of the example has, to find each counter's sample by.
const MARK: i64 = 987_650;

/// An example scrape of a sweep in the text format, with every kernel counter set.
fn exposition() -> String {
    let mut report = scrape::example();
    // With --all-netns, the per-namespace families too.
    report.check.summary.sweep = Some(Box::default());
    for (i, (counter, _)) in PERF_COUNTERS.iter().enumerate() {
        report
            .check
            .context
            .counters
            .insert(counter.to_string(), MARK + i as i64);
    }
    let mut out = Vec::new();
    let style = Style {
        unicode: false,
        color: false,
        width: None,
    };
    scrape::write(&Ok(report), Format::Prometheus, &style, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// `name`, after checking that `serve` writes a family of that name.
pub fn family(name: &'static str) -> &'static str {
    let text = exposition();
    assert!(
        text.lines()
            .any(|l| l.strip_prefix("# TYPE ").and_then(|t| t.split(' ').next()) == Some(name)),
        "serve writes no family {name} any more: update the series the fleet files query (src/render/fleet)"
    );
    name
}

/// One kernel counter as `serve` writes it: the sample's name, the label that names the
/// counter and its value, and the counter's short name (the perfdata label).
#[derive(Debug, Clone)]
pub struct Counter {
    pub metric: String,
    pub label: String,
    pub value: String,
    pub short: &'static str,
}

impl Counter {
    /// `metric{label="value"}`
    pub fn selector(&self) -> String {
        format!("{}{{{}=\"{}\"}}", self.metric, self.label, self.value)
    }
}

/// Every counter of [`PERF_COUNTERS`], found by its value in the example scrape.
pub fn kernel_counters() -> Vec<Counter> {
    let text = exposition();
    PERF_COUNTERS
        .iter()
        .enumerate()
        .map(|(i, (_, short))| {
            let value = format!(" {}", MARK + i as i64);
            let line = text
                .lines()
                .find(|l| !l.starts_with('#') && l.ends_with(&value) && l.contains("{"))
                .unwrap_or_else(|| panic!("serve writes no sample for the counter {short}"));
            let (metric, rest) = line.split_once('{').unwrap();
            let (label, rest) = rest.split_once("=\"").unwrap();
            let (value, _) = rest.split_once('"').unwrap();
            Counter {
                metric: metric.to_string(),
                label: label.to_string(),
                value: value.to_string(),
                short,
            }
        })
        .collect()
}

#[test]
fn every_kernel_counter_is_found_once() {
    let counters = kernel_counters();
    assert_eq!(counters.len(), PERF_COUNTERS.len());
    let mut values: Vec<&str> = counters.iter().map(|c| c.value.as_str()).collect();
    values.dedup();
    assert_eq!(values.len(), PERF_COUNTERS.len());
}
