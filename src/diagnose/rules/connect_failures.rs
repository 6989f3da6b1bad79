//! A6 `connect_failures`: connects that never got an answer toward one destination, per
//! second, from the destroy events: a retry storm against a dead, refusing or unreachable
//! backend. Only while destroy events are followed.

use serde::{Deserialize, Serialize};

use super::culprits::TOP_CULPRITS;
use super::words::strings;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::{Input, Outcome};
use crate::report::{Culprit, Facts, Finding, Severity};

/// Failed connects per second toward one destination.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureRate {
    pub warn_per_second: f64,
    pub crit_per_second: f64,
    /// Fewer failures than this in a window are never a finding.
    pub min_failures: u64,
}

pub static RULE: RuleDef<FailureRate> = RuleDef {
    id: "connect_failures",
    catalog: "A6",
    meaning: "Connects that never got an answer (refused, timed out) per second toward one destination, from the kernel's destroy events; only while they are followed (`watch`, `serve`, `--follow`).",
    why: "A retry storm against a dead backend shows as failed connects, not as sockets: a refused connect lives microseconds and a snapshot never sees it. One a second is already a client that cannot reach what it needs.",
    governs: None,
    reads: Reads::NOTHING,
    defaults: FailureRate {
        warn_per_second: 1.0,
        crit_per_second: 20.0,
        min_failures: 5,
    },
    describe: |t| {
        format!(
            "warning at {}/s, critical at {}/s toward one destination, once {} have failed",
            t.warn_per_second, t.crit_per_second, t.min_failures
        )
    },
    judge: Judge::Followed(judge),
    #[cfg(test)]
    example: tests::example,
};

fn judge(s: &Input, th: &FailureRate) -> Outcome {
    let Some(f) = s.flows else {
        return Outcome::Quiet;
    };
    let mut hot: Vec<(std::net::SocketAddr, u64, u64, f64)> = f
        .window
        .by_destination
        .iter()
        .filter(|(_, k)| k.failed >= th.min_failures.max(1))
        .map(|(d, k)| (*d, k.failed, k.closed, f.per_s(k.failed)))
        .filter(|h| h.3 >= th.warn_per_second)
        .collect();
    if hot.is_empty() {
        return Outcome::Quiet;
    }
    hot.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let (destination, failed, closed, per_second) = hot[0];
    let severity = if hot.iter().any(|h| h.3 >= th.crit_per_second) {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut processes: Vec<(&str, u32, u64)> = f
        .window
        .by_process
        .iter()
        .filter(|(_, k)| k.failed > 0)
        .map(|(h, k)| (h.comm.as_str(), h.pid, k.failed))
        .collect();
    processes.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    let facts = FailureFacts {
        destination,
        port_known: destination.port() != 0,
        failed,
        established: closed,
        per_second,
        window_seconds: f.secs,
        processes: processes
            .iter()
            .take(TOP_CULPRITS)
            .map(|(comm, pid, n)| format!("{comm}[{pid}]: {n}"))
            .collect(),
        more_destinations: hot.len() - 1,
        thresholds: *th,
    };
    let dst = destination.ip();
    let steps = vec![
        match destination.port() {
            0 => format!("ss -tn state syn-sent dst {dst}"),
            port => format!("ss -tn state syn-sent '( dst {dst} and dport = :{port} )'"),
        },
        "nstat -az TcpAttemptFails TcpExtTCPSynRetrans   # refused (RST) or unanswered SYNs".into(),
        "Check that the backend is up and listening; add backoff and jitter to the clients' retries.".into(),
    ];
    Outcome::Fired(
        Finding::new(RULE.id, severity, facts)
            .with_next_steps(steps)
            .with_culprits(
                hot.iter()
                    .take(TOP_CULPRITS)
                    .map(|(d, failed, _, _)| Culprit::Destination {
                        local_addr: None,
                        addr: d.ip().to_string(),
                        port: d.port(),
                        count: *failed,
                    })
                    .collect(),
            ),
    )
}

/// Failed connects toward the destination that failed most.
#[derive(Debug, Serialize)]
pub struct FailureFacts {
    pub destination: std::net::SocketAddr,
    /// The kernel clears a blocking connect's port when it fails; a census may have seen it.
    pub port_known: bool,
    pub failed: u64,
    /// Connections to it that were established in the same window.
    pub established: u64,
    pub per_second: f64,
    pub window_seconds: f64,
    /// `comm[pid]: failures` of the processes whose connects failed (anywhere).
    pub processes: Vec<String>,
    #[serde(skip)]
    pub more_destinations: usize,
    pub thresholds: FailureRate,
}

impl FailureFacts {
    fn where_to(&self) -> String {
        if self.port_known {
            self.destination.to_string()
        } else {
            format!("{} (port unknown)", self.destination.ip())
        }
    }
}

impl Facts for FailureFacts {
    fn title(&self) -> String {
        format!(
            "{:.1} failed connects per second toward {}",
            self.per_second,
            self.where_to()
        )
    }

    fn summary(&self) -> String {
        let attempts = self.failed + self.established;
        let mut text = format!(
            "{} connects toward {} got no answer in the last {:.0} s ({:.1}/s, {:.0}% of {} attempts); {} were established.",
            self.failed,
            self.where_to(),
            self.window_seconds,
            self.per_second,
            self.failed as f64 * 100.0 / attempts.max(1) as f64,
            attempts,
            self.established,
        );
        if !self.port_known {
            text.push_str(" A blocking connect() that fails has its port cleared before the kernel reports it, and no census saw it trying.");
        }
        if !self.processes.is_empty() {
            text.push_str(&format!(" Failing: {}.", self.processes.join(", ")));
        }
        if self.more_destinations > 0 {
            text.push_str(&format!(
                " {} more destinations are above the threshold.",
                self.more_destinations
            ));
        }
        text
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "The backend is down or not listening: each attempt is refused (RST) at once.",
            "A firewall or a dead route drops the SYNs: each attempt waits out its retries.",
            "Clients retrying in a tight loop without backoff make one outage into a storm.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, fired, judge_followed};
    use crate::report::flows::{Budget, Close, Ending, Joined, Window};

    fn window(failed: u64, closed: u64, remote: &str) -> Window {
        let mut w = Window::new(std::time::SystemTime::UNIX_EPOCH);
        let mut budget = Budget::full();
        for i in 0..failed + closed {
            let c = Close {
                ending: if i < failed {
                    Ending::Failed
                } else {
                    Ending::Closed
                },
                accepted: false,
                local: "10.0.0.1:40000".parse().unwrap(),
                remote: remote.parse().unwrap(),
                holder: None,
                joined: Joined::Unknown,
                lifetime_ms: None,
                dated_by_census: false,
                bytes_acked: 0,
                bytes_received: 0,
                segs_out: 1,
                retrans: 0,
            };
            w.add(&c, &mut budget);
        }
        w
    }

    pub(super) fn example() -> Finding {
        fired(judge_followed(&RULE, &window(50, 2, "10.0.0.7:5432"), 10.0))
    }

    #[test]
    fn a_retry_storm_is_a_rate_of_failures_toward_one_destination() {
        let f = example();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            f.facts.title(),
            "5.0 failed connects per second toward 10.0.0.7:5432"
        );
        let summary = f.facts.summary();
        assert!(summary.contains("(5.0/s, 96% of 52 attempts)"), "{summary}");
        // 30/s is critical; 4 in the window is nothing; 0.5/s is below the warning.
        let storm = fired(judge_followed(
            &RULE,
            &window(300, 0, "10.0.0.7:5432"),
            10.0,
        ));
        assert_eq!(storm.severity, Severity::Critical);
        assert_quiet(judge_followed(&RULE, &window(4, 0, "10.0.0.7:5432"), 1.0));
        assert_quiet(judge_followed(&RULE, &window(5, 0, "10.0.0.7:5432"), 10.0));
        // The port the kernel cleared is said to be unknown.
        let blind = fired(judge_followed(&RULE, &window(50, 0, "10.0.0.7:0"), 10.0));
        assert!(
            blind
                .facts
                .title()
                .ends_with("toward 10.0.0.7 (port unknown)")
        );
        assert_eq!(blind.next_steps[0], "ss -tn state syn-sent dst 10.0.0.7");
    }
}
