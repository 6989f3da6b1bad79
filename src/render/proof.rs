//! A finding's evidence in words and as JSON: the ages of its sockets, what its holders'
//! threads wait on, how the peers they wait for behave, and what could not be read. The words
//! carry names as the kernel has them: the table escapes them when it prints, JSON when it
//! serializes.

use std::net::SocketAddr;

use crate::report::{
    AgePattern, AgeSince, Ages, Evidence, Gap, PeerHealth, Proof, Runtime, ThreadGap, ThreadGroup,
    ThreadSummary, WaitKind,
};

pub use crate::diagnose::rules::words::age;

/// One piece of evidence as a sentence.
pub fn text(e: &Evidence) -> String {
    match e {
        Evidence::Ages(a) => ages(a),
        Evidence::Threads(t) => threads(t),
        Evidence::Peer(p) => peer(p),
        Evidence::Limits {
            pid,
            comm,
            fds,
            limit,
        } => format!(
            "{}[{pid}] has {fds} of {limit} file descriptors open ({:.0}%): at the limit, accept() and connect() fail with EMFILE.",
            comm,
            100.0 * *fds as f64 / (*limit).max(1) as f64
        ),
        Evidence::Missing { what, why } => missing(*what, why),
    }
}

fn ages(a: &Ages) -> String {
    let what = match a.since {
        AgeSince::PeerClosed => "Closed by their peers",
        AgeSince::LastSegment => "Last heard from their peers",
        AgeSince::Idle => "Idle since",
    };
    let range = if a.measured == 1 || age(a.youngest_s) == age(a.oldest_s) {
        format!("{} ago", age(a.oldest_s))
    } else {
        format!(
            "between {} and {} ago (median {})",
            age(a.youngest_s),
            age(a.oldest_s),
            age(a.median_s)
        )
    };
    let mut text = format!("{what} {range}");
    // The two highest marks the ages reach, e.g. "40 older than 30 s, 3 older than 10 min".
    let marks: Vec<String> = a
        .older_than
        .iter()
        .rev()
        .take(2)
        .rev()
        // A mark every socket passes says nothing the range did not.
        .filter(|(_, n)| *n < a.measured)
        .map(|(secs, n)| format!("{n} older than {}", age(*secs as f64)))
        .collect();
    if !marks.is_empty() {
        text.push_str(&format!("; {}", marks.join(", ")));
    }
    text.push_str(&format!(
        " ({} of {} measured through tcp_info)",
        a.measured,
        a.state.name()
    ));
    text.push_str(match a.pattern {
        AgePattern::Steady => ": a leak going on for a long time, not a burst.",
        AgePattern::Burst => ": all about the same age, one burst.",
        AgePattern::Mixed => ".",
    });
    text
}

/// What a group of threads does, as a phrase: `8 blocked reading from 127.0.0.9:5432`.
fn group(g: &ThreadGroup) -> String {
    let at = |p: Option<SocketAddr>| p.map(|p| format!(" {p}")).unwrap_or_default();
    let what = match g.wait {
        WaitKind::Running => "on a CPU".to_string(),
        WaitKind::Recv => format!("blocked reading from{}", at(g.peer)),
        WaitKind::Send => format!("blocked sending to{}", at(g.peer)),
        WaitKind::Accept => match g.peer {
            Some(l) => format!("in accept() on {l}"),
            None => "in accept()".to_string(),
        },
        WaitKind::Connect => format!("connecting to{}", at(g.peer)),
        WaitKind::OtherFd => "reading or writing a pipe or file".to_string(),
        WaitKind::EventLoop => "idle in an event loop (epoll, poll, select)".to_string(),
        WaitKind::Lock => "waiting on a futex (a lock, a condition or a pool)".to_string(),
        WaitKind::Sleep => "asleep".to_string(),
        WaitKind::Signal => "waiting for a signal or a child".to_string(),
        WaitKind::Disk => "in uninterruptible sleep (disk or kernel I/O)".to_string(),
        WaitKind::Stopped => "stopped".to_string(),
        WaitKind::Other => "in another syscall".to_string(),
        WaitKind::Unknown => "unreadable".to_string(),
    };
    format!("{} {what}", g.threads)
}

fn threads(t: &ThreadSummary) -> String {
    let name = format!("{}[{}]", t.comm, t.pid);
    let of = if t.read < t.total {
        format!("{} threads (the first {} read)", t.total, t.read)
    } else if t.total == 1 {
        "its only thread".to_string()
    } else {
        format!("{} threads", t.total)
    };
    let groups: Vec<String> = t.groups.iter().map(group).collect();
    let mut text = if t.total == 1 && t.groups.len() == 1 {
        let g = group(&t.groups[0]);
        format!("{name}, {of}: {}", g.trim_start_matches("1 "))
    } else {
        format!("{name}, {of}: {}", groups.join("; "))
    };
    text.push('.');
    if let Some(r) = t.runtime {
        text.push_str(match r {
            Runtime::Go => " A Go program: goroutines are parked where the kernel cannot see them, so the threads cannot tell what holds the connections.",
            Runtime::NodeJs => " A Node.js program: its event loop runs the work on one thread, so the threads cannot tell what holds the connections.",
            Runtime::Jvm => " A JVM: its threads are real threads (virtual threads would not show).",
        });
    }
    text
}

fn peer(p: &PeerHealth) -> String {
    let mut parts = vec![format!(
        "{} connection{}",
        p.connections,
        if p.connections == 1 { "" } else { "s" }
    )];
    if p.waiting > 0 {
        parts.push(format!("{} waiting for a reply", p.waiting));
    }
    if let Some(s) = p.no_reply_s {
        parts.push(format!("no reply for {}", age(s)));
    }
    if let Some(rtt) = p.rtt_ms {
        parts.push(format!("RTT {}", ms(rtt)));
    }
    if let Some(pct) = p.retransmitted_pct.filter(|&p| p >= 0.5) {
        parts.push(format!("{pct:.0}% retransmitted"));
    }
    if p.zero_window > 0 {
        parts.push(format!("a zero window on {}", p.zero_window));
    }
    format!("{}: {}.", p.peer, parts.join(", "))
}

/// `16 µs`, `0.1 ms`, `800 ms`.
fn ms(v: f64) -> String {
    if v < 0.1 {
        format!("{:.0} µs", v * 1000.0)
    } else if v < 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

fn missing(what: Proof, why: &Gap) -> String {
    let subject = match what {
        Proof::Ages => "How long the sockets have been stuck is unknown",
        Proof::Threads => "What the holder's threads wait on is unknown",
    };
    let reason = match why {
        Gap::ProcSource => {
            "the /proc tables carry no tcp_info (sock_diag, the default live source, does)"
                .to_string()
        }
        Gap::NoHolder => "no process holding them was named".to_string(),
        Gap::MiniSockets => "they are mini-sockets, which keep no tcp_info".to_string(),
        Gap::SavedCopy => "a saved copy of /proc (--proc-root) has no threads to read".to_string(),
        Gap::Failed(e) => e.clone(),
        Gap::Threads(ThreadGap::NoAccess) => {
            "wait channels and syscalls need root (or ptrace access to the process)".to_string()
        }
        Gap::Threads(ThreadGap::Gone) => {
            "the process exited, or /proc hides it (hidepid)".to_string()
        }
        Gap::Threads(ThreadGap::Bounded { read }) => {
            format!("only the first {read} threads were read")
        }
        Gap::Threads(ThreadGap::TimedOut { read }) => {
            format!("the time to read them ran out after {read} threads")
        }
    };
    let partly = matches!(
        why,
        Gap::Threads(ThreadGap::Bounded { .. } | ThreadGap::TimedOut { .. })
    );
    if partly {
        format!("Not every thread was read: {reason}.")
    } else if what == Proof::Threads {
        format!("{subject}: {reason}; the causes keep their usual order.")
    } else {
        format!("{subject}: {reason}.")
    }
}

mod json;

pub(crate) use json::EvidenceView;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    #[test]
    fn ages_read_like_a_person_would_say_them() {
        let a = Ages {
            state: TcpState::CloseWait,
            since: AgeSince::PeerClosed,
            measured: 80,
            oldest_s: 41.75,
            median_s: 27.0,
            youngest_s: 11.7,
            older_than: vec![(10, 80), (30, 40)],
            pattern: AgePattern::Mixed,
            oldest_by_port: vec![],
        };
        assert_eq!(
            text(&Evidence::Ages(a)),
            "Closed by their peers between 12 s and 42 s ago (median 27 s); 40 older than 30 s (80 of CLOSE_WAIT measured through tcp_info)."
        );
        assert_eq!(age(3.0 * 3600.0), "3.0 h");
        assert_eq!(age(600.0), "10 min");
    }

    #[test]
    fn threads_and_peers_name_what_and_whom() {
        let db: SocketAddr = "127.0.0.9:5432".parse().unwrap();
        let t = ThreadSummary {
            pid: 1234,
            comm: "orderapi".into(),
            total: 10,
            read: 10,
            groups: vec![
                ThreadGroup {
                    wait: WaitKind::Recv,
                    threads: 8,
                    peer: Some(db),
                    peer_state: Some(TcpState::Established),
                    names: vec![],
                },
                ThreadGroup {
                    wait: WaitKind::Sleep,
                    threads: 2,
                    peer: None,
                    peer_state: None,
                    names: vec![],
                },
            ],
            runtime: None,
            gap: None,
        };
        assert_eq!(
            text(&Evidence::Threads(t)),
            "orderapi[1234], 10 threads: 8 blocked reading from 127.0.0.9:5432; 2 asleep."
        );
        let p = PeerHealth {
            peer: db,
            connections: 8,
            waiting: 8,
            no_reply_s: Some(41.2),
            rtt_ms: Some(0.1),
            retransmitted_pct: Some(0.0),
            zero_window: 0,
        };
        assert_eq!(
            text(&Evidence::Peer(p)),
            "127.0.0.9:5432: 8 connections, 8 waiting for a reply, no reply for 41 s, RTT 0.1 ms."
        );
        assert_eq!(
            text(&Evidence::Missing {
                what: Proof::Ages,
                why: Gap::ProcSource
            }),
            "How long the sockets have been stuck is unknown: the /proc tables carry no tcp_info (sock_diag, the default live source, does)."
        );
    }
}
