//! `serve`'s families for connections over time, from the kernel's destroy events: closed
//! connections and failed connects per service port (and per process name with
//! `--by-process`), their lifetimes as a histogram with classic buckets chosen for connection
//! lifetimes (1 ms to a day), bytes and segments, and the events the kernel dropped. Every
//! series is a counter since the exporter started, bounded by `--max-series`.

use std::io;

use super::exposition::{Exposition, Kind};
use crate::report::flows::{CLASSIC_MS, FlowCounters, Sticky};

/// The families, for the README's list: (name, type, help).
pub const FLOW_FAMILIES: &[(&str, &str, &str)] = &[
    (
        "sockscope_flows_following",
        "gauge",
        "1 while the kernel's destroy events are followed; 0 when the kernel refuses the subscription, and no flow series follow.",
    ),
    (
        "sockscope_connections_closed_total",
        "counter",
        "Connections closed (they were established), by service port: side=\"local\" for connections accepted on a listening port, side=\"remote\" for those made to a port; the first --max-series keys keep a series, later ones count as \"other\".",
    ),
    (
        "sockscope_connect_failures_total",
        "counter",
        "Connects that never got an answer (refused, timed out), by the port they went to (port=\"0\": the kernel cleared it); bounded as the closes are.",
    ),
    (
        "sockscope_connection_lifetime_seconds",
        "histogram",
        "How long closed connections lived: at least since they were established, dated by a census (at most its interval short) or by tcp_info's idle times.",
    ),
    (
        "sockscope_connection_bytes_total",
        "counter",
        "Bytes of closed connections and failed connects: direction=\"sent\" (acknowledged by the peer) and \"received\".",
    ),
    (
        "sockscope_connection_segments_total",
        "counter",
        "Segments of closed connections: kind=\"sent\" and \"retransmitted\" (their ratio is the retransmitted share).",
    ),
    (
        "sockscope_events_lost_total",
        "counter",
        "Destroy events the kernel dropped because the receive buffer (--flow-buffer) was full: the counts above miss them.",
    ),
    (
        "sockscope_process_connections_closed_total",
        "counter",
        "With --by-process: connections closed by process name (comm), joined by the socket's cookie or its listener; bounded as the ports are.",
    ),
    (
        "sockscope_connections_unattributed_total",
        "counter",
        "With --by-process: closes and failed connects whose process was not found (shorter than a census, or a process the walk could not read).",
    ),
];

fn help(name: &str) -> &'static str {
    FLOW_FAMILIES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or("", |(_, _, help)| help)
}

fn family(e: &mut Exposition, name: &str, kind: Kind) -> io::Result<()> {
    e.family(name, kind, help(name))
}

/// The flow families (only `sockscope_flows_following 0` when nothing is followed).
pub fn families(c: &FlowCounters, e: &mut Exposition) -> io::Result<()> {
    family(e, "sockscope_flows_following", Kind::Gauge)?;
    e.sample(
        "sockscope_flows_following",
        &[],
        u8::from(c.not_following.is_none()),
    )?;
    if c.not_following.is_some() {
        return Ok(());
    }
    let port = |(port, side): &(u16, &'static str)| [port.to_string(), side.to_string()];
    for (name, failed) in [
        ("sockscope_connections_closed_total", false),
        ("sockscope_connect_failures_total", true),
    ] {
        family(e, name, Kind::Counter)?;
        sticky(e, name, &["port", "side"], &c.by_port, port, failed)?;
    }
    lifetimes(c, e)?;
    family(e, "sockscope_connection_bytes_total", Kind::Counter)?;
    for (direction, n) in [("sent", c.bytes_acked), ("received", c.bytes_received)] {
        e.sample(
            "sockscope_connection_bytes_total",
            &[("direction", direction)],
            n,
        )?;
    }
    family(e, "sockscope_connection_segments_total", Kind::Counter)?;
    for (kind, n) in [("sent", c.segs_out), ("retransmitted", c.retrans)] {
        e.sample("sockscope_connection_segments_total", &[("kind", kind)], n)?;
    }
    family(e, "sockscope_events_lost_total", Kind::Counter)?;
    e.sample("sockscope_events_lost_total", &[], c.lost)?;
    if let Some(processes) = &c.by_process {
        let name = "sockscope_process_connections_closed_total";
        family(e, name, Kind::Counter)?;
        sticky(e, name, &["process"], processes, |p| [p.clone()], false)?;
        family(e, "sockscope_connections_unattributed_total", Kind::Counter)?;
        e.sample(
            "sockscope_connections_unattributed_total",
            &[],
            c.unattributed,
        )?;
    }
    Ok(())
}

/// One counter per key that has a series, then `other` (`folded="true"`, so a process really
/// called `other` stays apart).
fn sticky<K: Ord, const N: usize>(
    e: &mut Exposition,
    name: &str,
    labels: &[&str; N],
    rows: &Sticky<K>,
    values: impl Fn(&K) -> [String; N],
    failed: bool,
) -> io::Result<()> {
    let pick = |(closed, fails): (u64, u64)| if failed { fails } else { closed };
    for (key, counts) in &rows.rows {
        let values = values(key);
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .zip(&values)
            .map(|(l, v)| (*l, v.as_str()))
            .collect();
        e.sample(name, &pairs, pick(*counts))?;
    }
    let mut pairs: Vec<(&str, &str)> = labels.iter().map(|l| (*l, "other")).collect();
    pairs.push(("folded", "true"));
    e.sample(name, &pairs, pick(rows.other))
}

fn lifetimes(c: &FlowCounters, e: &mut Exposition) -> io::Result<()> {
    let name = "sockscope_connection_lifetime_seconds";
    family(e, name, Kind::Histogram)?;
    let bucket = format!("{name}_bucket");
    for (ms, count) in c.lifetimes.cumulative() {
        // OpenMetrics' canonical form: 1.0, not 1.
        let le = match ms % 1000 {
            0 => format!("{}.0", ms / 1000),
            _ => format!("{}", ms as f64 / 1000.0),
        };
        e.sample(&bucket, &[("le", &le)], count)?;
    }
    debug_assert_eq!(CLASSIC_MS.len(), c.lifetimes.cumulative().count());
    e.sample(&bucket, &[("le", "+Inf")], c.lifetimes.count)?;
    e.sample(
        &format!("{name}_sum"),
        &[],
        format_args!("{:.3}", c.lifetimes.sum_ms as f64 / 1000.0),
    )?;
    e.sample(&format!("{name}_count"), &[], c.lifetimes.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Format;

    /// Counters as a few scrapes leave them: two ports with a series, one folded into
    /// `other`, a process, lifetimes from a millisecond to past a day, lost events.
    fn counters() -> FlowCounters {
        let mut c = FlowCounters::new(2, true);
        c.by_port.add((443, "remote"), 120, 7);
        c.by_port.add((8080, "local"), 300, 0);
        assert!(c.by_port.add((5432, "remote"), 5, 2), "past --max-series");
        if let Some(p) = &mut c.by_process {
            p.add("nginx".into(), 300, 0);
            p.add("curl \"x\"".into(), 120, 7);
        }
        c.unattributed = 5;
        for ms in [0, 1, 4, 40, 250, 900, 2_000, 30_000, 100_000_000] {
            c.lifetimes.add(ms);
        }
        c.lost = 3;
        (c.bytes_acked, c.bytes_received) = (1_000_000, 52_000);
        (c.segs_out, c.retrans) = (4_000, 12);
        c
    }

    fn text(c: &FlowCounters, format: Format) -> String {
        let mut out = Vec::new();
        families(c, &mut Exposition::new(format, &mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn golden_flow_families_in_both_formats() {
        let c = counters();
        let mut s = insta::Settings::clone_current();
        s.set_prepend_module_to_snapshot(false);
        s.bind(|| {
            insta::assert_snapshot!("scrape_flows_text", text(&c, Format::Prometheus));
            insta::assert_snapshot!("scrape_flows_openmetrics", text(&c, Format::OpenMetrics));
        });
    }

    #[test]
    fn the_histogram_is_cumulative_and_ends_with_every_connection() {
        let out = text(&counters(), Format::Prometheus);
        let buckets: Vec<u64> = out
            .lines()
            .filter(|l| l.starts_with("sockscope_connection_lifetime_seconds_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(buckets.len(), CLASSIC_MS.len() + 1);
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        // 0 and 1 ms in le=0.001, 100000 s only in +Inf.
        assert_eq!((buckets[0], buckets[buckets.len() - 2]), (2, 8));
        assert_eq!(buckets.last(), Some(&9));
        assert!(out.contains("sockscope_connection_lifetime_seconds_count 9\n"));
    }

    #[test]
    fn nothing_followed_says_so_and_writes_no_flow_series() {
        let mut c = counters();
        c.not_following = Some("permission denied".into());
        let out = text(&c, Format::Prometheus);
        assert!(out.contains("sockscope_flows_following 0\n"), "{out}");
        assert_eq!(
            out.lines().filter(|l| !l.starts_with('#')).count(),
            1,
            "{out}"
        );
    }
}
