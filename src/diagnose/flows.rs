//! What the destroy events of a run mean: rates per second over the window, lifetimes, the top
//! churners, and the port outlook toward each destination, from the measured rate and the
//! 60 s a TIME_WAIT socket holds its port (`TCP_TIMEWAIT_LEN`, which no sysctl changes)
//! against `ip_local_port_range` and `tcp_tw_reuse`. Pure: the follower drained the windows,
//! the walk and the sysctls were read before.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};

use super::observe::Observations;
use crate::model::Sysctls;
use crate::report::flows::{
    FlowKey, FlowRow, FlowTotals, Forecast, Holder, KeyStats, Outlook, Window,
};

/// Seconds a TIME_WAIT socket keeps its local port.
pub const TIME_WAIT_S: f64 = 60.0;
/// Rows kept per table of the report (the screen shows fewer).
pub const TOP_ROWS: usize = 20;

/// One namespace's window as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Followed<'a> {
    pub window: &'a Window,
    /// The window's length.
    pub secs: f64,
    /// The namespace's own port sysctls, read inside it.
    pub sysctls: &'a Sysctls,
}

impl Followed<'_> {
    pub fn per_s(&self, n: u64) -> f64 {
        per_s(n, self.secs)
    }
}

pub fn per_s(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

fn mean(sum: u64, n: u64) -> Option<u64> {
    (n > 0).then(|| sum / n)
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A window's totals.
pub fn totals(w: &Window, secs: f64) -> FlowTotals {
    let all = &w.all;
    FlowTotals {
        closed: all.closed,
        failed: all.failed,
        lost: w.lost,
        other: w.other,
        closed_per_s: per_s(all.closed, secs),
        failed_per_s: per_s(all.failed, secs),
        median_ms: w.lifetimes.quantile_ms(0.5),
        p99_ms: w.lifetimes.quantile_ms(0.99),
        bytes_sent: mean(all.bytes_acked, all.closed),
        bytes_received: mean(all.bytes_received, all.closed),
        retrans_share: share(all.retrans, all.segs_out),
        joined_cookie: w.joined_cookie,
        joined_listener: w.joined_listener,
        unknown_holder: w.unknown_holder,
        dated_census: w.dated_census,
        dated_info: w.dated_info,
        folded: w.folded_closes,
    }
}

/// Adds `b` into `a` (a sweep's host-wide totals); rates add, quantiles are not kept.
pub fn add_totals(a: &mut FlowTotals, b: &FlowTotals) {
    a.closed += b.closed;
    a.failed += b.failed;
    a.lost += b.lost;
    a.other += b.other;
    a.closed_per_s += b.closed_per_s;
    a.failed_per_s += b.failed_per_s;
    a.joined_cookie += b.joined_cookie;
    a.joined_listener += b.joined_listener;
    a.unknown_holder += b.unknown_holder;
    a.dated_census += b.dated_census;
    a.dated_info += b.dated_info;
    a.folded += b.folded;
}

fn row(key: FlowKey, netns: Option<&str>, k: &KeyStats, secs: f64) -> FlowRow {
    FlowRow {
        key,
        netns: netns.map(str::to_string),
        closed: k.closed,
        failed: k.failed,
        closed_per_s: per_s(k.closed, secs),
        failed_per_s: per_s(k.failed, secs),
        median_le_ms: k.lifetimes.quantile_bound(0.5),
        bytes_sent: mean(k.bytes_acked, k.closed),
        bytes_received: mean(k.bytes_received, k.closed),
        retrans_share: share(k.retrans, k.segs_out),
    }
}

/// The rows of several namespaces' windows, each namespace's keys apart (named in a sweep).
#[derive(Debug, Default)]
pub struct Tables {
    pub processes: Vec<FlowRow>,
    pub destinations: Vec<FlowRow>,
    pub services: Vec<FlowRow>,
    pub peers: Vec<FlowRow>,
}

impl Tables {
    /// Adds one namespace's window (`netns`: its name, in a sweep).
    pub fn add(&mut self, w: &Window, secs: f64, netns: Option<&str>) {
        let rows = |t: &mut Vec<FlowRow>, keyed: Vec<(FlowKey, &KeyStats)>| {
            t.extend(keyed.into_iter().map(|(k, s)| row(k, netns, s, secs)));
        };
        rows(&mut self.processes, keyed(&w.by_process, process_key));
        rows(
            &mut self.destinations,
            keyed(&w.by_destination, |a: &SocketAddr| FlowKey::Destination(*a)),
        );
        rows(
            &mut self.services,
            keyed(&w.by_service, |p: &u16| FlowKey::Service(*p)),
        );
        rows(
            &mut self.peers,
            keyed(&w.by_peer, |ip: &IpAddr| FlowKey::Peer(*ip)),
        );
    }

    /// Sorted by churn, most first (ties by key), cut to `n` each.
    pub fn top(mut self, n: usize) -> Tables {
        for t in [
            &mut self.processes,
            &mut self.destinations,
            &mut self.services,
            &mut self.peers,
        ] {
            t.sort_by(|a, b| {
                (b.closed + b.failed)
                    .cmp(&(a.closed + a.failed))
                    .then_with(|| a.netns.cmp(&b.netns))
                    .then_with(|| a.key.cmp(&b.key))
            });
            t.truncate(n);
        }
        self
    }
}

fn process_key(h: &std::sync::Arc<Holder>) -> FlowKey {
    FlowKey::Process {
        pid: h.pid,
        comm: h.comm.clone(),
    }
}

fn keyed<K: Eq + Hash>(
    table: &HashMap<K, KeyStats>,
    key: impl Fn(&K) -> FlowKey,
) -> Vec<(FlowKey, &KeyStats)> {
    table.iter().map(|(k, s)| (key(k), s)).collect()
}

/// Usable local ports: the range less the reserved ports in it.
pub fn usable_ports(s: &Sysctls) -> Option<u64> {
    let (lo, hi) = s.ip_local_port_range?;
    Some(
        (u64::from(hi - lo) + 1)
            .saturating_sub(reserved_ports(s, lo, hi))
            .max(1),
    )
}

/// How many of the ports `lo..=hi` ip_local_reserved_ports keeps from connect().
pub fn reserved_ports(s: &Sysctls, lo: u16, hi: u16) -> u64 {
    s.ip_local_reserved_ports
        .iter()
        .flatten()
        .map(|&(a, b)| {
            let (a, b) = (a.max(lo), b.min(hi));
            if a <= b { u64::from(b - a) + 1 } else { 0 }
        })
        .sum()
}

/// The port outlook toward every destination this namespace connected to in the window, worst
/// first: the ports held once the rate has lasted a TIME_WAIT period (the open connections,
/// plus 60 s of closes where this host closes first and `tcp_tw_reuse` does not hand their
/// ports back), against the usable range.
pub fn forecasts(f: &Followed, obs: &Observations, netns: Option<&str>) -> Vec<Forecast> {
    let Some(usable) = usable_ports(f.sysctls) else {
        return Vec::new();
    };
    let mut out: Vec<Forecast> = f
        .window
        .by_destination
        .iter()
        .filter(|(d, k)| k.closed > 0 && d.port() != 0)
        .map(|(d, k)| {
            let (local, used) = obs
                .destinations
                .iter()
                .filter(|((_, ip, port), _)| *ip == d.ip() && *port == d.port())
                .map(|((local, _, _), u)| (*local, *u))
                .max_by_key(|(_, u)| u.held)
                .unwrap_or((unspecified(d.ip()), Default::default()));
            let rate = f.per_s(k.closed);
            let reuses = match f.sysctls.tcp_tw_reuse {
                Some(1) => true,
                Some(2) => local.is_loopback() || d.ip().is_loopback(),
                _ => false,
            };
            let closes_first = used.time_wait > 0;
            let open = used.held.saturating_sub(used.time_wait);
            // With reuse, a TIME_WAIT port is taken over once it is a second old.
            let held_for = match (closes_first, reuses) {
                (false, _) => 0.0,
                (true, true) => 1.0,
                (true, false) => TIME_WAIT_S,
            };
            let steady = open + (rate * held_for).round() as u64;
            let outlook = if steady < usable {
                Outlook::Fine {
                    share: steady as f64 / usable as f64,
                }
            } else {
                let free = usable.saturating_sub(used.held);
                Outlook::RunsOut {
                    in_s: if rate > 0.0 { free as f64 / rate } else { 0.0 },
                }
            };
            Forecast {
                netns: netns.map(str::to_string),
                local,
                destination: *d,
                closed_per_s: rate,
                in_use: used.held,
                time_wait: used.time_wait,
                usable,
                reuses_time_wait: reuses,
                closes_first,
                steady_ports: steady,
                outlook,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.steady_ports
            .cmp(&a.steady_ports)
            .then_with(|| a.destination.cmp(&b.destination))
    });
    out
}

fn unspecified(like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::observe::{Limits, PortUse};
    use crate::model::KernelContext;
    use crate::report::flows::{Budget, Close, Ending, Joined};
    use std::time::SystemTime;

    fn closes(n: u64, remote: &str) -> Window {
        let mut w = Window::new(SystemTime::UNIX_EPOCH);
        let mut budget = Budget::full();
        for _ in 0..n {
            let c = Close {
                ending: Ending::Closed,
                accepted: false,
                local: "10.0.0.1:40000".parse().unwrap(),
                remote: remote.parse().unwrap(),
                holder: None,
                joined: Joined::Unknown,
                lifetime_ms: Some(40),
                dated_by_census: false,
                bytes_acked: 10,
                bytes_received: 100,
                segs_out: 4,
                retrans: 0,
            };
            w.add(&c, &mut budget);
        }
        w
    }

    fn sysctls(reuse: u64) -> Sysctls {
        Sysctls {
            ip_local_port_range: Some((32768, 60999)),
            ip_local_reserved_ports: Some(vec![(40000, 40999)]),
            tcp_tw_reuse: Some(reuse),
            ..Sysctls::default()
        }
    }

    fn obs_with(held: u64, time_wait: u64) -> Observations {
        let ctx = KernelContext::default();
        let mut obs = Observations::new(Limits::default(), &ctx);
        obs.destinations.insert(
            (
                "10.0.0.1".parse().unwrap(),
                "10.0.0.5".parse().unwrap(),
                443,
            ),
            PortUse {
                held,
                time_wait_reusable: time_wait,
                time_wait,
            },
        );
        obs
    }

    #[test]
    fn five_hundred_closes_a_second_outrun_the_range_when_this_host_closes_first() {
        // 10 s of 500 closes/s toward 10.0.0.5:443; 5,000 TIME_WAIT already, 20 open.
        let w = closes(5_000, "10.0.0.5:443");
        let s = sysctls(0);
        let f = Followed {
            window: &w,
            secs: 10.0,
            sysctls: &s,
        };
        let usable = usable_ports(&s).unwrap();
        assert_eq!(usable, 28_232 - 1_000);
        let out = forecasts(&f, &obs_with(5_020, 5_000), None);
        let fc = &out[0];
        assert_eq!(fc.steady_ports, 20 + 30_000);
        assert!(fc.closes_first && !fc.reuses_time_wait);
        match fc.outlook {
            Outlook::RunsOut { in_s } => {
                assert!((in_s - (27_232.0 - 5_020.0) / 500.0).abs() < 1e-9, "{in_s}")
            }
            other => panic!("{other:?}"),
        }
        // With tcp_tw_reuse=1 the TIME_WAIT ports come back after a second: fine.
        let s = sysctls(1);
        let f = Followed { sysctls: &s, ..f };
        let fc = &forecasts(&f, &obs_with(5_020, 5_000), None)[0];
        assert_eq!(fc.steady_ports, 520);
        assert!(matches!(fc.outlook, Outlook::Fine { share } if share < 0.02));
        // The peer closes first (no TIME_WAIT here): only the open connections count.
        let fc = &forecasts(
            &Followed {
                sysctls: &sysctls(0),
                ..f
            },
            &obs_with(20, 0),
            None,
        )[0];
        assert_eq!(fc.steady_ports, 20);
        // No range read: no outlook.
        let none = Sysctls::default();
        assert!(
            forecasts(
                &Followed {
                    sysctls: &none,
                    ..f
                },
                &obs_with(20, 0),
                None
            )
            .is_empty()
        );
    }

    #[test]
    fn totals_and_rows_are_per_second_over_the_window() {
        let w = closes(50, "10.0.0.5:443");
        let t = totals(&w, 5.0);
        assert_eq!((t.closed, t.closed_per_s), (50, 10.0));
        assert_eq!((t.bytes_sent, t.bytes_received), (Some(10), Some(100)));
        assert_eq!(t.retrans_share, Some(0.0));
        let mut tables = Tables::default();
        tables.add(&w, 5.0, Some("web"));
        let tables = tables.top(TOP_ROWS);
        let r = &tables.destinations[0];
        assert_eq!(r.key, FlowKey::Destination("10.0.0.5:443".parse().unwrap()));
        assert_eq!((r.closed_per_s, r.median_le_ms), (10.0, Some(100)));
        assert_eq!(r.netns.as_deref(), Some("web"));
    }
}
