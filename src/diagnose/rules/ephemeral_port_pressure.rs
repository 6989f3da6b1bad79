//! A2 `ephemeral_port_pressure`: local ports used toward one destination against the usable
//! range, counting TIME_WAIT ports only where connect() cannot take them over.

use std::net::IpAddr;

use serde::Serialize;

use super::culprits::TOP_CULPRITS;
use super::words::{pct, percent, strings};
use super::{by_ratio, missing};
use crate::diagnose::flows;
use crate::diagnose::observe::PortUse;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::Ratio;
use crate::diagnose::{Input, Outcome};
use crate::report::flows::Outlook;
use crate::report::{Culprit, Facts, Finding, Severity};

pub static RULE: RuleDef<Ratio> = RuleDef {
    id: "ephemeral_port_pressure",
    catalog: "A2",
    meaning: "Local ports from ip_local_port_range used toward one destination (local IP, remote IP, remote port) against the usable range. TIME_WAIT ports count unless tcp_tw_reuse lets connect() take them over (1, or the default 2 toward loopback, once a second old).",
    why: "Exhaustion is per destination, not per host: connect() fails with EADDRNOTAVAIL once one destination has used every port that cannot be reused. Counting reusable TIME_WAIT ports raised false criticals on loopback, where 150 further connects succeeded.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: Ratio {
        warn: 0.5,
        crit: 0.8,
    },
    describe: |t| {
        format!(
            "warning at {}, critical at {} of the range minus reserved ports",
            pct(t.warn),
            pct(t.crit)
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// (local IP, remote IP, remote port)
type Destination = (IpAddr, IpAddr, u16);

fn judge(s: &Input, th: &Ratio) -> Outcome {
    let Some((lo, hi)) = s.ctx.sysctl.ip_local_port_range else {
        return Outcome::Skipped(missing(s.ctx, "ip_local_port_range", true));
    };
    let reserved = flows::reserved_ports(&s.ctx.sysctl, lo, hi);
    let usable = (u64::from(hi - lo) + 1).saturating_sub(reserved).max(1);
    let tw_reuse = s.ctx.sysctl.tcp_tw_reuse;
    // connect() may take over a TIME_WAIT port toward the same destination when tcp_tw_reuse
    // allows it (1: always; 2, the default: when either address is loopback) and the socket
    // is more than a second old (`tcp_twsk_unique`). Those ports are not lost.
    let reuses = |(local, remote, _): &Destination| match tw_reuse {
        Some(1) => true,
        Some(2) => local.is_loopback() || remote.is_loopback(),
        _ => false,
    };
    let in_use = |k: &Destination, p: &PortUse| {
        if reuses(k) {
            p.held - p.time_wait_reusable
        } else {
            p.held
        }
    };
    // At the rate the destroy events measure, what each destination will hold once a
    // TIME_WAIT period has passed (only while they are followed).
    let forecasts = s
        .flows
        .map(|f| flows::forecasts(&f, s.obs, None))
        .unwrap_or_default();
    let forecast_of = |(_, remote, port): &Destination| {
        forecasts
            .iter()
            .find(|f| f.destination.ip() == *remote && f.destination.port() == *port)
    };
    let mut hot: Vec<(Destination, PortUse, u64, Severity)> = s
        .obs
        .destinations
        .iter()
        .filter_map(|(k, p)| {
            let n = in_use(k, p);
            let now = by_ratio(n, usable, th);
            let ahead = forecast_of(k).and_then(|f| by_ratio(f.steady_ports, f.usable, th));
            now.max(ahead).map(|sev| (*k, *p, n, sev))
        })
        .collect();
    // A destination not yet holding ports (the first connections of a storm) can still be
    // headed for exhaustion.
    for f in &forecasts {
        let key = (f.local, f.destination.ip(), f.destination.port());
        if !s.obs.destinations.contains_key(&key)
            && let Some(sev) = by_ratio(f.steady_ports, f.usable, th)
        {
            hot.push((key, PortUse::default(), 0, sev));
        }
    }
    if hot.is_empty() {
        return Outcome::Quiet;
    }
    let pressure = |h: &(Destination, PortUse, u64, Severity)| {
        h.2.max(forecast_of(&h.0).map_or(0, |f| f.steady_ports))
    };
    hot.sort_by(|a, b| pressure(b).cmp(&pressure(a)).then_with(|| a.0.cmp(&b.0)));
    let sev = hot.iter().map(|h| h.3).max().unwrap_or(Severity::Warning);
    let (key, ports, n, _) = hot[0];
    let (local, remote, port) = &key;
    let rate = forecast_of(&key).map(|f| RateFacts {
        closed_per_second: f.closed_per_s,
        steady_ports: f.steady_ports,
        this_host_closes_first: f.closes_first,
        runs_out_in_seconds: match f.outlook {
            Outlook::RunsOut { in_s } => Some(in_s),
            Outlook::Fine { .. } => None,
        },
    });
    let dst = std::net::SocketAddr::new(*remote, *port);
    let facts = EphemeralFacts {
        destination: dst,
        local_addr: *local,
        ports_in_use: n,
        ports_held: ports.held,
        time_wait_reusable: ports.time_wait_reusable,
        time_wait_reuse: match (tw_reuse, reuses(&key)) {
            (Some(setting), true) => Reuse::TakenOver {
                setting,
                ports: ports.time_wait_reusable,
            },
            (Some(0), _) => Reuse::Off,
            (Some(setting), false) => Reuse::LoopbackOnly { setting },
            (None, _) => Reuse::Unknown,
        },
        usable_ports: usable,
        ip_local_port_range: [lo, hi],
        reserved_in_range: reserved,
        tcp_tw_reuse: tw_reuse,
        thresholds: *th,
        rate,
        more_destinations: hot.len() - 1,
    };
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts)
            .with_next_steps(vec![
                format!("sockscope top --by peer --by remote-port --dst {remote}"),
                format!("ss -tan state time-wait '( dst {} )' | wc -l", match remote {
                    std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
                    v4 => format!("{v4}:{port}"),
                }),
                "Reuse connections (a pool, HTTP keep-alive); then add addresses or ports on either side.".into(),
                "sysctl net.ipv4.ip_local_port_range net.ipv4.tcp_tw_reuse   # tcp_tw_reuse=1 lets outgoing connections reuse TIME_WAIT ports".into(),
            ])
            .with_culprits(
                hot.iter()
                    .take(TOP_CULPRITS)
                    .map(|((l, r, p), _, n, _)| Culprit::Destination {
                        local_addr: Some(l.to_string()),
                        addr: r.to_string(),
                        port: *p,
                        count: *n,
                    })
                    .collect(),
            ),
    )
}

/// Local ports used toward the destination that has used the most.
#[derive(Debug, Serialize)]
pub struct EphemeralFacts {
    pub destination: std::net::SocketAddr,
    pub local_addr: IpAddr,
    /// Ports that connect() cannot take: held, less the TIME_WAIT ones it may reuse.
    pub ports_in_use: u64,
    pub ports_held: u64,
    pub time_wait_reusable: u64,
    pub time_wait_reuse: Reuse,
    pub usable_ports: u64,
    pub ip_local_port_range: [u16; 2],
    pub reserved_in_range: u64,
    pub tcp_tw_reuse: Option<u64>,
    pub thresholds: Ratio,
    /// The rate the destroy events measured toward it, and where it leads (only while they
    /// are followed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateFacts>,
    /// Other destinations past the threshold.
    #[serde(skip)]
    pub more_destinations: usize,
}

/// Connections closed toward the destination per second, and the ports they will hold.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RateFacts {
    pub closed_per_second: f64,
    /// Ports held once the rate has lasted 60 s (a TIME_WAIT period).
    pub steady_ports: u64,
    /// This host holds TIME_WAIT sockets toward it: it closes first, and keeps the ports.
    pub this_host_closes_first: bool,
    /// At this rate no port is left in about this long.
    pub runs_out_in_seconds: Option<f64>,
}

/// How TIME_WAIT ports were counted, given net.ipv4.tcp_tw_reuse; written as a sentence in the
/// evidence too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// connect() takes these ports over toward this destination: not counted.
    TakenOver { setting: u64, ports: u64 },
    /// tcp_tw_reuse = 0.
    Off,
    /// Reuse toward loopback only, and this destination is not.
    LoopbackOnly { setting: u64 },
    /// tcp_tw_reuse could not be read: no reuse assumed.
    Unknown,
}

impl Reuse {
    fn text(self) -> String {
        match self {
            Reuse::TakenOver { setting, ports } => format!(
                "{ports} TIME_WAIT ports older than a second are not counted: with net.ipv4.tcp_tw_reuse = {setting} connect() takes them over toward this destination"
            ),
            Reuse::Off => {
                "TIME_WAIT included: net.ipv4.tcp_tw_reuse = 0, so connect() cannot reuse them"
                    .to_string()
            }
            Reuse::LoopbackOnly { setting } => format!(
                "TIME_WAIT included: net.ipv4.tcp_tw_reuse = {setting} reuses ports toward loopback only"
            ),
            Reuse::Unknown => {
                "TIME_WAIT included: tcp_tw_reuse is unknown, so no reuse was assumed".to_string()
            }
        }
    }
}

impl RateFacts {
    fn text(&self, usable: u64) -> String {
        let rate = self.closed_per_second;
        let held = if self.this_host_closes_first {
            "this host closes first, so each port stays in TIME_WAIT for 60 s"
        } else {
            "the peer closes first, so this host keeps no TIME_WAIT toward it"
        };
        let outlook = match self.runs_out_in_seconds {
            Some(s) if s < 1.0 => "no port is left already".to_string(),
            Some(s) => format!("at this rate none is left in about {s:.0} s"),
            None => format!("that fits ({})", percent(self.steady_ports, usable)),
        };
        format!(
            "Connections to it close at {rate:.1}/s (destroy events) and {held}: {} ports once that has lasted a minute, {outlook}.",
            self.steady_ports
        )
    }
}

impl Serialize for Reuse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

impl Facts for EphemeralFacts {
    fn title(&self) -> String {
        match &self.rate {
            Some(r)
                if self.ports_in_use * 2 < self.usable_ports
                    && r.steady_ports >= self.ports_in_use =>
            {
                format!(
                    "Local ports toward {} will run out at {:.0} closes per second",
                    self.destination, r.closed_per_second
                )
            }
            _ => format!("Local ports toward {} running out", self.destination),
        }
    }

    fn summary(&self) -> String {
        let [lo, hi] = self.ip_local_port_range;
        let mut summary = format!(
            "Connections from {} to {} use {} of the {} usable local ports ({}; ip_local_port_range {lo}-{hi}{}). {}. When none is left, connect() fails with EADDRNOTAVAIL.",
            self.local_addr,
            self.destination,
            self.ports_in_use,
            self.usable_ports,
            percent(self.ports_in_use, self.usable_ports),
            if self.reserved_in_range > 0 {
                format!(" minus {} reserved", self.reserved_in_range)
            } else {
                String::new()
            },
            self.time_wait_reuse.text(),
        );
        if let Some(r) = &self.rate {
            summary.push(' ');
            summary.push_str(&r.text(self.usable_ports));
        }
        if self.more_destinations > 0 {
            summary.push_str(&format!(
                " {} more destinations are above the threshold.",
                self.more_destinations
            ));
        }
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "A new connection for every request, with no pooling or keep-alive.",
            "This host closes first, so each used port sits in TIME_WAIT for 60 s.",
            "All traffic goes to a single upstream address and port (a proxy in front of it).",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{
        assert_quiet, ctx, facts, fired, judge, minis, severity,
    };
    use crate::model::KernelContext;

    pub(super) fn example() -> Finding {
        let old = time_waits("127.0.0.1", "127.0.0.1:5000", 3000);
        fired(judge(&RULE, &range_and_reuse(Some(0)), &old))
    }

    /// 167 TIME_WAIT toward `dst` from a 200-port range, `left` ticks before each expires.
    fn time_waits(local: &str, dst: &str, left: u64) -> Vec<crate::model::Socket> {
        let mut v = minis(
            167,
            crate::model::TcpState::TimeWait,
            &format!("{local}:40000"),
            "0.0.0.0",
            0,
        );
        for (i, s) in v.iter_mut().enumerate() {
            s.local = format!("{local}:{}", 40000 + i).parse().unwrap();
            s.remote = dst.parse().unwrap();
            s.timer_ticks = left;
        }
        v
    }

    fn range_and_reuse(reuse: Option<u64>) -> KernelContext {
        let mut c = ctx();
        c.sysctl.ip_local_port_range = Some((40000, 40199));
        c.sysctl.tcp_tw_reuse = reuse;
        c
    }

    #[test]
    fn time_wait_ports_the_kernel_reuses_are_not_counted() {
        let old = time_waits("127.0.0.1", "127.0.0.1:5000", 3000);
        assert_quiet(judge(&RULE, &range_and_reuse(Some(2)), &old));
        assert_quiet(judge(&RULE, &range_and_reuse(Some(1)), &old));
        let f = fired(judge(&RULE, &range_and_reuse(Some(0)), &old));
        assert_eq!(f.severity, Severity::Critical);
        let e = facts::<EphemeralFacts>(&f);
        assert_eq!(e.time_wait_reuse, Reuse::Off);
        assert_eq!((e.ports_in_use, e.usable_ports), (167, 200));
        assert!(
            f.facts.numbers()["time_wait_reuse"]
                .as_str()
                .unwrap()
                .contains("tcp_tw_reuse = 0")
        );
        // Reuse 2 is for loopback only; an unknown setting assumes no reuse.
        let remote = time_waits("10.0.0.1", "10.0.0.5:5432", 3000);
        assert_eq!(
            severity(&judge(&RULE, &range_and_reuse(Some(2)), &remote)),
            Some(Severity::Critical)
        );
        assert_quiet(judge(&RULE, &range_and_reuse(Some(1)), &remote));
        let f = fired(judge(&RULE, &range_and_reuse(None), &old));
        assert_eq!(facts::<EphemeralFacts>(&f).time_wait_reuse, Reuse::Unknown);
        let summary = f.facts.summary();
        assert!(summary.contains("no reuse was assumed"), "{summary}");
        // Less than a second old: not reusable yet.
        let young = time_waits("127.0.0.1", "127.0.0.1:5000", 5950);
        let f = fired(judge(&RULE, &range_and_reuse(Some(2)), &young));
        assert_eq!(facts::<EphemeralFacts>(&f).time_wait_reusable, 0);
    }

    #[test]
    fn a_missing_port_range_skips_the_rule() {
        let mut c = ctx();
        c.sysctl.ip_local_port_range = None;
        assert!(matches!(judge(&RULE, &c, &[]), Outcome::Skipped(_)));
    }
}
