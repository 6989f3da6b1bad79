//! A4 `syn_recv_flood`: half-open connections per listening port, weighed against the
//! listener's traffic: a flood, a burst, or final ACKs that never arrive.

use serde::{Deserialize, Serialize};

use super::culprits::{TOP_CULPRITS, first_peer, peer_culprits};
use super::words::{pct, percent, strings};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome};
use crate::model::TcpState;
use crate::report::{Culprit, Facts, Finding, Severity};

pub static RULE: RuleDef<PerListener> = RuleDef {
    id: "syn_recv_flood",
    catalog: "A4",
    meaning: "Half-open connections (SYN_RECV) per listening port, with how many sources and how many had their SYN-ACK resent (the client never sent the final ACK).",
    why: "A healthy handshake lasts one round trip, so resent SYN-ACKs are the signal: dropped final ACKs (firewall, asymmetric path) or a spoofed flood. Weighed against the listener's traffic (its connections in every state, TIME_WAIT included) so a few lossy clients on a busy port stay quiet.",
    governs: Some(TcpState::SynRecv),
    reads: Reads::NOTHING,
    defaults: PerListener {
        warn: 256,
        crit: 1024,
        warn_resent: 10,
        warn_resent_share: 0.1,
    },
    describe: |t| {
        format!(
            "warning at {} on one port, or {} with their SYN-ACK resent that are {} of the listener's connections; critical at {} (one level higher with tcp_syncookies=0)",
            t.warn,
            t.warn_resent,
            pct(t.warn_resent_share),
            t.crit
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// The thresholds; `[rules.syn_recv_flood]` in the config file sets them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerListener {
    /// Warning when this many half-open connections sit on one port, whatever their age…
    pub warn: u64,
    pub crit: u64,
    /// …or when this many had their SYN-ACK resent (the client never sent the final ACK)…
    pub warn_resent: u64,
    /// …and they are at least this share of the listener's traffic (its connections in any
    /// state, TIME_WAIT included, and its SYN_RECV): a few lossy clients on a busy listener
    /// are normal.
    pub warn_resent_share: f64,
}

fn judge(s: &Input, th: &PerListener) -> Outcome {
    // (port, half-open, SYN-ACK resent, sources, other connections on the port)
    let judged = |port: u16, v: &crate::diagnose::observe::SynRecv| {
        let established = s
            .obs
            .connections_per_listener
            .get(&port)
            .copied()
            .unwrap_or(0);
        let traffic = established + v.total;
        let stalled =
            v.resent >= th.warn_resent && v.resent as f64 >= th.warn_resent_share * traffic as f64;
        (v.total >= th.warn || stalled).then_some((
            port,
            v.total,
            v.resent,
            v.by_peer.len(),
            established,
        ))
    };
    let mut ports: Vec<(u16, u64, u64, usize, u64)> = s
        .obs
        .syn_recv
        .iter()
        .filter_map(|(port, v)| judged(*port, v))
        .collect();
    if ports.is_empty() {
        return Outcome::Quiet;
    }
    ports.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then(b.1.cmp(&a.1))
            .then_with(|| a.0.cmp(&b.0))
    });
    let (port, n, resent, sources, established) = ports[0];
    let cookies = s.ctx.sysctl.tcp_syncookies;
    let mut sev = Severity::warning_or_critical(n >= th.crit);
    if cookies == Some(0) && n >= th.warn {
        // Without syncookies a full SYN queue drops legitimate clients too.
        sev = Severity::Critical;
    }
    // A spoofed flood comes from everywhere: name sources only when some stand out.
    let mut peers = peer_culprits(&s.obs.syn_recv[&port].by_peer);
    peers.retain(|c| matches!(c, Culprit::Peer { count, .. } if *count * 10 >= n && *count > 1));
    let facts = SynRecvFacts {
        port,
        syn_recv: n,
        syn_ack_resent: resent,
        sources,
        connections_on_port: established,
        syn_ack_resent_share: resent as f64 / (established + n).max(1) as f64,
        tcp_syncookies: cookies,
        counters_since_boot: SynCounters {
            syncookies_sent: s.ctx.counter("TcpExt.SyncookiesSent"),
            req_q_full_drop: s.ctx.counter("TcpExt.TCPReqQFullDrop"),
        },
        thresholds: *th,
        top_source: first_peer(&peers),
    };
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts)
            .with_next_steps(vec![
                format!("ss -tn state syn-recv '( sport = :{port} )' | awk '{{print $5}}' | cut -d: -f1 | sort | uniq -c | sort -rn | head"),
                "nstat -az TcpExtSyncookiesSent TcpExtSyncookiesRecv TcpExtTCPReqQFullDrop TcpExtListenDrops".into(),
                "sysctl net.ipv4.tcp_syncookies net.ipv4.tcp_max_syn_backlog net.core.somaxconn".into(),
            ])
            .with_culprits(
                ports
                    .iter()
                    .take(TOP_CULPRITS)
                    .map(|(port, n, _, _, _)| Culprit::LocalPort { port: *port, count: *n })
                    .chain(peers)
                    .collect(),
            ),
    )
}

/// Half-open connections on the listener with the most SYN-ACKs resent.
#[derive(Debug, Serialize)]
pub struct SynRecvFacts {
    pub port: u16,
    pub syn_recv: u64,
    pub syn_ack_resent: u64,
    /// Distinct source addresses.
    pub sources: usize,
    /// The listener's other connections, in any state.
    pub connections_on_port: u64,
    pub syn_ack_resent_share: f64,
    pub tcp_syncookies: Option<u64>,
    pub counters_since_boot: SynCounters,
    pub thresholds: PerListener,
    /// The source that stands out, if one does.
    #[serde(skip)]
    pub top_source: Option<(String, u64)>,
}

#[derive(Debug, Serialize)]
pub struct SynCounters {
    #[serde(rename = "SyncookiesSent")]
    pub syncookies_sent: Option<i64>,
    #[serde(rename = "TCPReqQFullDrop")]
    pub req_q_full_drop: Option<i64>,
}

impl SynRecvFacts {
    /// As many as a flood or a burst, not only handshakes left unfinished.
    fn many(&self) -> bool {
        self.syn_recv >= self.thresholds.warn
    }
}

impl Facts for SynRecvFacts {
    fn title(&self) -> String {
        format!(
            "{} half-open connections on port {}",
            self.syn_recv, self.port
        )
    }

    fn summary(&self) -> String {
        let (n, resent, established) =
            (self.syn_recv, self.syn_ack_resent, self.connections_on_port);
        let mut summary = format!(
            "{n} half-open connections (SYN_RECV) on port {} from {}; {resent} have had their SYN-ACK resent, so their peers never completed the handshake. A healthy handshake lasts one round trip: here {} of the listener's traffic ({established} other connections on the port) is stuck in it.",
            self.port,
            if self.sources == 1 {
                "1 source address".to_string()
            } else {
                format!("{} source addresses", self.sources)
            },
            percent(resent, established + n)
        );
        if let Some((addr, count)) = &self.top_source {
            summary.push_str(&format!(" Most come from {addr} ({count})."));
        }
        // SYN cookies matter for a full SYN queue, not for a few handshakes left unfinished.
        summary.push_str(match self.tcp_syncookies {
            Some(0) => " tcp_syncookies is 0: once the SYN queue is full, new clients are dropped.",
            Some(_) if self.many() => {
                " SYN cookies are enabled, so the kernel keeps answering while the queue is full."
            }
            None if self.many() => " Whether SYN cookies are enabled is unknown.",
            _ => "",
        });
        summary
    }

    fn causes(&self) -> Vec<String> {
        if self.many() {
            strings(&[
                "A SYN flood from spoofed sources (many sources, SYN-ACKs resent, handshakes never completed).",
                "A legitimate burst of clients larger than the listen backlog.",
                "Final ACKs lost on the way back (asymmetric routing).",
            ])
        } else {
            strings(&[
                "The clients' final ACKs never arrive: a firewall or security group dropping them, or an asymmetric path (the clients believe they are connected).",
                "A SYN flood from spoofed sources (the SYN-ACKs go to hosts that never answer).",
                "Packet loss between the clients and this host.",
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{
        assert_quiet, ctx, facts, fired, judge, many, minis, severity,
    };
    use crate::model::{Socket, TimerKind};

    fn listener(port: u16) -> Socket {
        Socket::for_test(TcpState::Listen, &format!("10.0.0.1:{port}"), "0.0.0.0:0")
    }

    pub(super) fn example() -> Finding {
        let mut sockets = vec![listener(5000)];
        sockets.extend(minis(25, TcpState::SynRecv, "10.0.0.1:5000", "10.0.3.7", 1));
        fired(judge(&RULE, &ctx(), &sockets))
    }

    #[test]
    fn unfinished_handshakes_on_a_quiet_listener_are_a_stall() {
        let mut sockets = vec![listener(5000)];
        sockets.extend(minis(25, TcpState::SynRecv, "10.0.0.1:5000", "10.0.3.7", 1));
        let f = fired(judge(&RULE, &ctx(), &sockets));
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<SynRecvFacts>(&f);
        assert_eq!(
            (seen.port, seen.syn_recv, seen.syn_ack_resent, seen.sources),
            (5000, 25, 25, 1)
        );
        let summary = f.facts.summary();
        assert!(summary.contains("from 1 source address;"), "{summary}");
        let causes = f.facts.causes();
        assert!(causes[0].contains("final ACKs never arrive"), "{causes:?}");
        // The same handshakes still in their first round trip: nothing resent, nothing said.
        let mut fresh = vec![listener(5000)];
        fresh.extend(minis(25, TcpState::SynRecv, "10.0.0.1:5000", "10.0.3.7", 0));
        assert_quiet(judge(&RULE, &ctx(), &fresh));
    }

    #[test]
    fn a_few_lossy_clients_on_a_busy_listener_are_normal() {
        let mut sockets = vec![listener(443)];
        sockets.extend(many(
            1000,
            TcpState::Established,
            "10.0.0.1:443",
            "10.0.5.1",
            0,
            TimerKind::Off,
        ));
        sockets.extend(minis(25, TcpState::SynRecv, "10.0.0.1:443", "10.0.3.7", 1));
        assert_quiet(judge(&RULE, &ctx(), &sockets));
        // Short-lived connections: the traffic shows as TIME_WAIT, not ESTABLISHED.
        let mut churn = vec![listener(80)];
        churn.extend(minis(
            1000,
            TcpState::TimeWait,
            "10.0.0.1:80",
            "10.0.5.1",
            0,
        ));
        churn.extend(minis(25, TcpState::SynRecv, "10.0.0.1:80", "10.0.3.7", 1));
        assert_quiet(judge(&RULE, &ctx(), &churn));
    }

    #[test]
    fn a_flood_is_critical_at_the_count_or_without_syncookies() {
        let flood = minis(1024, TcpState::SynRecv, "10.0.0.1:443", "198.51.100.1", 0);
        assert_eq!(
            severity(&judge(&RULE, &ctx(), &flood)),
            Some(Severity::Critical)
        );
        let burst = minis(300, TcpState::SynRecv, "10.0.0.1:443", "198.51.100.1", 0);
        let mut c = ctx();
        c.sysctl.tcp_syncookies = Some(0);
        assert_eq!(
            severity(&judge(&RULE, &c, &burst)),
            Some(Severity::Critical)
        );
        assert_eq!(
            severity(&judge(&RULE, &ctx(), &burst)),
            Some(Severity::Warning)
        );
    }
}
