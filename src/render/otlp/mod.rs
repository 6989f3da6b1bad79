//! The series `check` and `serve` expose, as one OTLP/HTTP protobuf export request
//! (`ExportMetricsServiceRequest`). It is made from the very exposition text the same report
//! renders to, so the two cannot differ: every sample becomes one data point, with OpenTelemetry's
//! semantic conventions where they have a name for it:
//!
//! - `sockscope_sockets{state,family}` → `system.network.connection.count` (an UpDownCounter:
//!   a non-monotonic cumulative sum, unit `{connection}`) with `network.connection.state`,
//!   `network.type` and `network.transport="tcp"`, as the hostmetrics receiver names it;
//! - `sockscope_netns_sockets{netns,container,pod,state}` → the same metric on a resource per
//!   namespace: `container.id`, `container.name`, `container.runtime`, `k8s.pod.name`,
//!   `k8s.namespace.name`, `k8s.pod.uid` where the sweep knows them, and `sockscope.netns`;
//!   `sockscope_netns_finding` → `sockscope.finding` on that resource;
//! - every other family `sockscope_X` → `sockscope.X`, counters as monotonic cumulative sums
//!   without `_total`, `_seconds` as the unit `s`; labels as attributes of the same names;
//! - a histogram family (connection lifetimes) → an OTLP explicit-bucket histogram, one point
//!   per label set: its finite `le` bounds, a count per bucket (the text's are cumulative), sum
//!   and count.
//!
//! The host's resource attributes (host.name, and OTEL_RESOURCE_ATTRIBUTES) come from the
//! caller: renderers never read the system.

pub mod proto;

use std::collections::BTreeMap;

use prost::Message;

use crate::report::{NetnsLabel, Sweep};
use proto::attribute;
use proto::{Data, Gauge, Histogram, HistogramDataPoint, KeyValue, NumberDataPoint, Sum, Value};

/// When the data points were taken, and since when the cumulative ones count.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub start_unix_nano: u64,
    pub unix_nano: u64,
}

/// One sample of the exposition text: its name, labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: String,
}

/// A family of the exposition text.
#[derive(Debug, Default)]
struct Family {
    name: String,
    counter: bool,
    histogram: bool,
    help: String,
    samples: Vec<Sample>,
}

/// Reads what `render::exposition` writes (the text format): `# HELP`, `# TYPE`, samples.
fn parse(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            families.push(Family {
                name: name.to_string(),
                help: help.replace("\\n", "\n").replace("\\\\", "\\"),
                ..Family::default()
            });
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some(f) = families.last_mut() {
                f.counter = rest.ends_with(" counter");
                f.histogram = rest.ends_with(" histogram");
            }
        } else if !line.starts_with('#')
            && !line.is_empty()
            && let (Some(sample), Some(f)) = (sample(line), families.last_mut())
        {
            f.samples.push(sample);
        }
    }
    families
}

/// `name{k="v",…} value`, label values unescaped.
fn sample(line: &str) -> Option<Sample> {
    let (head, value) = line.rsplit_once(' ')?;
    let (name, mut rest) = match head.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (head, ""),
    };
    let mut labels = Vec::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.push((key.to_string(), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some(Sample {
        name: name.to_string(),
        labels,
        value: value.to_string(),
    })
}

/// A resource's attributes, in order.
type Attributes = Vec<(String, String)>;

const CONNECTIONS: &str = "system.network.connection.count";
/// The labels of the per-namespace families that name the namespace: they become its resource.
const NAMESPACE_LABELS: &[&str] = &["netns", "container", "pod", "folded"];

/// The metric name and unit of a family.
fn metric_of(family: &Family) -> (String, &'static str) {
    match family.name.as_str() {
        "sockscope_sockets" | "sockscope_netns_sockets" => (CONNECTIONS.into(), "{connection}"),
        "sockscope_netns_finding" => ("sockscope.finding".into(), ""),
        name => {
            let mut rest = name.strip_prefix("sockscope_").unwrap_or(name);
            if family.counter {
                rest = rest.strip_suffix("_total").unwrap_or(rest);
            }
            match rest.strip_suffix("_seconds") {
                Some(base) => (format!("sockscope.{base}"), "s"),
                None => (format!("sockscope.{rest}"), ""),
            }
        }
    }
}

/// An attribute's name under the semantic conventions.
fn attribute_key(metric: &str, label: &str) -> String {
    match (metric == CONNECTIONS, label) {
        (true, "state") => "network.connection.state".into(),
        (true, "family") => "network.type".into(),
        _ => label.to_string(),
    }
}

/// The resource of one namespace's series: the host's, plus what names the namespace.
fn namespace_resource(
    host: &[(String, String)],
    labels: &[(String, String)],
    known: &BTreeMap<String, &NetnsLabel>,
) -> Attributes {
    let mut out = host.to_vec();
    let get = |k: &str| {
        labels
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let netns = get("netns").unwrap_or_default();
    out.push(("sockscope.netns".into(), netns.into()));
    if get("folded") == Some("true") {
        out.push(("sockscope.netns.folded".into(), "true".into()));
        return out;
    }
    let label = known.get(netns);
    if let Some(c) = label.and_then(|l| l.container.as_ref()) {
        out.push(("container.id".into(), c.id.clone()));
        out.push(("container.runtime".into(), c.runtime.into()));
    }
    if let Some(name) = get("container").filter(|c| !c.is_empty()) {
        out.push(("container.name".into(), name.into()));
    }
    if let Some(p) = label.and_then(|l| l.pod.as_ref()) {
        out.push(("k8s.pod.uid".into(), p.uid.clone()));
        if let (Some(ns), Some(name)) = (&p.namespace, &p.name) {
            out.push(("k8s.namespace.name".into(), ns.clone()));
            out.push(("k8s.pod.name".into(), name.clone()));
        }
    }
    out
}

/// One data point's value: a sample's, or a histogram's buckets, sum and count.
enum Point<'a> {
    Number(&'a str),
    Histogram(Buckets),
}

/// A histogram's samples for one label set, as the text has them: cumulative `le` buckets.
#[derive(Debug, Default)]
struct Buckets {
    /// (upper bound, cumulative count), `+Inf` included.
    le: Vec<(f64, u64)>,
    sum: Option<f64>,
    count: u64,
}

impl Buckets {
    /// OTLP's point: the finite bounds, and a count per bucket (the last above every bound).
    fn point(mut self, attributes: Vec<KeyValue>, times: Times) -> HistogramDataPoint {
        self.le.sort_by(|a, b| a.0.total_cmp(&b.0));
        let bounds: Vec<f64> = self
            .le
            .iter()
            .map(|b| b.0)
            .filter(|b| b.is_finite())
            .collect();
        let mut counts = Vec::with_capacity(bounds.len() + 1);
        let mut below = 0;
        for &(_, cumulative) in &self.le {
            counts.push(cumulative.saturating_sub(below));
            below = cumulative;
        }
        // A text without a `+Inf` bucket: what `_count` has beyond the last bound.
        if counts.len() == bounds.len() {
            counts.push(self.count.saturating_sub(below));
        }
        HistogramDataPoint {
            attributes,
            start_time_unix_nano: times.start_unix_nano,
            time_unix_nano: times.unix_nano,
            count: self.count,
            sum: self.sum,
            bucket_counts: counts,
            explicit_bounds: bounds,
        }
    }
}

/// A family's data points with their labels: one per sample, or for a histogram one per label
/// set of its `_bucket`, `_sum` and `_count` samples, in the order first seen.
fn points(family: &Family) -> Vec<(Vec<(String, String)>, Point<'_>)> {
    if !family.histogram {
        return family
            .samples
            .iter()
            .map(|s| (s.labels.clone(), Point::Number(&s.value)))
            .collect();
    }
    let mut sets: Vec<(Vec<(String, String)>, Buckets)> = Vec::new();
    for s in &family.samples {
        let suffix = s.name.strip_prefix(&family.name).unwrap_or_default();
        let mut labels = s.labels.clone();
        let le = labels
            .iter()
            .position(|(k, _)| k == "le")
            .map(|i| labels.remove(i).1);
        let at = match sets.iter().position(|(l, _)| *l == labels) {
            Some(i) => i,
            None => {
                sets.push((labels, Buckets::default()));
                sets.len() - 1
            }
        };
        let b = &mut sets[at].1;
        let number = |v: &str| match v {
            "+Inf" => f64::INFINITY,
            other => other.parse().unwrap_or(f64::NAN),
        };
        match (suffix, le) {
            ("_bucket", Some(le)) => b.le.push((number(&le), number(&s.value) as u64)),
            ("_sum", _) => b.sum = Some(number(&s.value)),
            ("_count", _) => b.count = number(&s.value) as u64,
            _ => {}
        }
    }
    sets.into_iter()
        .map(|(labels, b)| (labels, Point::Histogram(b)))
        .collect()
}

fn point(attributes: Vec<KeyValue>, value: &str, times: Times) -> NumberDataPoint {
    let value = match value.parse::<i64>() {
        Ok(i) => Value::AsInt(i),
        Err(_) => Value::AsDouble(match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or(f64::NAN),
        }),
    };
    NumberDataPoint {
        attributes,
        start_time_unix_nano: times.start_unix_nano,
        time_unix_nano: times.unix_nano,
        value: Some(value),
    }
}

/// The export request for an exposition text; `sweep` names the namespaces' containers and
/// pods, `host` is the host's resource.
pub fn request(
    exposition: &str,
    sweep: Option<&Sweep>,
    host: &[(String, String)],
    times: Times,
) -> proto::ExportMetricsServiceRequest {
    let known: BTreeMap<String, &NetnsLabel> = sweep
        .map(|s| {
            s.namespaces
                .iter()
                .map(|n| (n.label.name(), &n.label))
                .collect()
        })
        .unwrap_or_default();
    // Resource → metric name → metric, in the order first seen.
    let mut resources: Vec<(Attributes, Vec<proto::Metric>)> = Vec::new();
    for family in parse(exposition) {
        let (name, unit) = metric_of(&family);
        let per_namespace = family.name.starts_with("sockscope_netns_")
            && family.name != "sockscope_netns_folded"
            && family.name != "sockscope_netns_namespaces";
        for (labels, value) in points(&family) {
            let resource = if per_namespace {
                namespace_resource(host, &labels, &known)
            } else {
                host.to_vec()
            };
            let mut attributes: Vec<KeyValue> = labels
                .iter()
                .filter(|(k, _)| !per_namespace || !NAMESPACE_LABELS.contains(&k.as_str()))
                .map(|(k, v)| attribute(&attribute_key(&name, k), v))
                .collect();
            if name == CONNECTIONS {
                attributes.push(attribute("network.transport", "tcp"));
            }
            let index = match resources.iter().position(|(r, _)| *r == resource) {
                Some(i) => i,
                None => {
                    resources.push((resource, Vec::new()));
                    resources.len() - 1
                }
            };
            let metrics = &mut resources[index].1;
            let metric = match metrics.iter().position(|m| m.name == name) {
                Some(i) => &mut metrics[i],
                None => {
                    metrics.push(new_metric(&name, unit, &family));
                    let last = metrics.len() - 1;
                    &mut metrics[last]
                }
            };
            match (&mut metric.data, value) {
                (Some(Data::Gauge(g)), Point::Number(v)) => {
                    g.data_points.push(point(attributes, v, times))
                }
                (Some(Data::Sum(sum)), Point::Number(v)) => {
                    sum.data_points.push(point(attributes, v, times))
                }
                (Some(Data::Histogram(h)), Point::Histogram(b)) => {
                    h.data_points.push(b.point(attributes, times))
                }
                _ => {}
            }
        }
    }
    proto::ExportMetricsServiceRequest {
        resource_metrics: resources
            .into_iter()
            .map(|(resource, metrics)| proto::ResourceMetrics {
                resource: Some(proto::Resource {
                    attributes: resource.iter().map(|(k, v)| attribute(k, v)).collect(),
                }),
                scope_metrics: vec![proto::ScopeMetrics {
                    scope: Some(proto::InstrumentationScope {
                        name: "sockscope".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            })
            .collect(),
    }
}

fn new_metric(name: &str, unit: &str, family: &Family) -> proto::Metric {
    let data = if family.histogram {
        Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: proto::CUMULATIVE,
        })
    } else if name == CONNECTIONS || family.counter {
        Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: proto::CUMULATIVE,
            is_monotonic: family.counter,
        })
    } else {
        Data::Gauge(Gauge {
            data_points: Vec::new(),
        })
    };
    proto::Metric {
        name: name.to_string(),
        description: family.help.clone(),
        unit: unit.to_string(),
        data: Some(data),
    }
}

/// The request's protobuf bytes.
pub fn encode(
    exposition: &str,
    sweep: Option<&Sweep>,
    host: &[(String, String)],
    times: Times,
) -> Vec<u8> {
    request(exposition, sweep, host, times).encode_to_vec()
}

#[cfg(test)]
mod tests;
