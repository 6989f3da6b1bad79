//! A1 `close_wait_excess`: sockets the peer has closed and the local application has not. Names
//! the holder, the port and peer (or, for connections this host opened, the server's endpoint),
//! and whether the application still reads. Its next steps follow one culprit, the largest.

use serde::{Deserialize, Serialize};

use std::collections::HashSet;
use std::net::SocketAddr;

use super::culprits::{
    TOP_CULPRITS, Unnamed, first_peer, first_port, peer_culprits, port_culprits, process_culprits,
    top, unnamed,
};
use super::seen::{Kind, ranked};
use super::words::{age, pct, percent, plural, unnamed_text};
use crate::diagnose::evidence::Purpose;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome, Processes};
use crate::model::TcpState;
use crate::report::{AgePattern, Culprit, Evidence, Facts, Finding, Seen, Severity};

pub static RULE: RuleDef<CloseWait> = RuleDef {
    id: "close_wait_excess",
    catalog: "A1",
    meaning: "Sockets whose peer has closed but the local application never called close(). Names the process, the local port and peer of accepted connections or the server endpoint of connections this host opened (a pool whose server closed them: their local ports are ephemeral), and whether the application still reads (Recv-Q 1: the peer's FIN is unread).",
    why: "No timer ends CLOSE_WAIT: each one is an fd leaked until the process exits. A few are in flight on any busy server; a share of ESTABLISHED scales with the machine.",
    governs: Some(TcpState::CloseWait),
    reads: Reads::holders_of(TcpState::CloseWait),
    defaults: CloseWait {
        warn: 20,
        warn_share_of_established: 0.05,
        crit: 200,
        crit_per_process: 100,
        crit_fd_share: 0.8,
    },
    describe: |t| {
        format!(
            "warning at {} and {} of ESTABLISHED; critical at {}, or {} in one process, or a holder at {} of its RLIMIT_NOFILE",
            t.warn,
            pct(t.warn_share_of_established),
            t.crit,
            t.crit_per_process,
            pct(t.crit_fd_share)
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// The thresholds; `[rules.close_wait_excess]` in the config file sets them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseWait {
    /// Warning when at least this many sockets are in CLOSE_WAIT…
    pub warn: u64,
    /// …and they are at least this fraction of ESTABLISHED.
    pub warn_share_of_established: f64,
    pub crit: u64,
    /// Critical when one process holds this many.
    pub crit_per_process: u64,
    /// Critical when a holder has used this fraction of its RLIMIT_NOFILE (EMFILE is near).
    pub crit_fd_share: f64,
}

fn judge(s: &Input, th: &CloseWait) -> Outcome {
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

    // Accepted connections point at their local port (the server's); the ones this host
    // opened at the server's endpoint (their local ports are ephemeral, one socket each).
    let outbound = &s.obs.close_wait_outbound;
    let ports = port_culprits(&cw.by_local_port);
    let toward = destination_culprits(&outbound.by_remote);
    let peers = peer_culprits(&cw.by_peer);
    let top_port = first_port(&ports);
    let top_remote = top(&outbound.by_remote, 1).pop();
    // One culprit for the next steps, the largest: a listener's port, or a server's endpoint.
    let opened_first = match (top_port, top_remote) {
        (Some((_, accepted)), Some((_, opened))) => opened > accepted,
        (None, Some(_)) => true,
        _ => false,
    };
    let (mut evidence, seen) = s
        .evidence
        .map(|e| e.for_finding(Some(TcpState::CloseWait), &processes, Purpose::Release))
        .unwrap_or_default();
    evidence.extend(near_limits(&processes));
    let ages = evidence.iter().find_map(|e| match e {
        Evidence::Ages(a) => Some((a.oldest_s, a.youngest_s, a.pattern)),
        _ => None,
    });
    let facts = CloseWaitFacts {
        close_wait: n,
        established,
        unread: s.obs.close_wait_unread,
        read_to_end_not_closed: n - s.obs.close_wait_unread,
        not_accepted: s.obs.close_wait_unaccepted,
        opened_here: outbound.total,
        thresholds: *th,
        top_port,
        top_peer: first_peer(&peers),
        top_remote,
        opened_first,
        unnamed: unnamed(s, &processes, true),
        seen,
        ages,
    };
    let mut next = Vec::new();
    // The holder of the culprit's sockets, not of the whole pile.
    let holder = if opened_first {
        process_culprits(s, &outbound.inodes)
    } else if outbound.inodes.is_empty() {
        processes.clone()
    } else {
        let opened: HashSet<u64> = outbound.inodes.iter().copied().collect();
        let accepted: Vec<u64> = cw
            .inodes
            .iter()
            .copied()
            .filter(|i| !opened.contains(i))
            .collect();
        process_culprits(s, &accepted)
    };
    match (opened_first, top_remote, top_port) {
        (true, Some((server, _)), _) => next.push(format!(
            "ss -tnp state close-wait '( dport = :{} )'",
            server.port()
        )),
        (false, _, Some((port, _))) => {
            next.push(format!("ss -tnp state close-wait '( sport = :{port} )'"))
        }
        _ => {}
    }
    match holder.first() {
        Some(Culprit::Process { pid, .. }) => {
            next.push(format!("lsof -nP -p {pid} -a -iTCP -sTCP:CLOSE_WAIT"));
            next.push(format!(
                "ls /proc/{pid}/fd | wc -l; grep 'open files' /proc/{pid}/limits   # how close it is to EMFILE"
            ));
        }
        _ => next.push("sudo sockscope top --by process --by peer --state close-wait".into()),
    }
    next.push("Review where the application closes connections: error paths, end-of-file handling, pool eviction.".into());
    // Who: the holders, then the largest side's culprits first.
    let mut culprits = processes;
    if opened_first {
        culprits.extend(toward);
        culprits.extend(ports);
    } else {
        culprits.extend(ports);
        culprits.extend(toward);
    }
    culprits.extend(peers);
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts)
            .with_next_steps(next)
            .with_culprits(culprits)
            .with_inodes(cw.inodes.clone())
            .with_evidence(evidence),
    )
}

/// The remote endpoints with the most sockets opened toward them.
fn destination_culprits<S>(counts: &std::collections::HashMap<SocketAddr, u64, S>) -> Vec<Culprit> {
    top(counts, TOP_CULPRITS)
        .into_iter()
        .map(|(to, count)| Culprit::Destination {
            local_addr: None,
            addr: to.ip().to_string(),
            port: to.port(),
            count,
        })
        .collect()
}

/// Holders that have used half their RLIMIT_NOFILE or more: EMFILE is where a leak ends.
fn near_limits(processes: &[Culprit]) -> Vec<Evidence> {
    processes
        .iter()
        .filter_map(|c| match c {
            Culprit::Process {
                pid,
                comm,
                fd_count,
                nofile_soft: Some(limit),
                ..
            } if *fd_count * 2 >= *limit => Some(Evidence::Limits {
                pid: *pid,
                comm: comm.clone(),
                fds: *fd_count,
                limit: *limit,
            }),
            _ => None,
        })
        .collect()
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
    /// Opened by this host (an ephemeral local port, no listener on it): the client side of
    /// connections whose server closed them, such as a pool's.
    pub opened_here: u64,
    pub thresholds: CloseWait,
    /// The local port with the most accepted ones, and their most frequent peer.
    #[serde(skip)]
    pub top_port: Option<(u16, u64)>,
    #[serde(skip)]
    pub top_peer: Option<(String, u64)>,
    /// The server endpoint with the most of those this host opened.
    #[serde(skip)]
    pub top_remote: Option<(SocketAddr, u64)>,
    /// Whether that endpoint outnumbers the top local port: the next steps follow it.
    #[serde(skip)]
    pub opened_first: bool,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
    /// What the holder's threads show.
    #[serde(skip)]
    pub seen: Option<Seen>,
    /// The oldest and youngest age (seconds since the peer closed) and their shape, when
    /// tcp_info was read.
    #[serde(skip)]
    pub ages: Option<(f64, f64, AgePattern)>,
}

impl Facts for CloseWaitFacts {
    fn title(&self) -> String {
        // "Stuck" only when the ages show it: without them one look cannot tell how long.
        let how_long = match self.ages {
            Some((oldest, _, AgePattern::Steady)) => format!(", piling up for {}", age(oldest)),
            Some((oldest, _, _)) => format!(", the oldest {} ago", age(oldest)),
            None => String::new(),
        };
        format!(
            "{} in CLOSE_WAIT, closed by the peer and not by the application{how_long}",
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
            } else if n > self.established {
                // "18050.0% of ESTABLISHED" says less than the count itself.
                format!("and only {} ESTABLISHED", self.established)
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
        let accepted = self.top_port.map(|(port, count)| {
            let mut text = format!("on local port {port} ({count})");
            if let Some((addr, count)) = &self.top_peer {
                text.push_str(&format!(", and from {addr} ({count})"));
            }
            text
        });
        let opened = self.top_remote.map(|(server, count)| {
            format!(
                "toward {server} ({count}), connections this host opened from ephemeral ports and the server closed"
            )
        });
        match (self.opened_first, opened, accepted) {
            (true, Some(opened), Some(accepted)) => {
                summary.push_str(&format!(" Most are {opened}; then {accepted}."))
            }
            (false, Some(opened), Some(accepted)) => {
                summary.push_str(&format!(" Most are {accepted}; then {opened}."))
            }
            (_, Some(one), None) | (_, None, Some(one)) => {
                summary.push_str(&format!(" Most are {one}."))
            }
            (_, None, None) => {}
        }
        summary.push_str(&unnamed_text("Holder", self.unnamed));
        match self.ages {
            Some((oldest, _, AgePattern::Steady)) => summary.push_str(&format!(
                " Their peers closed them over the last {}: a leak that goes on, not a burst.",
                age(oldest)
            )),
            Some((oldest, youngest, AgePattern::Burst)) => summary.push_str(&format!(
                " Their peers closed them all within {} of each other, {} ago: one burst (a peer restarting, a load balancer's idle sweep) the application has not caught up with.",
                age((oldest - youngest).max(1.0)),
                age(oldest)
            )),
            _ => {}
        }
        summary
    }

    fn causes(&self) -> Vec<String> {
        causes(self.unread * 2 > self.close_wait, self.seen.as_ref())
    }
}

/// Why sockets stay in CLOSE_WAIT, most likely first: what the holder's threads show, then the
/// generic causes (blocked workers first when most sockets are not even read). The rules over
/// the same sockets across runs share them.
pub fn causes(mostly_unread: bool, seen: Option<&Seen>) -> Vec<String> {
    {
        let missing_close = (
            Kind::MissingClose,
            "A missing close() on an error or end-of-file path, or a connection pool that keeps connections its peers have closed: check the code that releases connections.",
        );
        let blocked = (
            Kind::BlockedWorkers,
            "Worker threads blocked elsewhere (a lock, a slow downstream, a full pool), so nothing reads the end-of-file and closes.",
        );
        let idle_peers = (
            Kind::IdlePeers,
            "Peers such as load balancers or databases closing idle connections that a pool keeps without validating them.",
        );
        // Mostly unread: the application does not even read, so blocked workers come first.
        let generic = if mostly_unread {
            [blocked, missing_close, idle_peers]
        } else {
            [missing_close, blocked, idle_peers]
        };
        ranked(&generic, seen, Purpose::Release)
    }
}

#[cfg(test)]
mod tests;
