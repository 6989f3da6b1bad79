//! A finding's evidence in JSON's `evidence` list: `{kind, text, …fields}`, ages in seconds as
//! numbers.

use serde::Serialize;

use super::text;
use crate::report::{AgePattern, AgeSince, Evidence, Gap, Proof, Runtime, ThreadGap, WaitKind};

/// One piece of evidence in JSON's `evidence` list: `{kind, text, …fields}`.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum EvidenceView {
    Ages {
        text: String,
        state: &'static str,
        since: &'static str,
        sockets: u64,
        oldest_age_seconds: f64,
        median_age_seconds: f64,
        youngest_age_seconds: f64,
        older_than: Vec<OlderThan>,
        pattern: &'static str,
    },
    Threads {
        text: String,
        pid: u32,
        comm: String,
        threads: u32,
        read: u32,
        groups: Vec<GroupView>,
        runtime: Option<&'static str>,
    },
    Peer {
        text: String,
        peer: String,
        connections: u32,
        waiting: u32,
        no_reply_seconds: Option<f64>,
        rtt_ms: Option<f64>,
        retransmitted_percent: Option<f64>,
        zero_window: u32,
    },
    Limits {
        text: String,
        pid: u32,
        comm: String,
        fds: u64,
        limit: u64,
    },
    Missing {
        text: String,
        what: &'static str,
        reason: &'static str,
    },
}

#[derive(Serialize)]
pub(crate) struct OlderThan {
    seconds: u64,
    sockets: u64,
}

#[derive(Serialize)]
pub(crate) struct GroupView {
    wait: &'static str,
    threads: u32,
    peer: Option<String>,
    peer_state: Option<&'static str>,
    names: Vec<String>,
}

/// Seconds as JSON numbers: milliseconds are all tcp_info has.
fn secs(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn wait_word(w: WaitKind) -> &'static str {
    match w {
        WaitKind::Running => "running",
        WaitKind::Recv => "recv",
        WaitKind::Send => "send",
        WaitKind::Accept => "accept",
        WaitKind::Connect => "connect",
        WaitKind::OtherFd => "other_fd",
        WaitKind::EventLoop => "event_loop",
        WaitKind::Lock => "futex",
        WaitKind::Sleep => "sleep",
        WaitKind::Signal => "signal",
        WaitKind::Disk => "disk",
        WaitKind::Stopped => "stopped",
        WaitKind::Other => "other",
        WaitKind::Unknown => "unknown",
    }
}

impl EvidenceView {
    pub(crate) fn of(e: &Evidence) -> EvidenceView {
        let text = text(e);
        match e {
            Evidence::Ages(a) => EvidenceView::Ages {
                text,
                state: a.state.name(),
                since: match a.since {
                    AgeSince::PeerClosed => "peer_closed",
                    AgeSince::LastSegment => "last_segment",
                    AgeSince::Idle => "idle",
                },
                sockets: a.measured,
                oldest_age_seconds: secs(a.oldest_s),
                median_age_seconds: secs(a.median_s),
                youngest_age_seconds: secs(a.youngest_s),
                older_than: a
                    .older_than
                    .iter()
                    .map(|&(seconds, sockets)| OlderThan { seconds, sockets })
                    .collect(),
                pattern: match a.pattern {
                    AgePattern::Burst => "burst",
                    AgePattern::Steady => "steady",
                    AgePattern::Mixed => "mixed",
                },
            },
            Evidence::Threads(t) => EvidenceView::Threads {
                text,
                pid: t.pid,
                comm: t.comm.clone(),
                threads: t.total,
                read: t.read,
                groups: t
                    .groups
                    .iter()
                    .map(|g| GroupView {
                        wait: wait_word(g.wait),
                        threads: g.threads,
                        peer: g.peer.map(|p| p.to_string()),
                        peer_state: g.peer_state.map(|s| s.name()),
                        names: g.names.clone(),
                    })
                    .collect(),
                runtime: t.runtime.map(|r| match r {
                    Runtime::Go => "go",
                    Runtime::NodeJs => "nodejs",
                    Runtime::Jvm => "jvm",
                }),
            },
            Evidence::Peer(p) => EvidenceView::Peer {
                text,
                peer: p.peer.to_string(),
                connections: p.connections,
                waiting: p.waiting,
                no_reply_seconds: p.no_reply_s.map(secs),
                rtt_ms: p.rtt_ms.map(|v| (v * 1000.0).round() / 1000.0),
                retransmitted_percent: p.retransmitted_pct.map(|v| (v * 10.0).round() / 10.0),
                zero_window: p.zero_window,
            },
            Evidence::Limits {
                pid,
                comm,
                fds,
                limit,
            } => EvidenceView::Limits {
                text,
                pid: *pid,
                comm: comm.clone(),
                fds: *fds,
                limit: *limit,
            },
            Evidence::Missing { what, why } => EvidenceView::Missing {
                text,
                what: match what {
                    Proof::Ages => "ages",
                    Proof::Threads => "threads",
                },
                reason: match why {
                    Gap::ProcSource => "proc_source",
                    Gap::NoHolder => "no_holder",
                    Gap::MiniSockets => "mini_sockets",
                    Gap::SavedCopy => "saved_copy",
                    Gap::Failed(_) => "failed",
                    Gap::Threads(ThreadGap::NoAccess) => "no_access",
                    Gap::Threads(ThreadGap::Gone) => "gone",
                    Gap::Threads(ThreadGap::Bounded { .. }) => "bounded",
                    Gap::Threads(ThreadGap::TimedOut { .. }) => "timed_out",
                },
            },
        }
    }
}
