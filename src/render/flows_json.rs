//! `flows` in the JSON documents (the summary with `--follow`, `check`, `watch` records): the
//! connections closed, failed and lost over the run's window, their rates, lifetimes and the
//! top churners, from the kernel's destroy events. Dedicated views keep the wire format stable.

use serde::Serialize;

use super::json::timestamp;
use crate::report::flows::{
    CLASSIC_MS, FlowKey, FlowReport, FlowRow, FlowTotals, Following, Forecast, Outlook,
};

#[derive(Serialize)]
pub(crate) struct FlowsView<'a> {
    following: bool,
    /// Why nothing is followed (the kernel refused the subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_following: Option<&'a str>,
    /// Namespaces that could not be followed, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unfollowed: Vec<Unfollowed<'a>>,
    started_at: String,
    window_seconds: f64,
    /// Lifetimes dated by a census are at most this much too short.
    census_interval_seconds: f64,
    #[serde(flatten)]
    totals: TotalsView,
    lifetime_buckets: Vec<Bucket>,
    processes: Vec<RowView<'a>>,
    destinations: Vec<RowView<'a>>,
    services: Vec<RowView<'a>>,
    peers: Vec<RowView<'a>>,
    forecasts: Vec<ForecastView<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    namespaces: Vec<NamespaceView<'a>>,
}

#[derive(Serialize)]
struct Unfollowed<'a> {
    netns: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct Bucket {
    le_seconds: f64,
    /// Closed connections that lived at most this long (cumulative).
    count: u64,
}

#[derive(Serialize)]
struct TotalsView {
    /// Connections that were established, closed in the window.
    closed: u64,
    /// Connects that never got an answer.
    failed: u64,
    /// Events the kernel dropped (receive buffer full): missing from every count here.
    lost: u64,
    /// Sockets that were no connection: listeners, sockets closed before connecting.
    other: u64,
    closed_per_second: f64,
    failed_per_second: f64,
    lifetime_median_ms: Option<f64>,
    lifetime_p99_ms: Option<f64>,
    bytes_sent_per_connection: Option<u64>,
    bytes_received_per_connection: Option<u64>,
    retransmitted_share: Option<f64>,
    /// How closes were joined to their holders.
    joined_by_cookie: u64,
    joined_by_listening_port: u64,
    holder_unknown: u64,
    /// How lifetimes were dated: by a census that saw the socket, or by tcp_info alone.
    dated_by_census: u64,
    dated_by_tcp_info: u64,
    /// Closes past the key budget: in the totals, in no row.
    folded: u64,
}

impl From<&FlowTotals> for TotalsView {
    fn from(t: &FlowTotals) -> TotalsView {
        TotalsView {
            closed: t.closed,
            failed: t.failed,
            lost: t.lost,
            other: t.other,
            closed_per_second: round(t.closed_per_s),
            failed_per_second: round(t.failed_per_s),
            lifetime_median_ms: t.median_ms.map(round),
            lifetime_p99_ms: t.p99_ms.map(round),
            bytes_sent_per_connection: t.bytes_sent,
            bytes_received_per_connection: t.bytes_received,
            retransmitted_share: t.retrans_share.map(round4),
            joined_by_cookie: t.joined_cookie,
            joined_by_listening_port: t.joined_listener,
            holder_unknown: t.unknown_holder,
            dated_by_census: t.dated_census,
            dated_by_tcp_info: t.dated_info,
            folded: t.folded,
        }
    }
}

#[derive(Serialize)]
struct RowView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comm: Option<&'a str>,
    /// `ip:port` (port 0: the kernel cleared it).
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    closed: u64,
    failed: u64,
    closed_per_second: f64,
    failed_per_second: f64,
    /// The classic bucket the median lifetime falls in.
    lifetime_median_le_ms: Option<u64>,
    bytes_sent_per_connection: Option<u64>,
    bytes_received_per_connection: Option<u64>,
    retransmitted_share: Option<f64>,
}

fn row(r: &FlowRow) -> RowView<'_> {
    let mut v = RowView {
        pid: None,
        comm: None,
        destination: None,
        port: None,
        peer: None,
        netns: r.netns.as_deref(),
        closed: r.closed,
        failed: r.failed,
        closed_per_second: round(r.closed_per_s),
        failed_per_second: round(r.failed_per_s),
        lifetime_median_le_ms: r.median_le_ms,
        bytes_sent_per_connection: r.bytes_sent,
        bytes_received_per_connection: r.bytes_received,
        retransmitted_share: r.retrans_share.map(round4),
    };
    match &r.key {
        FlowKey::Process { pid, comm } => {
            v.pid = Some(*pid);
            v.comm = Some(comm);
        }
        FlowKey::Destination(d) => v.destination = Some(d.to_string()),
        FlowKey::Service(p) => v.port = Some(*p),
        FlowKey::Peer(ip) => v.peer = Some(ip.to_string()),
    }
    v
}

#[derive(Serialize)]
struct ForecastView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    local: String,
    destination: String,
    closed_per_second: f64,
    ports_in_use: u64,
    time_wait: u64,
    usable_ports: u64,
    this_host_closes_first: bool,
    time_wait_reused: bool,
    /// Ports held once the rate has lasted 60 s (a TIME_WAIT period).
    steady_ports: u64,
    /// The steady demand fits: this share of the usable ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    share_of_range: Option<f64>,
    /// It does not: no port left in about this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    runs_out_in_seconds: Option<f64>,
}

fn forecast(f: &Forecast) -> ForecastView<'_> {
    let (share, runs_out) = match f.outlook {
        Outlook::Fine { share } => (Some(round4(share)), None),
        Outlook::RunsOut { in_s } => (None, Some(round(in_s))),
    };
    ForecastView {
        netns: f.netns.as_deref(),
        local: f.local.to_string(),
        destination: f.destination.to_string(),
        closed_per_second: round(f.closed_per_s),
        ports_in_use: f.in_use,
        time_wait: f.time_wait,
        usable_ports: f.usable,
        this_host_closes_first: f.closes_first,
        time_wait_reused: f.reuses_time_wait,
        steady_ports: f.steady_ports,
        share_of_range: share,
        runs_out_in_seconds: runs_out,
    }
}

#[derive(Serialize)]
struct NamespaceView<'a> {
    netns: &'a str,
    #[serde(flatten)]
    totals: TotalsView,
}

pub(crate) fn view(r: &FlowReport) -> FlowsView<'_> {
    let (following, not_following, unfollowed) = match &r.following {
        Following::Yes { unfollowed, .. } => (true, None, unfollowed.as_slice()),
        Following::No(why) => (false, Some(why.as_str()), &[][..]),
    };
    FlowsView {
        following,
        not_following,
        unfollowed: unfollowed
            .iter()
            .map(|(netns, reason)| Unfollowed { netns, reason })
            .collect(),
        started_at: timestamp(r.started),
        window_seconds: round(r.window.as_secs_f64()),
        census_interval_seconds: round(r.census_interval.as_secs_f64()),
        totals: TotalsView::from(&r.totals),
        lifetime_buckets: CLASSIC_MS
            .iter()
            .zip(r.lifetimes.cumulative())
            .map(|(&ms, (_, count))| Bucket {
                le_seconds: ms as f64 / 1000.0,
                count,
            })
            .collect(),
        processes: r.processes.iter().map(row).collect(),
        destinations: r.destinations.iter().map(row).collect(),
        services: r.services.iter().map(row).collect(),
        peers: r.peers.iter().map(row).collect(),
        forecasts: r.forecasts.iter().map(forecast).collect(),
        namespaces: r
            .namespaces
            .iter()
            .map(|n| NamespaceView {
                netns: &n.name,
                totals: TotalsView::from(&n.totals),
            })
            .collect(),
    }
}

/// Rates and times to two decimals: what a reader can use, and stable in golden files.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
