//! A13 `rx_backlog`: sockets with unread received data, per process: a slow or stuck reader.
//! The observations keep only the sockets past the threshold.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::culprits::{Unnamed, peer_culprits, process_culprits, unnamed};
use super::words::{strings, unnamed_text};
use crate::diagnose::evidence::Purpose;
use crate::diagnose::rule::{Judge, Reads, RuleDef};
use crate::diagnose::thresholds::MIB;
use crate::diagnose::{Input, Outcome};
use crate::report::{Facts, Finding, Severity};

pub static RULE: RuleDef<RxBacklog> = RuleDef {
    id: "rx_backlog",
    catalog: "A13",
    meaning: "Sockets with unread received data (Recv-Q), per process: a slow or stuck reader.",
    why: "Unread data means the application is not reading: blocked workers, a starved event loop, or a bug.",
    governs: None,
    reads: Reads {
        ages: None,
        threads: true,
    },
    defaults: RxBacklog { warn_bytes: MIB },
    describe: |t| format!("warning at {} MiB unread on one socket", t.warn_bytes / MIB),
    judge: Judge::Once(judge),
    #[cfg(test)]
    example: tests::example,
};

/// The thresholds; `[rules.rx_backlog]` in the config file sets them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RxBacklog {
    /// Warning when one socket has this many unread bytes.
    pub warn_bytes: u64,
}

fn judge(s: &Input, th: &RxBacklog) -> Outcome {
    let slow = &s.obs.rx_backlog;
    if slow.is_empty() {
        return Outcome::Quiet;
    }
    let bytes: u64 = slow.iter().map(|x| u64::from(x.rx_queue)).sum();
    let worst = slow
        .iter()
        .max_by_key(|x| x.rx_queue)
        .map_or(0, |x| x.rx_queue);
    let inodes: Vec<u64> = slow.iter().map(|x| x.inode).filter(|&i| i != 0).collect();
    let processes = process_culprits(s, &inodes);
    let mut peers: HashMap<std::net::IpAddr, u64> = HashMap::new();
    for x in slow {
        *peers.entry(x.remote.ip()).or_default() += 1;
    }
    let facts = RxBacklogFacts {
        sockets: slow.len(),
        unread_bytes: bytes,
        worst_bytes: worst,
        thresholds: *th,
        unnamed: unnamed(s, &processes, !inodes.is_empty()),
    };
    let mut culprits = processes;
    culprits.extend(peer_culprits(&peers));
    Outcome::Fired(
        Finding::new(RULE.id, Severity::Warning, facts)
            .with_next_steps(vec![
                "sockscope list --sort rx -p | head".into(),
                "nstat -az TcpExtTCPRcvQDrop TcpExtTCPWantZeroWindowAdv TcpExtTCPToZeroWindowAdv"
                    .into(),
            ])
            .with_evidence(
                s.evidence
                    .map(|e| e.for_finding(None, &culprits, Purpose::Release).0)
                    .unwrap_or_default(),
            )
            .with_culprits(culprits)
            .with_inodes(inodes),
    )
}

/// Sockets with at least the threshold of unread data.
#[derive(Debug, Serialize)]
pub struct RxBacklogFacts {
    pub sockets: usize,
    pub unread_bytes: u64,
    pub worst_bytes: u32,
    pub thresholds: RxBacklog,
    #[serde(skip)]
    pub unnamed: Option<Unnamed>,
}

impl Facts for RxBacklogFacts {
    fn title(&self) -> String {
        "Applications not reading their sockets".into()
    }

    fn summary(&self) -> String {
        let mut summary = format!(
            "{} at least {} KiB of received data the application has not read ({} KiB in all, {} KiB on the worst).",
            if self.sockets == 1 {
                "1 socket holds".to_string()
            } else {
                format!("{} sockets hold", self.sockets)
            },
            self.thresholds.warn_bytes / 1024,
            self.unread_bytes / 1024,
            self.worst_bytes / 1024
        );
        summary.push_str(&unnamed_text("Reader", self.unnamed));
        summary
    }

    fn causes(&self) -> Vec<String> {
        strings(&[
            "The application is blocked: locks, a slow downstream call, garbage-collection pauses.",
            "Its event loop is starved of CPU.",
            "A bug that stops reading one connection.",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::{assert_quiet, ctx, facts, fired, judge};
    use crate::model::{Socket, TcpState};

    fn reader(rx: u32) -> Socket {
        let mut s = Socket::for_test(TcpState::Established, "10.0.0.1:9092", "10.0.0.8:50000");
        s.rx_queue = rx;
        s
    }

    pub(super) fn example() -> Finding {
        fired(judge(&RULE, &ctx(), &[reader(2 << 20)]))
    }

    #[test]
    fn unread_data_warns_from_one_mebibyte() {
        assert_quiet(judge(&RULE, &ctx(), &[reader((1 << 20) - 1)]));
        let f = fired(judge(&RULE, &ctx(), &[reader(2 << 20)]));
        assert_eq!(facts::<RxBacklogFacts>(&f).worst_bytes, 2 << 20);
    }
}
