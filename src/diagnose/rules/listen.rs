//! Rules about listening sockets: half-open connections (A4) and the accept queue (A5).

use serde::Serialize;

use super::{Unnamed, first_peer, strings, unnamed, unnamed_text};
use crate::diagnose::thresholds::{AcceptQueue, PerListener, Thresholds};
use crate::diagnose::{
    Input, Outcome, TOP_CULPRITS, peer_culprits, percent, plural, process_culprits,
};
use crate::report::{Culprit, Facts, Finding, Severity};

pub fn syn_recv(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.syn_recv;
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
        Finding::new("syn_recv_flood", sev, facts)
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

pub fn accept_queue(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.accept_queue;
    let somaxconn = s.ctx.sysctl.somaxconn;
    // With sock_diag the real backlog is known; /proc only offers its bound, somaxconn.
    let limit = |l: &crate::diagnose::observe::Listener| l.backlog.map(u64::from).or(somaxconn);
    let warns = |l: &crate::diagnose::observe::Listener| {
        let q = u64::from(l.queued);
        q >= th.warn
            || limit(l).is_some_and(|m| q > 0 && q as f64 >= th.warn_share_of_somaxconn * m as f64)
    };
    let mut full: Vec<&crate::diagnose::observe::Listener> =
        s.obs.listeners.iter().filter(|l| warns(l)).collect();
    if full.is_empty() {
        // /proc (and so --pid and --source proc) has no backlog: a queue of 5 over a backlog
        // of 4 is full, and somaxconn cannot tell. Say so where it matters: a queue is waiting.
        let blind: Vec<_> = s
            .obs
            .listeners
            .iter()
            .filter(|l| l.backlog.is_none() && l.queued > 0)
            .collect();
        let Some(most) = blind
            .iter()
            .max_by_key(|l| (l.queued, std::cmp::Reverse(l.local)))
        else {
            return Outcome::Quiet;
        };
        return Outcome::Limited(format!(
            "{} with connections waiting to be accept()ed (the most: {} on {}); this source does not report listen backlogs, so {} (sock_diag, the default live source, reports each backlog).",
            plural(blind.len() as u64, "listener"),
            most.queued,
            most.local,
            somaxconn.map_or(
                "with net.core.somaxconn unknown too, a full queue cannot be told".to_string(),
                |m| format!("the queues were compared with net.core.somaxconn = {m}, the largest a backlog can be, and a small backlog may already be full")
            ),
        ));
    }
    full.sort_by(|a, b| b.queued.cmp(&a.queued).then_with(|| a.local.cmp(&b.local)));
    let worst = full[0];
    // The queue is full once it exceeds the backlog (or its bound, somaxconn).
    let crit = limit(worst).is_some_and(|m| u64::from(worst.queued) >= m);
    let sev = Severity::warning_or_critical(crit);
    let inodes: Vec<u64> = full.iter().map(|l| l.inode).filter(|&i| i != 0).collect();
    let processes = process_culprits(s, &inodes);
    let port = worst.local.port();
    let facts = AcceptQueueFacts {
        listener: worst.local,
        queued: worst.queued,
        backlog: worst.backlog,
        somaxconn,
        listeners_affected: full.len(),
        counters_since_boot: ListenCounters {
            listen_overflows: s.ctx.counter("TcpExt.ListenOverflows"),
            listen_drops: s.ctx.counter("TcpExt.ListenDrops"),
        },
        thresholds: *th,
        unnamed: unnamed(s, &processes, !inodes.is_empty()),
    };
    let mut culprits = processes;
    culprits.extend(full.iter().take(TOP_CULPRITS).map(|l| Culprit::LocalPort {
        port: l.local.port(),
        count: u64::from(l.queued),
    }));
    Outcome::Fired(
        Finding::new("accept_queue_overflow", sev, facts)
            .with_next_steps(vec![
                format!("ss -lntp '( sport = :{port} )'   # Recv-Q (waiting) against Send-Q (the backlog)"),
                "nstat -az TcpExtListenOverflows TcpExtListenDrops".into(),
                "Check the service's health: CPU, thread dumps, event-loop lag; then its listen() backlog.".into(),
            ])
            .with_culprits(culprits)
            .with_inodes(inodes),
    )
}

/// The listener with the longest accept queue.
#[derive(Debug, Serialize)]
pub struct AcceptQueueFacts {
    pub listener: std::net::SocketAddr,
    pub queued: u32,
    /// Known from sock_diag; `/proc` only bounds it by somaxconn.
    pub backlog: Option<u32>,
    pub somaxconn: Option<u64>,
    pub listeners_affected: usize,
    pub counters_since_boot: ListenCounters,
    pub thresholds: AcceptQueue,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

#[derive(Debug, Serialize)]
pub struct ListenCounters {
    #[serde(rename = "ListenOverflows")]
    pub listen_overflows: Option<i64>,
    #[serde(rename = "ListenDrops")]
    pub listen_drops: Option<i64>,
}

impl Facts for AcceptQueueFacts {
    fn title(&self) -> String {
        format!("Accept queue backing up on port {}", self.listener.port())
    }

    fn summary(&self) -> String {
        let mut summary = format!(
            "{} connections on {} are established but not accept()ed by the application",
            self.queued, self.listener
        );
        if self.listeners_affected > 1 {
            summary.push_str(&format!(
                " (and {} more listeners back up)",
                self.listeners_affected - 1
            ));
        }
        summary.push_str(match (self.backlog, self.somaxconn) {
            (Some(b), _) => format!(
                ". Its backlog is {b}; when the queue exceeds it, new SYNs are dropped and clients time out."
            ),
            (None, Some(m)) => format!(
                ". Its backlog is at most net.core.somaxconn = {m}; when the queue exceeds the backlog, new SYNs are dropped and clients time out."
            ),
            (None, None) => ". When the queue exceeds the backlog, new SYNs are dropped and clients time out.".into(),
        }
        .as_str());
        summary.push_str(&unnamed_text("Listener", self.unnamed));
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "The accept loop is slow or stalled: CPU starvation, GC pauses, a full worker pool, a deadlock.",
            "The listen backlog is too small for bursts of new connections.",
            "TLS handshakes or other work done before accept() returns.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{
        assert_quiet, ctx, facts, fired, judge, many, minis, severity,
    };
    use crate::model::{Socket, TcpState, TimerKind};

    fn listener(port: u16, queued: u32, backlog: Option<u32>) -> Socket {
        let mut s = Socket::for_test(TcpState::Listen, &format!("10.0.0.1:{port}"), "0.0.0.0:0");
        s.rx_queue = queued;
        s.backlog = backlog;
        s
    }

    #[test]
    fn unfinished_handshakes_on_a_quiet_listener_are_a_stall() {
        let mut sockets = vec![listener(5000, 0, None)];
        sockets.extend(minis(25, TcpState::SynRecv, "10.0.0.1:5000", "10.0.3.7", 1));
        let f = fired(judge(syn_recv, &ctx(), &sockets));
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
        let mut fresh = vec![listener(5000, 0, None)];
        fresh.extend(minis(25, TcpState::SynRecv, "10.0.0.1:5000", "10.0.3.7", 0));
        assert_quiet(judge(syn_recv, &ctx(), &fresh));
    }

    #[test]
    fn a_few_lossy_clients_on_a_busy_listener_are_normal() {
        let mut sockets = vec![listener(443, 0, None)];
        sockets.extend(many(
            1000,
            TcpState::Established,
            "10.0.0.1:443",
            "10.0.5.1",
            0,
            TimerKind::Off,
        ));
        sockets.extend(minis(25, TcpState::SynRecv, "10.0.0.1:443", "10.0.3.7", 1));
        assert_quiet(judge(syn_recv, &ctx(), &sockets));
        // Short-lived connections: the traffic shows as TIME_WAIT, not ESTABLISHED.
        let mut churn = vec![listener(80, 0, None)];
        churn.extend(minis(
            1000,
            TcpState::TimeWait,
            "10.0.0.1:80",
            "10.0.5.1",
            0,
        ));
        churn.extend(minis(25, TcpState::SynRecv, "10.0.0.1:80", "10.0.3.7", 1));
        assert_quiet(judge(syn_recv, &ctx(), &churn));
    }

    #[test]
    fn a_flood_is_critical_at_the_count_or_without_syncookies() {
        let flood = minis(1024, TcpState::SynRecv, "10.0.0.1:443", "198.51.100.1", 0);
        assert_eq!(
            severity(&judge(syn_recv, &ctx(), &flood)),
            Some(Severity::Critical)
        );
        let burst = minis(300, TcpState::SynRecv, "10.0.0.1:443", "198.51.100.1", 0);
        let mut c = ctx();
        c.sysctl.tcp_syncookies = Some(0);
        assert_eq!(
            severity(&judge(syn_recv, &c, &burst)),
            Some(Severity::Critical)
        );
        assert_eq!(
            severity(&judge(syn_recv, &ctx(), &burst)),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn a_queue_over_its_known_backlog_is_critical() {
        let out = judge(accept_queue, &ctx(), &[listener(8080, 5, Some(4))]);
        assert_eq!(severity(&out), Some(Severity::Critical));
        assert_quiet(judge(
            accept_queue,
            &ctx(),
            &[listener(8080, 1, Some(4096))],
        ));
    }

    #[test]
    fn without_a_backlog_a_waiting_queue_is_said_to_be_judged_blind() {
        let out = judge(accept_queue, &ctx(), &[listener(8080, 5, None)]);
        let Outcome::Limited(what) = out else {
            panic!("{out:?}")
        };
        assert!(what.contains("the most: 5 on 10.0.0.1:8080"), "{what}");
        assert!(what.contains("net.core.somaxconn = 4096"), "{what}");
        assert_quiet(judge(accept_queue, &ctx(), &[listener(8080, 0, None)]));
        assert_eq!(
            severity(&judge(accept_queue, &ctx(), &[listener(8080, 2100, None)])),
            Some(Severity::Warning)
        );
    }
}
