//! A6 `syn_sent_stuck`: outgoing connections still waiting for a SYN-ACK, per destination,
//! after resending their SYN: SYNs dropped silently.

use serde::{Deserialize, Serialize};

use super::culprits::{TOP_CULPRITS, Unnamed, process_culprits, unnamed};
use super::words::{plural, strings, unnamed_text};
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome};
use crate::model::TcpState;
use crate::report::{Culprit, Facts, Finding, Severity};

pub static RULE: RuleDef<SynSent> = RuleDef {
    id: "syn_sent_stuck",
    catalog: "A6",
    meaning: "Outgoing connections still waiting for a SYN-ACK, per destination, after resending their SYN.",
    why: "A refused connection fails at once; only silently dropped SYNs pile up (firewall, dead host, full remote queue). One lost SYN is not a pattern, several to one destination are: one resend (about a second) flags an outage in its first seconds.",
    governs: Some(TcpState::SynSent),
    reads: Reads::NOTHING,
    defaults: SynSent {
        warn: 5,
        min_retransmits: 1,
        crit: 50,
        crit_destinations: 5,
    },
    describe: |t| {
        format!(
            "warning at {} to one destination that have each resent their SYN {}+ times; critical at {}, or {} destinations at once",
            t.warn, t.min_retransmits, t.crit, t.crit_destinations
        )
    },
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// The thresholds; `[rules.syn_sent_stuck]` in the config file sets them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynSent {
    /// Warning when this many connection attempts to one destination…
    pub warn: u64,
    /// …have resent their SYN at least this often (1: about a second without an answer).
    pub min_retransmits: u32,
    pub crit: u64,
    /// Critical when this many destinations are affected at once.
    pub crit_destinations: u64,
}

fn judge(s: &Input, th: &SynSent) -> Outcome {
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
        Finding::new(RULE.id, sev, facts)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge, many, severity};
    use crate::model::{Socket, TimerKind};

    /// `n` attempts to 192.0.2.80:443 from distinct local ports, each `r` times resent.
    fn attempts(n: usize, r: u32) -> Vec<Socket> {
        many(
            n,
            TcpState::SynSent,
            "10.0.0.1:41000",
            "192.0.2.80",
            r,
            TimerKind::Retransmit,
        )
        .into_iter()
        .map(|mut s| {
            // Attempts differ by local port; the destination is the same.
            (s.local, s.remote) = (s.remote, "192.0.2.80:443".parse().unwrap());
            s
        })
        .collect()
    }

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &ctx(), &attempts(30, 1)))
    }

    #[test]
    fn one_resent_syn_to_one_destination_is_no_pattern_five_are() {
        let f = fired(judge(&RULE, &ctx(), &attempts(30, 1)));
        assert_eq!(f.severity, Severity::Warning);
        let seen = facts::<SynSentFacts>(&f);
        assert_eq!(seen.worst.destination.to_string(), "192.0.2.80:443");
        assert_eq!((seen.worst.retried, seen.destinations_affected), (30, 1));
        let summary = f.facts.summary();
        assert!(summary.contains("at least once"), "{summary}");
        assert_quiet(judge(&RULE, &ctx(), &attempts(4, 1)));
        // In their first second nothing was resent yet.
        assert_quiet(judge(&RULE, &ctx(), &attempts(30, 0)));
        assert_eq!(
            severity(&judge(&RULE, &ctx(), &attempts(50, 1))),
            Some(Severity::Critical)
        );
    }
}
