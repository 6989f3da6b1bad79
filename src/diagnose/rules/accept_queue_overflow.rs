//! A5 `accept_queue_overflow`: connections the kernel completed and the application has not
//! accept()ed, per listener; said to be judged blind where the source has no backlogs.

use serde::{Deserialize, Serialize};

use super::culprits::{TOP_CULPRITS, Unnamed, process_culprits, unnamed};
use super::seen::{Kind, ranked};
use super::words::{pct, plural, unnamed_text};
use crate::diagnose::evidence::Purpose;
use crate::diagnose::observe::Listener;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome};
use crate::report::{Culprit, Facts, Finding, Seen, Severity};

pub static RULE: RuleDef<AcceptQueue> = RuleDef {
    id: "accept_queue_overflow",
    catalog: "A5",
    meaning: "Connections completed by the kernel but not yet accept()ed, per listener (LISTEN Recv-Q).",
    why: "A full queue drops new SYNs (ListenOverflows): clients see timeouts while the service looks idle. /proc does not show each listener's backlog, only its upper bound somaxconn; sock_diag does.",
    governs: None,
    reads: Reads {
        ages: None,
        threads: true,
    },
    defaults: AcceptQueue {
        warn: 100,
        warn_share_of_somaxconn: 0.5,
    },
    describe: |t| {
        format!(
            "warning at {} waiting or {} of the backlog (sock_diag reports it; with /proc, net.core.somaxconn bounds it); critical when the queue reaches the backlog",
            t.warn,
            pct(t.warn_share_of_somaxconn)
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// The thresholds; `[rules.accept_queue_overflow]` in the config file sets them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptQueue {
    /// Warning when this many accepted connections wait on one listener…
    pub warn: u64,
    /// …or the queue reaches this fraction of somaxconn (the upper bound of any backlog).
    pub warn_share_of_somaxconn: f64,
}

fn judge(s: &Input, th: &AcceptQueue) -> Outcome {
    let somaxconn = s.ctx.sysctl.somaxconn;
    // With sock_diag the real backlog is known; /proc only offers its bound, somaxconn.
    let limit = |l: &Listener| l.backlog.map(u64::from).or(somaxconn);
    let warns = |l: &Listener| {
        let q = u64::from(l.queued);
        q >= th.warn
            || limit(l).is_some_and(|m| q > 0 && q as f64 >= th.warn_share_of_somaxconn * m as f64)
    };
    let mut full: Vec<&Listener> = s.obs.listeners.iter().filter(|l| warns(l)).collect();
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
    let (evidence, seen) = s
        .evidence
        .map(|e| e.for_finding(None, &processes, Purpose::Accept))
        .unwrap_or_default();
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
        seen,
    };
    let mut culprits = processes;
    culprits.extend(full.iter().take(TOP_CULPRITS).map(|l| Culprit::LocalPort {
        port: l.local.port(),
        count: u64::from(l.queued),
    }));
    Outcome::Fired(
        Finding::new(RULE.id, sev, facts)
            .with_next_steps(vec![
                format!("ss -lntp '( sport = :{port} )'   # Recv-Q (waiting) against Send-Q (the backlog)"),
                "nstat -az TcpExtListenOverflows TcpExtListenDrops".into(),
                "Check the service's health: CPU, thread dumps, event-loop lag; then its listen() backlog.".into(),
            ])
            .with_culprits(culprits)
            .with_inodes(inodes)
            .with_evidence(evidence),
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
    /// What the listener's holder's threads show.
    #[serde(skip)]
    pub seen: Option<Seen>,
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
        ranked(
            &[
                (
                    Kind::SlowAccept,
                    "The accept loop is slow or stalled: CPU starvation, GC pauses, a full worker pool, a deadlock.",
                ),
                (
                    Kind::SmallBacklog,
                    "The listen backlog is too small for bursts of new connections.",
                ),
                (
                    Kind::WorkBeforeAccept,
                    "TLS handshakes or other work done before accept() returns.",
                ),
            ],
            self.seen.as_ref(),
            Purpose::Accept,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, severity};
    use crate::model::{Socket, TcpState};

    fn listener(port: u16, queued: u32, backlog: Option<u32>) -> Socket {
        let mut s = Socket::for_test(TcpState::Listen, &format!("10.0.0.1:{port}"), "0.0.0.0:0");
        s.rx_queue = queued;
        s.backlog = backlog;
        s
    }

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &ctx(), &[listener(8080, 5, Some(4))]))
    }

    #[test]
    fn a_queue_over_its_known_backlog_is_critical() {
        let f = example();
        assert_eq!(f.severity, Severity::Critical);
        let seen = facts::<AcceptQueueFacts>(&f);
        assert_eq!((seen.queued, seen.backlog), (5, Some(4)));
        assert_quiet(judge(&RULE, &ctx(), &[listener(8080, 1, Some(4096))]));
    }

    #[test]
    fn without_a_backlog_a_waiting_queue_is_said_to_be_judged_blind() {
        let out = judge(&RULE, &ctx(), &[listener(8080, 5, None)]);
        let Outcome::Limited(what) = out else {
            panic!("{out:?}")
        };
        assert!(what.contains("the most: 5 on 10.0.0.1:8080"), "{what}");
        assert!(what.contains("net.core.somaxconn = 4096"), "{what}");
        assert_quiet(judge(&RULE, &ctx(), &[listener(8080, 0, None)]));
        assert_eq!(
            severity(&judge(&RULE, &ctx(), &[listener(8080, 2100, None)])),
            Some(Severity::Warning)
        );
    }
}
