//! What `sockscope serve` answers on /metrics: the check report's families, then the bounded
//! breakdowns, the age of the oldest CLOSE_WAIT per culprit and the exporter's own health, in
//! the text format or OpenMetrics. A failed collection is a short body saying why.

use std::io::{self, Write};

use super::exposition::{Exposition, Kind};
use super::{Format, Style};
use crate::model::TcpState;
use crate::report::{
    Breakdown, CheckReport, Checks, Collection, Notice, PORT_LABELS, PORT_SOCKETS, PROCESS_LABELS,
    PROCESS_SOCKETS, Scrape, ScrapeReport, Status, SummaryReport,
};

/// The metric families `serve` writes, for the README's list: (name, type, help).
pub const EXPORTER_FAMILIES: &[(&str, &str, &str)] = &[
    (
        "sockscope_port_sockets",
        "gauge",
        "Sockets by service port and state: side=\"local\" for ports this host listens on, side=\"remote\" for the ports it connects to; the top --max-series, the rest as \"other\".",
    ),
    (
        "sockscope_process_sockets",
        "gauge",
        "With --by-process: sockets by process name (comm) and state, the top --max-series, the rest as \"other\"; a socket shared by several processes counts for each.",
    ),
    (
        "sockscope_accept_queue_length",
        "gauge",
        "Connections waiting for accept() per listener: the --max-series fullest.",
    ),
    (
        "sockscope_accept_queue_limit",
        "gauge",
        "The accept-queue limit (backlog) of the same listeners, where the kernel reports it (netlink).",
    ),
    (
        "sockscope_close_wait_oldest_seconds",
        "gauge",
        "How long ago the peers closed the oldest CLOSE_WAIT socket of each local port, from tcp_info (with the /proc source: how long it has been seen, since this process started).",
    ),
    (
        "sockscope_local_ports",
        "gauge",
        "How many local ports net.ipv4.ip_local_port_range gives connect(), in the host's network namespace: the ceiling for connections from one address to one destination address and port.",
    ),
    (
        "sockscope_scrape_duration_seconds",
        "gauge",
        "How long the last collection took: sockets, rules and owners.",
    ),
    (
        "sockscope_collections_total",
        "counter",
        "Collections run since start; concurrent and --min-interval scrapes share one.",
    ),
    (
        "sockscope_collection_errors_total",
        "counter",
        "Collections that failed since start.",
    ),
    (
        "sockscope_series_dropped_total",
        "counter",
        "Breakdown values folded into an \"other\" series by --max-series, since start.",
    ),
    (
        "sockscope_build_info",
        "gauge",
        "The sockscope version serving these metrics; always 1.",
    ),
];

fn help(name: &str) -> &'static str {
    EXPORTER_FAMILIES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or("", |(_, _, help)| help)
}

fn family(e: &mut Exposition, name: &str, kind: Kind) -> io::Result<()> {
    e.family(name, kind, help(name))
}

/// A scrape in the format it asked for (Prometheus or OpenMetrics); a failed collection in the
/// text format whatever was asked (OpenMetrics has no free comments).
pub fn write(
    scrape: &Scrape,
    format: Format,
    _style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match (scrape, format) {
        (Err(why), _) => failure(why, out),
        (Ok(scrape), Format::Prometheus | Format::OpenMetrics) => metrics(scrape, format, out),
        (Ok(_), other) => Err(super::unsupported(other, "a scrape")),
    }
}

fn metrics(scrape: &ScrapeReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let mut e = Exposition::new(format, out);
    super::prometheus::families(&scrape.check, &mut e)?;
    for breakdown in &scrape.breakdowns {
        render_breakdown(breakdown, &mut e)?;
    }
    family(&mut e, "sockscope_accept_queue_length", Kind::Gauge)?;
    for q in &scrape.accept_queues {
        e.sample(
            "sockscope_accept_queue_length",
            &[("listener", &q.listener)],
            q.queued,
        )?;
    }
    family(&mut e, "sockscope_accept_queue_limit", Kind::Gauge)?;
    for q in &scrape.accept_queues {
        if let Some(backlog) = q.backlog {
            e.sample(
                "sockscope_accept_queue_limit",
                &[("listener", &q.listener)],
                backlog,
            )?;
        }
    }
    family(&mut e, "sockscope_close_wait_oldest_seconds", Kind::Gauge)?;
    for oldest in &scrape.close_wait_oldest {
        e.sample(
            "sockscope_close_wait_oldest_seconds",
            &[(oldest.label, &oldest.value)],
            oldest.seconds,
        )?;
    }
    family(&mut e, "sockscope_local_ports", Kind::Gauge)?;
    if let Some((low, high)) = scrape.check.context.sysctl.ip_local_port_range {
        e.sample(
            "sockscope_local_ports",
            &[],
            u32::from(high.saturating_sub(low)) + 1,
        )?;
    }
    if let Some(flows) = &scrape.flows {
        super::scrape_flows::families(flows, &mut e)?;
    }
    health(&mut e, true)?;
    family(&mut e, "sockscope_scrape_duration_seconds", Kind::Gauge)?;
    e.sample(
        "sockscope_scrape_duration_seconds",
        &[],
        format_args!("{:.6}", scrape.duration.as_secs_f64()),
    )?;
    let stats = scrape.stats;
    for (name, value) in [
        ("sockscope_collections_total", stats.collections),
        ("sockscope_collection_errors_total", stats.collection_errors),
        ("sockscope_series_dropped_total", stats.series_dropped),
    ] {
        family(&mut e, name, Kind::Counter)?;
        e.sample(name, &[], value)?;
    }
    family(&mut e, "sockscope_build_info", Kind::Info)?;
    e.sample("sockscope_build_info", &[("version", scrape.version)], 1)?;
    e.finish()
}

fn render_breakdown(b: &Breakdown, e: &mut Exposition) -> io::Result<()> {
    family(e, b.name, Kind::Gauge)?;
    let other = vec!["other".to_string(); b.labels.len()];
    let rows = b.rows.iter().map(|(v, c)| (v, c, false));
    for (values, counts, folded) in rows.chain([(&other, &b.other, true)]) {
        for state in TcpState::KNOWN {
            let n = counts.get(state);
            if n > 0 {
                let state = state.name().to_lowercase();
                let mut labels: Vec<(&str, &str)> = b
                    .labels
                    .iter()
                    .zip(values)
                    .map(|(l, v)| (*l, v.as_str()))
                    .collect();
                labels.push(("state", &state));
                // A process may be called `other`: the fold's own label keeps its series apart.
                if folded {
                    labels.push(("folded", "true"));
                }
                e.sample(b.name, &labels, n)?;
            }
        }
    }
    Ok(())
}

fn health(e: &mut Exposition, up: bool) -> io::Result<()> {
    super::prometheus::up(up, e)
}

/// The body of a 500: why the collection failed, and `sockscope_up 0`.
fn failure(why: &str, out: &mut dyn Write) -> io::Result<()> {
    for line in why.lines() {
        writeln!(out, "# collection failed: {line}")?;
    }
    health(&mut Exposition::new(Format::Prometheus, out), false)
}

/// The README's metric list: every family `serve` writes, from the HELP and TYPE lines it
/// writes for an empty scrape (families are written even when they have no samples).
pub fn metric_list_markdown() -> String {
    let mut text = Vec::new();
    if metrics(&example(), Format::Prometheus, &mut text).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&text);
    let mut out = String::from("| metric | type | meaning |\n|---|---|---|\n");
    let mut help = "";
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = rest.split_once(' ').map_or("", |(_, h)| h);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push_str(&format!(
                "| `{name}` | {kind} | {} |\n",
                help.replace('|', "\\|")
            ));
        }
    }
    out
}

/// A scrape with nothing in it but one empty breakdown of each kind.
pub(crate) fn example() -> ScrapeReport {
    let summary = SummaryReport {
        collected_at: std::time::UNIX_EPOCH,
        tally: Default::default(),
        filter: String::new(),
        findings: Vec::new(),
        checks: Checks::default(),
        collection: Collection {
            clock_ticks: 100,
            ..Default::default()
        },
        sweep: None,
        flows: None,
    };
    let breakdown = |name, labels| Breakdown {
        name,
        labels,
        ..Default::default()
    };
    ScrapeReport {
        check: CheckReport {
            summary,
            context: Default::default(),
            status: Status::Ok,
            notes: Vec::new(),
            warn: Vec::new(),
            crit: Vec::new(),
            measured: crate::model::StateSet::ALL,
            ports: Vec::new(),
            max_unread: None,
            finding_ids: Vec::new(),
            notice: Notice::Report,
        },
        breakdowns: vec![
            breakdown(PORT_SOCKETS, PORT_LABELS),
            breakdown(PROCESS_SOCKETS, PROCESS_LABELS),
        ],
        close_wait_oldest: Vec::new(),
        accept_queues: Vec::new(),
        flows: Some(crate::report::flows::FlowCounters::new(0, true)),
        duration: Default::default(),
        stats: Default::default(),
        version: "",
    }
}
