//! `deploy/grafana/sockscope.json`: the fleet dashboard, its queries written from the series
//! `serve` writes. Rows: the fleet at a glance (top nodes and containers by CLOSE_WAIT and
//! TIME_WAIT, port headroom, accept-queue fill, SYN_SENT per destination), the findings, one
//! node's drill-down (namespace or container, port, process), the kernel counters as rates,
//! and the exporter's health. Template variables: datasource, instance, netns, port.
//! `tests/dashboard.sh` evaluates every query against a real Prometheus.

use serde_json::{Value, json};

use super::series::{self, kernel_counters};

/// Builds the panels, placing each on a 24-column grid, two to a row.
struct Layout {
    panels: Vec<Value>,
    next_id: u64,
    x: u64,
    y: u64,
}

/// One query of a panel: its PromQL, its legend, and whether it is read at one instant (a
/// table or a ranking) or over time.
struct Query {
    expr: String,
    legend: &'static str,
    instant: bool,
}

fn over_time(expr: String, legend: &'static str) -> Query {
    Query {
        expr,
        legend,
        instant: false,
    }
}

fn instant(expr: String) -> Query {
    Query {
        expr,
        legend: "",
        instant: true,
    }
}

impl Layout {
    fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.x = 0;
            self.y += 8;
        }
        self.panels.push(json!({
            "id": self.next_id, "type": "row", "title": title, "collapsed": false,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": [],
        }));
        self.next_id += 1;
        self.y += 1;
    }

    fn panel(
        &mut self,
        kind: &str,
        title: &str,
        description: &str,
        unit: &str,
        queries: Vec<Query>,
    ) {
        self.panel_with(kind, title, description, unit, queries, json!([]));
    }

    fn panel_with(
        &mut self,
        kind: &str,
        title: &str,
        description: &str,
        unit: &str,
        queries: Vec<Query>,
        links: Value,
    ) {
        let targets: Vec<Value> = queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                json!({
                    "refId": ((b'A' + i as u8) as char).to_string(),
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "expr": q.expr,
                    "legendFormat": q.legend,
                    "instant": q.instant,
                    "range": !q.instant,
                    "format": if kind == "table" { "table" } else { "time_series" },
                })
            })
            .collect();
        let mut panel = json!({
            "id": self.next_id, "type": kind, "title": title, "description": description,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": self.x, "y": self.y},
            "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "links": links}, "overrides": []},
            "options": {},
        });
        if kind == "table" {
            // Prometheus' table format: one row per series, the labels as columns.
            panel["transformations"] = json!([{"id": "organize", "options": {
                "excludeByName": {"Time": true, "__name__": true, "job": true}}}]);
        }
        self.panels.push(panel);
        self.next_id += 1;
        if self.x == 0 {
            self.x = 12;
        } else {
            self.x = 0;
            self.y += 8;
        }
    }
}

/// A link that opens the dashboard on one node (and namespace).
fn drill(vars: &[(&str, &str)]) -> Value {
    let query: Vec<String> = vars
        .iter()
        .map(|(var, label)| format!("var-{var}=${{__field.labels.{label}}}"))
        .collect();
    json!([{"title": "Drill down", "url": format!("/d/sockscope/sockscope?{}&${{__url_time_range}}", query.join("&"))}])
}

fn variable(name: &str, label: &str, query: String, include_all: bool) -> Value {
    json!({
        "name": name, "label": label, "type": "query",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "definition": query, "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2, "sort": 1, "multi": true, "includeAll": include_all,
        "allValue": ".*", "current": {}, "options": [], "regex": "", "hide": 0,
    })
}

pub fn json() -> String {
    let sockets = series::family("sockscope_sockets");
    let netns = series::family("sockscope_netns_sockets");
    let port = series::family("sockscope_port_sockets");
    let process = series::family("sockscope_process_sockets");
    let culprit = series::family("sockscope_culprit_sockets");
    let finding = series::family("sockscope_finding");
    let netns_finding = series::family("sockscope_netns_finding");
    let queue = series::family("sockscope_accept_queue_length");
    let limit = series::family("sockscope_accept_queue_limit");
    let local_ports = series::family("sockscope_local_ports");
    let oldest = series::family("sockscope_oldest_socket_age_seconds");
    let up = series::family("sockscope_up");
    let duration = series::family("sockscope_scrape_duration_seconds");
    let node = "instance=~\"$instance\"";

    let mut l = Layout {
        panels: Vec::new(),
        next_id: 1,
        x: 0,
        y: 0,
    };
    l.row("Fleet overview");
    for state in ["close_wait", "time_wait"] {
        let upper = state.to_uppercase();
        l.panel_with(
            "table",
            &format!("Top nodes by {upper}"),
            &format!("The ten nodes with the most {upper} sockets, all namespaces together. Click a node to drill down."),
            "short",
            vec![instant(format!("topk(10, sum by (instance) ({sockets}{{state=\"{state}\"}}))"))],
            drill(&[("instance", "instance")]),
        );
        l.panel_with(
            "table",
            &format!("Top containers by {upper}"),
            &format!("The ten network namespaces (containers, pods, named namespaces) with the most {upper} sockets, with --all-netns."),
            "short",
            vec![instant(format!(
                "topk(10, sum by (instance, netns, container, pod) ({netns}{{state=\"{state}\"}}))"
            ))],
            drill(&[("instance", "instance"), ("netns", "netns")]),
        );
    }
    l.panel_with(
        "table",
        "Port headroom: fewest local ports left per destination port",
        "The local port range (sockscope_local_ports) less the sockets toward each destination port, all destination addresses together: a lower bound on what is left for one destination address. Near 0, connect() fails with EADDRNOTAVAIL; see ephemeral_port_pressure.",
        "short",
        vec![instant(format!(
            "bottomk(10, max by (instance) ({local_ports}) - on (instance) group_right sum by (instance, port) ({port}{{side=\"remote\",state!=\"listen\"}}))"
        ))],
        drill(&[("instance", "instance"), ("port", "port")]),
    );
    l.panel_with(
        "table",
        "Accept queue fill: fullest listeners",
        "Connections waiting for accept() over the listener's backlog. At 1 the kernel drops new connections (ListenOverflows).",
        "percentunit",
        vec![instant(format!(
            "topk(10, max by (instance, listener) ({queue} / {limit}))"
        ))],
        drill(&[("instance", "instance")]),
    );
    l.panel_with(
        "table",
        "SYN_SENT per destination port",
        "Connections this host is trying to open and that have not been answered, by destination port: an upstream down or filtered (syn_sent_stuck).",
        "short",
        vec![instant(format!(
            "topk(10, sum by (instance, port) ({port}{{side=\"remote\",state=\"syn_sent\"}}))"
        ))],
        drill(&[("instance", "instance"), ("port", "port")]),
    );

    l.row("Findings");
    l.panel("table", "Findings now", "Every rule that found a problem in the last collection, by node. The runbooks (docs/runbooks.md) say what each means and what to run.", "short",
        vec![instant(format!("{finding} == 1"))]);
    l.panel(
        "table",
        "Findings by namespace",
        "With --all-netns: the namespace or container each finding is in.",
        "short",
        vec![instant(format!("{netns_finding} == 1"))],
    );

    l.row("Node: $instance");
    l.panel(
        "timeseries",
        "Sockets by state",
        "All namespaces of the selected nodes together.",
        "short",
        vec![over_time(
            format!("sum by (state) ({sockets}{{{node}}})"),
            "{{state}}",
        )],
    );
    l.panel(
        "timeseries",
        "Namespaces and containers",
        "Sockets by state in the selected namespaces.",
        "short",
        vec![over_time(
            format!("sum by (netns, container, state) ({netns}{{{node},netns=~\"$netns\"}})"),
            "{{netns}} {{container}} {{state}}",
        )],
    );
    l.panel("timeseries", "Ports", "Sockets by service port (local: this node listens on it; remote: it connects to it) and state.", "short",
        vec![over_time(format!("sum by (port, side, state) ({port}{{{node},port=~\"$port\"}})"), "{{side}} :{{port}} {{state}}")]);
    l.panel(
        "timeseries",
        "Processes",
        "Sockets by process name and state (serve --by-process); the culprits behind findings.",
        "short",
        vec![
            over_time(
                format!("sum by (process, state) ({process}{{{node}}})"),
                "{{process}} {{state}}",
            ),
            over_time(
                format!("sum by (id, kind, culprit) ({culprit}{{{node}}})"),
                "{{id}}: {{kind}} {{culprit}}",
            ),
        ],
    );
    l.panel("timeseries", "Oldest socket behind a finding", "For the states behind a finding, how long the oldest socket has been in it (CLOSE_WAIT: since the peer closed), from tcp_info: a leak only grows.", "s",
        vec![over_time(format!("max by (state) ({oldest}{{{node}}})"), "{{state}}")]);
    l.panel(
        "timeseries",
        "Accept queues",
        "Connections waiting for accept() per listener, and its backlog.",
        "short",
        vec![
            over_time(
                format!("max by (listener) ({queue}{{{node}}})"),
                "{{listener}} queued",
            ),
            over_time(
                format!("max by (listener) ({limit}{{{node}}})"),
                "{{listener}} backlog",
            ),
        ],
    );

    l.row("Kernel counters");
    let counters = kernel_counters();
    l.panel(
        "timeseries",
        "Kernel TCP counters per second",
        "Cumulative counters of /proc/net/netstat and /proc/net/snmp as rates.",
        "ops",
        counters
            .iter()
            .map(|c| {
                over_time(
                    format!(
                        "sum by (instance) (rate({}[$__rate_interval]))",
                        c.selector().replacen('{', &format!("{{{node},"), 1)
                    ),
                    c.short,
                )
            })
            .collect(),
    );
    l.panel(
        "timeseries",
        "Exporter",
        "Whether each collection succeeded, and how long it took.",
        "s",
        vec![
            over_time(
                format!("max by (instance) ({duration}{{{node}}})"),
                "{{instance}} collection",
            ),
            over_time(
                format!("min by (instance) ({up}{{{node}}})"),
                "{{instance}} up",
            ),
        ],
    );

    let dashboard = json!({
        "title": "sockscope", "uid": "sockscope",
        "description": "TCP sockets by state across a fleet, from sockscope serve. Generated: SOCKSCOPE_REFRESH=1 cargo test --lib fleet",
        "tags": ["sockscope", "tcp"], "editable": true, "schemaVersion": 39, "version": 1,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "1m", "timezone": "",
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []},
            variable("instance", "Node", format!("label_values({up}, instance)"), true),
            variable("netns", "Namespace or container", format!("label_values({netns}{{{node}}}, netns)"), true),
            variable("port", "Port", format!("label_values({port}{{{node}}}, port)"), true),
        ]},
        "annotations": {"list": []},
        "links": [],
        "panels": l.panels,
    });
    let mut text = serde_json::to_string_pretty(&dashboard).unwrap();
    text.push('\n');
    text
}
