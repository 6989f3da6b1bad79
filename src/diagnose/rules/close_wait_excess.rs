//! A1 `close_wait_excess`: sockets the peer has closed and the local application has not. Names
//! the holder, port and peer, and whether the application still reads.

use serde::{Deserialize, Serialize};

use super::culprits::{
    Unnamed, first_peer, first_port, peer_culprits, port_culprits, process_culprits, unnamed,
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
    meaning: "Sockets whose peer has closed but the local application never called close(). Names the process, local port and peer, and whether the application still reads (Recv-Q 1: the peer's FIN is unread).",
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

    let ports = port_culprits(&cw.by_local_port);
    let peers = peer_culprits(&cw.by_peer);
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
        thresholds: *th,
        top_port: first_port(&ports),
        top_peer: first_peer(&peers),
        unnamed: unnamed(s, &processes, true),
        seen,
        ages,
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
        Finding::new(RULE.id, sev, facts)
            .with_next_steps(next)
            .with_culprits(culprits)
            .with_inodes(cw.inodes.clone())
            .with_evidence(evidence),
    )
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
    pub thresholds: CloseWait,
    #[serde(skip)]
    pub top_port: Option<(u16, u64)>,
    #[serde(skip)]
    pub top_peer: Option<(String, u64)>,
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
        if let Some((port, count)) = self.top_port {
            summary.push_str(&format!(" Most are on local port {port} ({count})"));
            if let Some((addr, count)) = &self.top_peer {
                summary.push_str(&format!(", and from {addr} ({count})"));
            }
            summary.push('.');
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
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{
        assert_quiet, ctx, facts, fired, judge, many, pile, severity,
    };
    use crate::model::{Socket, TimerKind};
    use crate::report::Finding;

    fn established(n: usize) -> Vec<Socket> {
        many(
            n,
            TcpState::Established,
            "10.0.0.1:8080",
            "10.0.1.1",
            0,
            TimerKind::Off,
        )
    }

    fn with(mut base: Vec<Socket>, more: Vec<Socket>) -> Vec<Socket> {
        base.extend(more);
        base
    }

    pub(super) fn example() -> Finding {
        fired(judge(
            &RULE,
            &ctx(),
            &with(established(100), pile(25, TcpState::CloseWait)),
        ))
    }

    #[test]
    fn close_wait_warns_by_count_and_share_and_is_critical_at_200() {
        let cw = |n| pile(n, TcpState::CloseWait);
        let f = fired(judge(&RULE, &ctx(), &with(established(100), cw(25))));
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<CloseWaitFacts>(&f);
        assert_eq!(
            (seen.close_wait, seen.established, seen.top_port),
            (25, 100, Some((8080, 25)))
        );
        assert_quiet(judge(&RULE, &ctx(), &with(established(100), cw(19))));
        // 25 among 1000 ESTABLISHED is under 5%: a busy server's normal churn.
        assert_quiet(judge(&RULE, &ctx(), &with(established(1000), cw(25))));
        let out = judge(&RULE, &ctx(), &with(established(100), cw(210)));
        assert_eq!(severity(&out), Some(Severity::Critical));
    }

    #[test]
    fn mostly_unread_sockets_put_blocked_workers_first() {
        let mut unread = pile(25, TcpState::CloseWait);
        for s in &mut unread[..20] {
            s.rx_queue = 1;
        }
        let f = fired(judge(&RULE, &ctx(), &with(established(100), unread)));
        let seen = facts::<CloseWaitFacts>(&f);
        assert_eq!((seen.unread, seen.read_to_end_not_closed), (20, 5));
        assert!(f.facts.causes()[0].starts_with("Worker threads blocked"));
        let read = example();
        assert!(read.facts.causes()[0].starts_with("A missing close()"));
    }

    #[test]
    fn a_share_of_established_is_given_only_when_it_means_something() {
        let cw = |n| pile(n, TcpState::CloseWait);
        let share = fired(judge(&RULE, &ctx(), &with(established(100), cw(25))));
        assert!(share.facts.summary().contains("(25.0% of ESTABLISHED)"));
        // 361 against 2 would read "18050.0% of ESTABLISHED": the count says it better.
        let few = fired(judge(&RULE, &ctx(), &with(established(2), cw(361))));
        let summary = few.facts.summary();
        assert!(
            summary.contains("361 sockets in CLOSE_WAIT (and only 2 ESTABLISHED)"),
            "{summary}"
        );
        assert!(!summary.contains("% of ESTABLISHED"), "{summary}");
        let one = fired(judge(&RULE, &ctx(), &with(established(1), cw(30))));
        assert!(one.facts.summary().contains("(and only 1 ESTABLISHED)"));
        let none = fired(judge(&RULE, &ctx(), &cw(30)));
        assert!(none.facts.summary().contains("(and none ESTABLISHED)"));
    }
}
