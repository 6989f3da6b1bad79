//! Causes ranked by what the evidence showed: the cause the holder's threads point at comes
//! first, worded with the peer, the lock or the idle loop it saw, and the generic causes it
//! stands for drop out; the rest follow in their usual order. Without evidence (not root, the
//! `/proc` source, a runtime that hides its work) the generic order stands.

use super::words::age;
use crate::diagnose::evidence::Purpose;
use crate::report::Seen;

/// What a generic cause is about, so evidence can stand in for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MissingClose,
    BlockedWorkers,
    IdlePeers,
    SlowAccept,
    SmallBacklog,
    WorkBeforeAccept,
}

/// The generic causes, in their usual order, with the evidence's first when it shows one.
pub fn ranked(generic: &[(Kind, &str)], seen: Option<&Seen>, purpose: Purpose) -> Vec<String> {
    let shown = seen.and_then(|s| cause(s, purpose));
    let mut causes = Vec::with_capacity(generic.len() + 1);
    let replaced: &[Kind] = match &shown {
        Some((first, replaced)) => {
            causes.push(first.clone());
            replaced
        }
        None => &[],
    };
    causes.extend(
        generic
            .iter()
            .filter(|(k, _)| !replaced.contains(k))
            .map(|(_, text)| text.to_string()),
    );
    causes
}

fn threads(n: u32, of: u32) -> String {
    match (n, of) {
        (1, 1) => "its only thread is".to_string(),
        (n, of) if n == of => format!("all {n} threads are"),
        (n, of) => format!("{n} of {of} threads are"),
    }
}

fn silent(s: Option<f64>) -> String {
    s.map(|s| format!(", which has not answered for {}", age(s)))
        .unwrap_or_default()
}

fn cap(text: String) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => text,
    }
}

/// The cause `seen` shows for `purpose`, and the generic causes it stands for.
fn cause(seen: &Seen, purpose: Purpose) -> Option<(String, &'static [Kind])> {
    use Kind::*;
    Some(match (purpose, seen) {
        (Purpose::Release, Seen::Downstream { peer, threads: n, of, silent_s }) => (
            cap(format!(
                "{} blocked reading from {peer}{}: while they wait, nothing reads the peers' end-of-file and closes. Fix or time out the calls to {peer}.",
                threads(*n, *of),
                silent(*silent_s)
            )),
            &[BlockedWorkers],
        ),
        (Purpose::Release, Seen::Lock { threads: n, of }) => (
            cap(format!(
                "{} waiting on a futex (a lock, a condition or a pool) that another thread holds: nothing reads the end-of-file and closes. Find the holder with a thread dump (jstack, py-spy dump, gdb -p).",
                threads(*n, *of)
            )),
            &[BlockedWorkers],
        ),
        (Purpose::Release, Seen::Busy { threads: n, of }) => (
            format!(
                "The process is saturated: {} on a CPU, so connections are served and closed late.",
                threads(*n, *of)
            ),
            &[BlockedWorkers],
        ),
        (Purpose::Release, Seen::Idle { threads: n }) => (
            format!(
                "Nothing is blocked: {} idle (an event loop, a sleep, a signal wait), so the close() is missing: the application reads the end-of-file and never closes the connection (an error or end-of-file path, a pool that keeps closed connections).",
                threads(*n, *n).replace("all 1 threads are", "its only thread is")
            ),
            &[MissingClose],
        ),
        (Purpose::Accept, Seen::NotAccepting { waiting_on: Some(peer), threads: n }) => (
            format!(
                "The accept loop is not in accept(): {} blocked reading from {peer}, so a call made before accept() holds the loop. Move it off the accept loop, or give it a timeout.",
                threads(*n, *n)
            ),
            &[SlowAccept, WorkBeforeAccept],
        ),
        (Purpose::Accept, Seen::NotAccepting { waiting_on: None, .. }) => (
            "No thread is in accept(): the accept loop is busy elsewhere, or gone.".to_string(),
            &[SlowAccept],
        ),
        (Purpose::Accept, Seen::Downstream { peer, threads: n, of, silent_s }) => (
            cap(format!(
                "{} blocked reading from {peer}{}: the workers are all taken, so accepted connections wait.",
                threads(*n, *of),
                silent(*silent_s)
            )),
            &[SlowAccept],
        ),
        (Purpose::Accept, Seen::Busy { threads: n, of }) => (
            format!(
                "CPU saturation: {} on a CPU, so accept() comes too rarely.",
                threads(*n, *of)
            ),
            &[SlowAccept],
        ),
        (Purpose::Accept, Seen::Lock { threads: n, of }) => (
            cap(format!(
                "{} waiting on a futex (a lock or a full pool), the accept loop among them.",
                threads(*n, *of)
            )),
            &[SlowAccept],
        ),
        (Purpose::Accept, Seen::Idle { .. }) => (
            "A thread waits in accept() and the others are idle: the queue overflows in bursts faster than accept() drains it. Raise the backlog (listen()'s argument, net.core.somaxconn).".to_string(),
            &[SmallBacklog],
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERIC: &[(Kind, &str)] = &[
        (Kind::MissingClose, "missing close"),
        (Kind::BlockedWorkers, "blocked workers"),
        (Kind::IdlePeers, "idle peers"),
    ];

    #[test]
    fn the_evidence_comes_first_and_stands_for_its_generic_cause() {
        let db = "127.0.0.9:5432".parse().unwrap();
        let seen = Seen::Downstream {
            peer: db,
            threads: 8,
            of: 10,
            silent_s: Some(41.2),
        };
        let causes = ranked(GENERIC, Some(&seen), Purpose::Release);
        assert_eq!(causes.len(), 3);
        assert!(
            causes[0].starts_with("8 of 10 threads are blocked reading from 127.0.0.9:5432, which has not answered for 41 s"),
            "{causes:?}"
        );
        assert_eq!(causes[1..], ["missing close", "idle peers"]);
        let idle = ranked(GENERIC, Some(&Seen::Idle { threads: 1 }), Purpose::Release);
        assert!(
            idle[0].starts_with("Nothing is blocked: its only thread is idle"),
            "{idle:?}"
        );
        assert_eq!(idle[1..], ["blocked workers", "idle peers"]);
        // Nothing seen, or nothing that applies: the usual order.
        let plain = ranked(GENERIC, None, Purpose::Release);
        assert_eq!(plain, ["missing close", "blocked workers", "idle peers"]);
        let hidden = Seen::Hidden {
            runtime: crate::report::Runtime::Go,
        };
        assert_eq!(ranked(GENERIC, Some(&hidden), Purpose::Release), plain);
    }

    #[test]
    fn a_blocked_accept_loop_names_what_it_waits_for() {
        let generic = &[
            (Kind::SlowAccept, "slow accept"),
            (Kind::SmallBacklog, "small backlog"),
            (Kind::WorkBeforeAccept, "work before accept"),
        ];
        let seen = Seen::NotAccepting {
            waiting_on: Some("127.0.0.9:5432".parse().unwrap()),
            threads: 1,
        };
        let causes = ranked(generic, Some(&seen), Purpose::Accept);
        assert!(
            causes[0].starts_with("The accept loop is not in accept(): its only thread is blocked reading from 127.0.0.9:5432"),
            "{causes:?}"
        );
        assert_eq!(causes[1..], ["small backlog"]);
    }
}
