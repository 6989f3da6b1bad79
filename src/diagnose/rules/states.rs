//! Rules about sockets piling up in one state: CLOSE_WAIT (A1), SYN_SENT (A6), FIN_WAIT1 (A7),
//! FIN_WAIT2 (A8), LAST_ACK (A9), CLOSING (A10).

use serde::Serialize;

use super::{Unnamed, first_peer, first_port, strings, unnamed, unnamed_text};
use crate::diagnose::observe::Pile;
use crate::diagnose::thresholds::{CloseWait, Count, FinWait2, Orphans, SynSent, Thresholds};
use crate::diagnose::{
    Input, Outcome, Processes, TOP_CULPRITS, peer_culprits, percent, plural, port_culprits,
    process_culprits, top,
};
use crate::report::{Culprit, Facts, Finding, Severity};

pub fn close_wait(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.close_wait;
    let cw = &s.obs.close_wait;
    let n = cw.total;
    let established = s.obs.established();
    let share_ok = n as f64 >= th.warn_share_of_established * established as f64;
    let processes = process_culprits(s, &cw.inodes);
    let per_process = processes.iter().find_map(|c| match c {
        Culprit::Process { count, .. } => Some(*count),
        _ => None,
    });
    let near_emfile = processes.iter().any(|c| match c {
        Culprit::Process {
            count,
            fd_count,
            nofile_soft: Some(limit),
            ..
        } => *count >= th.warn && *fd_count as f64 >= th.crit_fd_share * *limit as f64,
        _ => false,
    });
    let warn = n >= th.warn && share_ok;
    let crit = n >= th.crit || per_process.is_some_and(|c| c >= th.crit_per_process) || near_emfile;
    // Before owners are known, a pile big enough for one process to reach the per-process limit
    // is worth looking up.
    let lookup = s.processes == Processes::Pending && n >= th.crit_per_process;
    let Some(sev) = Severity::from_levels(warn, crit).or(lookup.then_some(Severity::Warning))
    else {
        return Outcome::Quiet;
    };

    let ports = port_culprits(&cw.by_local_port);
    let peers = peer_culprits(&cw.by_peer);
    let facts = CloseWaitFacts {
        close_wait: n,
        established,
        unread: s.obs.close_wait_unread,
        read_to_end_not_closed: n - s.obs.close_wait_unread,
        not_accepted: s.obs.close_wait_unaccepted,
        thresholds: *th,
        top_port: first_port(&ports),
        top_peer: first_peer(&peers),
        unnamed: unnamed(s, &processes, true),
    };
    let mut next = Vec::new();
    if let Some((port, _)) = facts.top_port {
        next.push(format!("ss -tnp state close-wait '( sport = :{port} )'"));
    }
    match processes.first() {
        Some(Culprit::Process { pid, .. }) => {
            next.push(format!("lsof -nP -p {pid} -a -iTCP -sTCP:CLOSE_WAIT"));
            next.push(format!(
                "ls /proc/{pid}/fd | wc -l; grep 'open files' /proc/{pid}/limits   # how close it is to EMFILE"
            ));
        }
        _ => next.push("sudo sockscope top --by process --by peer --state close-wait".into()),
    }
    next.push("Review where the application closes connections: error paths, end-of-file handling, pool eviction.".into());
    let mut culprits = processes;
    culprits.extend(ports);
    culprits.extend(peers);
    Outcome::Fired(
        Finding::new("close_wait_excess", sev, facts)
            .with_next_steps(next)
            .with_culprits(culprits)
            .with_inodes(cw.inodes.clone()),
    )
}

/// CLOSE_WAIT: how many, how many still unread, where they point.
#[derive(Debug, Serialize)]
pub struct CloseWaitFacts {
    pub close_wait: u64,
    pub established: u64,
    /// Still holding unread data (at least the peer's FIN): the application is not reading.
    pub unread: u64,
    pub read_to_end_not_closed: u64,
    /// Closed by the peer before the application accept()ed them.
    pub not_accepted: u64,
    pub thresholds: CloseWait,
    #[serde(skip)]
    pub top_port: Option<(u16, u64)>,
    #[serde(skip)]
    pub top_peer: Option<(String, u64)>,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

impl Facts for CloseWaitFacts {
    fn title(&self) -> String {
        // Not "stuck": one look cannot tell how long (close_wait_stuck, across runs, can).
        format!(
            "{} in CLOSE_WAIT, closed by the peer and not by the application",
            plural(self.close_wait, "connection")
        )
    }

    fn summary(&self) -> String {
        let (n, unread, read) = (self.close_wait, self.unread, self.read_to_end_not_closed);
        let mut summary = format!(
            "{} in CLOSE_WAIT ({}): their peers closed the connection and the local application has not called close(). ",
            plural(n, "socket"),
            if self.established == 0 {
                "and none ESTABLISHED".to_string()
            } else {
                format!("{} of ESTABLISHED", percent(n, self.established))
            }
        );
        summary.push_str(&format!(
            "{unread} still {} unread data (the application is not reading {} at all); {read} {} read to the end and still not closed.",
            if unread == 1 { "holds" } else { "hold" },
            if unread == 1 { "it" } else { "them" },
            if read == 1 { "was" } else { "were" },
        ));
        if self.not_accepted > 0 {
            summary.push_str(&format!(
                " {} were closed by the peer before the application even accept()ed them.",
                self.not_accepted
            ));
        }
        if let Some((port, count)) = self.top_port {
            summary.push_str(&format!(" Most are on local port {port} ({count})"));
            if let Some((addr, count)) = &self.top_peer {
                summary.push_str(&format!(", and from {addr} ({count})"));
            }
            summary.push('.');
        }
        summary.push_str(&unnamed_text("Holder", self.unnamed));
        summary
    }

    fn causes(&self) -> Vec<String> {
        let mut causes = strings(&[
            "A missing close() on an error or end-of-file path, or a connection pool that keeps connections its peers have closed: check the code that releases connections.",
            "Worker threads blocked elsewhere (a lock, a slow downstream, a full pool), so nothing reads the end-of-file and closes.",
            "Peers such as load balancers or databases closing idle connections that a pool keeps without validating them.",
        ]);
        // Mostly unread: the application does not even read, so blocked workers come first.
        if self.unread * 2 > self.close_wait {
            causes.swap(0, 1);
        }
        causes
    }
}

pub fn syn_sent(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.syn_sent;
    let mut affected: Vec<(std::net::SocketAddr, u64, u64)> = s
        .obs
        .syn_sent
        .iter()
        .filter(|(_, v)| v.retried >= th.warn)
        .map(|(dst, v)| (*dst, v.retried, v.total))
        .collect();
    if affected.is_empty() {
        return Outcome::Quiet;
    }
    affected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let worst = affected[0];
    let crit = worst.1 >= th.crit || affected.len() as u64 >= th.crit_destinations;
    let sev = Severity::warning_or_critical(crit);
    let inodes: Vec<u64> = affected
        .iter()
        .flat_map(|(dst, _, _)| s.obs.syn_sent[dst].inodes.iter().copied())
        .collect();
    let processes = process_culprits(s, &inodes);
    let facts = SynSentFacts {
        destinations_affected: affected.len(),
        worst: Unanswered {
            destination: worst.0,
            retried: worst.1,
            syn_sent: worst.2,
        },
        thresholds: *th,
        unnamed: unnamed(s, &processes, !inodes.is_empty()),
    };
    let (ip, port) = (worst.0.ip(), worst.0.port());
    let mut culprits = processes;
    culprits.extend(
        affected
            .iter()
            .take(TOP_CULPRITS)
            .map(|(dst, n, _)| Culprit::Destination {
                local_addr: None,
                addr: dst.ip().to_string(),
                port: dst.port(),
                count: *n,
            }),
    );
    let next = vec![
        format!(
            "ss -tnpo state syn-sent '( dst {} )'",
            match ip {
                std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
                v4 => format!("{v4}:{port}"),
            }
        ),
        format!("nc -vz -w 3 {ip} {port}   # does anything answer?"),
        "nstat -az TcpExtTCPSynRetrans TcpAttemptFails".into(),
        "On the destination: sockscope (accept_queue_overflow, syn_recv_flood) and its firewall rules.".into(),
    ];
    Outcome::Fired(
        Finding::new("syn_sent_stuck", sev, facts)
            .with_next_steps(next)
            .with_culprits(culprits)
            .with_inodes(inodes),
    )
}

/// Connection attempts that resent their SYN without an answer, per destination.
#[derive(Debug, Serialize)]
pub struct SynSentFacts {
    pub destinations_affected: usize,
    pub worst: Unanswered,
    pub thresholds: SynSent,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

/// The destination with the most unanswered attempts.
#[derive(Debug, Serialize)]
pub struct Unanswered {
    pub destination: std::net::SocketAddr,
    /// Attempts that resent their SYN at least `min_retransmits` times.
    pub retried: u64,
    /// Every attempt toward it.
    pub syn_sent: u64,
}

impl Facts for SynSentFacts {
    fn title(&self) -> String {
        format!(
            "Connections to {} are not being answered",
            self.worst.destination
        )
    }

    fn summary(&self) -> String {
        let mut summary = format!(
            "{} to {} resent their SYN {} without an answer",
            plural(self.worst.retried, "connection attempt"),
            self.worst.destination,
            match self.thresholds.min_retransmits {
                0 | 1 => "at least once".to_string(),
                n => format!("{n}+ times"),
            }
        );
        if self.destinations_affected > 1 {
            summary.push_str(&format!(
                ", and {} more destinations are affected",
                self.destinations_affected - 1
            ));
        }
        summary.push_str(
            ". A refused connection fails at once and a lost SYN is rare; several attempts to one destination all waiting on a resent SYN mean the SYNs are being dropped silently.",
        );
        summary.push_str(&unnamed_text("Initiator", self.unnamed));
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "A firewall or security group dropping the SYNs (DROP rather than REJECT).",
            "The destination host is down or unroutable.",
            "The destination's listen queue is full (its accept loop has stalled), so it drops SYNs.",
            "A full connection-tracking table on the path.",
        ])
    }
}

/// Shared shape of the orphan-state rules (FIN_WAIT1, LAST_ACK).
fn orphan_state(
    s: &Input,
    id: &'static str,
    pile: &Pile,
    th: &Orphans,
    words: &'static OrphanWords,
    extra_step: Option<&str>,
) -> Outcome {
    let n = pile.total;
    let established = s.obs.established();
    // Many at once on any host, a socket retransmitting for long, or a pile-up of FINs already
    // resent that is large next to the connections the host holds.
    let piled_up = pile.resent >= th.warn_resent
        && pile.resent as f64 >= th.warn_resent_share_of_established * established as f64;
    let warn = n >= th.warn || (n > 0 && pile.max_retransmits >= th.warn_retransmits) || piled_up;
    let Some(sev) = Severity::from_levels(warn, n >= th.crit) else {
        return Outcome::Quiet;
    };
    let peers = peer_culprits(&pile.by_peer);
    let ports = port_culprits(&pile.by_local_port);
    let facts = OrphanFacts {
        count: n,
        fin_resent: pile.resent,
        established,
        max_retransmits: pile.max_retransmits,
        thresholds: *th,
        words,
        top_port: first_port(&ports),
        top_peer: first_peer(&peers),
    };
    let state = words.state;
    let state_arg = state
        .to_lowercase()
        .replace('_', "-")
        .replace("wait1", "wait-1");
    let mut next = vec![match facts.top_port {
        Some((port, _)) => format!(
            "ss -tno state {state_arg} '( sport = :{port} )'   # timers and retransmits per peer"
        ),
        None => format!("ss -tno state {state_arg}   # timers and retransmits per peer"),
    }];
    next.push(format!(
        "sockscope top --by local-port --by peer --state {state_arg}"
    ));
    next.extend(extra_step.map(str::to_string));
    let mut culprits = ports;
    culprits.extend(peers);
    Outcome::Fired(
        Finding::new(id, sev, facts)
            .with_next_steps(next)
            .with_culprits(culprits),
    )
}

/// Orphans in FIN_WAIT1 or LAST_ACK: how many, how many resent their FIN, against the host.
#[derive(Debug, Serialize)]
pub struct OrphanFacts {
    pub count: u64,
    pub fin_resent: u64,
    pub established: u64,
    pub max_retransmits: u32,
    pub thresholds: Orphans,
    #[serde(skip)]
    pub words: &'static OrphanWords,
    #[serde(skip)]
    pub top_port: Option<(u16, u64)>,
    #[serde(skip)]
    pub top_peer: Option<(String, u64)>,
}

/// What an orphan-state finding says besides its numbers.
#[derive(Debug)]
pub struct OrphanWords {
    /// `FIN_WAIT1`
    state: &'static str,
    meaning: &'static str,
    causes: &'static [&'static str],
}

impl Facts for OrphanFacts {
    fn title(&self) -> String {
        format!(
            "{} stuck in {}",
            plural(self.count, "connection"),
            self.words.state
        )
    }

    fn summary(&self) -> String {
        let mut summary = format!(
            "{} in {} ({} of them resent their FIN; {} ESTABLISHED on the host): {}",
            plural(self.count, "socket"),
            self.words.state,
            self.fin_resent,
            self.established,
            self.words.meaning
        );
        if self.max_retransmits > 0 {
            summary.push_str(&format!(
                " The worst has retransmitted {} times.",
                self.max_retransmits
            ));
        }
        if let Some((port, count)) = self.top_port {
            summary.push_str(&format!(" Most are on local port {port} ({count})"));
            if let Some((addr, count)) = &self.top_peer {
                summary.push_str(&format!(" and point at {addr} ({count})"));
            }
            summary.push('.');
        }
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(self.words.causes)
    }
}

static FIN_WAIT1: OrphanWords = OrphanWords {
    state: "FIN_WAIT1",
    meaning: "this host sent its FIN and the peer has not acknowledged it, often with data still unsent.",
    causes: &[
        "The peer stopped reading (zero window), so our data and FIN cannot be delivered.",
        "The peer, or a NAT or load balancer on the path, forgot the connection.",
        "Packet loss toward the peer.",
    ],
};

static LAST_ACK: OrphanWords = OrphanWords {
    state: "LAST_ACK",
    meaning: "the peer closed, this host closed too, and the final ACK never came.",
    causes: &[
        "The peer vanished after sending its FIN.",
        "A firewall or conntrack entry expired before the close finished (conntrack keeps LAST_ACK for 30 s).",
        "ACKs dropped on the path.",
    ],
};

pub fn fin_wait1(s: &Input, t: &Thresholds) -> Outcome {
    orphan_state(
        s,
        "fin_wait1_excess",
        &s.obs.fin_wait1,
        &t.fin_wait1,
        &FIN_WAIT1,
        Some("sysctl net.ipv4.tcp_orphan_retries   # a lower value frees orphaned sockets sooner"),
    )
}

pub fn last_ack(s: &Input, t: &Thresholds) -> Outcome {
    orphan_state(
        s,
        "last_ack_excess",
        &s.obs.last_ack,
        &t.last_ack,
        &LAST_ACK,
        // Only with conntrack loaded: without it the key does not exist.
        s.ctx
            .conntrack
            .is_some()
            .then_some("sysctl net.netfilter.nf_conntrack_tcp_timeout_last_ack"),
    )
}

pub fn fin_wait2(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.fin_wait2;
    let orphaned = &s.obs.fin_wait2_orphaned;
    let held = &s.obs.fin_wait2_held;
    let worst_peer = top(&orphaned.by_peer, 1).into_iter().next();
    let warn = worst_peer
        .as_ref()
        .is_some_and(|(_, n)| *n >= th.warn_orphans_per_peer);
    let info = held.total >= th.info_held;
    let sev = match (warn, info) {
        (true, _) => Severity::Warning,
        (false, true) => Severity::Info,
        _ => return Outcome::Quiet,
    };
    let processes = process_culprits(s, &held.inodes);
    let facts = FinWait2Facts {
        orphaned: orphaned.total,
        held: held.total,
        fin_timeout_s: s.ctx.sysctl.tcp_fin_timeout,
        thresholds: *th,
        not_closing: worst_peer.filter(|_| warn),
        unnamed: unnamed(s, &processes, true),
    };
    let mut culprits = processes;
    culprits.extend(peer_culprits(&orphaned.by_peer));
    Outcome::Fired(
        Finding::new("fin_wait2_excess", sev, facts)
            .with_next_steps(vec![
                "sockscope top --by peer --state fin-wait-2".into(),
                "sysctl net.ipv4.tcp_fin_timeout".into(),
            ])
            .with_culprits(culprits)
            .with_inodes(held.inodes.clone()),
    )
}

/// FIN_WAIT2: orphans waiting for a peer to close, and sockets still held after shutdown().
#[derive(Debug, Serialize)]
pub struct FinWait2Facts {
    pub orphaned: u64,
    pub held: u64,
    pub fin_timeout_s: Option<u64>,
    pub thresholds: FinWait2,
    /// The peer with the most orphans waiting for it, when they are past the threshold.
    #[serde(skip)]
    pub not_closing: Option<(std::net::IpAddr, u64)>,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

impl Facts for FinWait2Facts {
    fn title(&self) -> String {
        format!(
            "{} waiting in FIN_WAIT2",
            plural(self.orphaned + self.held, "connection")
        )
    }

    fn summary(&self) -> String {
        let mut summary = String::new();
        if let Some((peer, n)) = self.not_closing {
            summary.push_str(&format!(
                "{n} orphaned FIN_WAIT2 sockets wait for {peer} to close its side: that peer keeps connections in CLOSE_WAIT (a leak on its side). Each lasts up to tcp_fin_timeout. "
            ));
        }
        if self.held >= self.thresholds.info_held {
            summary.push_str(&format!(
                "{} FIN_WAIT2 sockets are still held by a process after shutdown(SHUT_WR); no timer ends them.",
                self.held
            ));
            summary.push_str(&unnamed_text("Holder", self.unnamed));
        }
        summary.trim_end().to_string()
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "The peer does not close its side: look for a CLOSE_WAIT leak there (sockscope on the peer).",
            "This host half-closes connections (shutdown) and keeps them open waiting for the peer.",
        ])
    }
}

pub fn closing(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.closing;
    let n = s.obs.closing.total;
    let Some(sev) = Severity::from_levels(n >= th.warn, n >= th.crit) else {
        return Outcome::Quiet;
    };
    Outcome::Fired(
        Finding::new(
            "closing_excess",
            sev,
            ClosingFacts {
                count: n,
                thresholds: *th,
            },
        )
        .with_next_steps(vec![
            "ss -tno state closing".into(),
            "sockscope top --by peer --state closing".into(),
        ])
        .with_culprits(peer_culprits(&s.obs.closing.by_peer)),
    )
}

/// Simultaneous closes whose FIN is not acknowledged.
#[derive(Debug, Serialize)]
pub struct ClosingFacts {
    pub count: u64,
    pub thresholds: Count,
}

impl Facts for ClosingFacts {
    fn title(&self) -> String {
        format!("{} stuck in CLOSING", plural(self.count, "connection"))
    }

    fn summary(&self) -> String {
        format!(
            "{} in CLOSING: both sides closed at once and this host's FIN is still unacknowledged. That is rare in healthy traffic.",
            plural(self.count, "socket")
        )
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "ACKs lost on the path.",
            "A middlebox that mangles or drops FIN segments.",
        ])
    }
}

#[cfg(test)]
#[path = "states_tests.rs"]
mod tests;
