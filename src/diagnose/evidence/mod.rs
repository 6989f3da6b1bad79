//! The evidence behind findings, summed up from what one run read: the ages of the sockets in
//! the states the findings are about, the threads of the processes they name, and the peers
//! those threads wait on. Pure: the samples come in, [`EvidenceSet`] goes to the rules, which
//! take what concerns them ([`EvidenceSet::for_finding`]) and rank their causes by what it
//! shows ([`Seen`]).

pub mod ages;
pub mod peers;
pub mod threads;

use std::net::SocketAddr;

use crate::model::{TcpInfo, TcpState};
use crate::report::{
    Ages, Culprit, Evidence, Gap, PeerHealth, Proof, Runtime, Seen, ThreadSummary, WaitKind,
};

/// How many of a finding's holders have their threads read.
pub const HOLDERS: usize = 3;

/// A socket of the second dump that a thread waits on, or that a holder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub state: TcpState,
    pub info: Option<TcpInfo>,
}

/// Everything one namespace's run read as evidence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvidenceSet {
    /// Per state, for the states the findings are about.
    pub ages: Vec<Ages>,
    /// Why ages could not be read at all (the `/proc` source, a failed dump).
    pub ages_gap: Option<Gap>,
    /// Per process the findings name.
    pub threads: Vec<ThreadSummary>,
    /// Why no thread could be read at all (a saved copy of `/proc`).
    pub threads_gap: Option<Gap>,
    /// Per peer those processes' threads wait on.
    pub peers: Vec<PeerHealth>,
}

/// What a finding is about, for choosing its evidence and reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Connections the application should close (CLOSE_WAIT, FIN_WAIT2 held).
    Release,
    /// A listener whose queue fills: is anything calling accept()?
    Accept,
    /// Connections toward peers (SYN_SENT, unsent data, orphans): how the peers behave.
    Peers,
}

impl EvidenceSet {
    pub fn ages_of(&self, state: TcpState) -> Option<&Ages> {
        self.ages.iter().find(|a| a.state == state)
    }

    pub fn threads_of(&self, pid: u32) -> Option<&ThreadSummary> {
        self.threads.iter().find(|t| t.pid == pid)
    }

    pub fn peer(&self, addr: SocketAddr) -> Option<&PeerHealth> {
        self.peers.iter().find(|p| p.peer == addr)
    }

    /// The evidence for a finding about sockets in `state` held by `culprits`: their ages, the
    /// threads of its first holders and the peers those wait on, and what could not be read;
    /// and what it all shows, for the rule to rank its causes by.
    pub fn for_finding(
        &self,
        state: Option<TcpState>,
        culprits: &[Culprit],
        purpose: Purpose,
    ) -> (Vec<Evidence>, Option<Seen>) {
        let mut evidence = Vec::new();
        if let Some(state) = state.filter(|&s| ages::since(s).is_some()) {
            match (self.ages_of(state), &self.ages_gap) {
                (Some(a), _) => evidence.push(Evidence::Ages(a.clone())),
                (None, Some(gap)) => evidence.push(Evidence::Missing {
                    what: Proof::Ages,
                    why: gap.clone(),
                }),
                (None, None) => {}
            }
        }
        let holders: Vec<u32> = culprits
            .iter()
            .filter_map(|c| match c {
                Culprit::Process { pid, .. } => Some(*pid),
                _ => None,
            })
            .take(HOLDERS)
            .collect();
        if holders.is_empty() && purpose != Purpose::Peers {
            // On a saved copy no holder could have been named: say that, not "none named".
            let why = match &self.threads_gap {
                Some(Gap::SavedCopy) => Gap::SavedCopy,
                _ => Gap::NoHolder,
            };
            evidence.push(Evidence::Missing {
                what: Proof::Threads,
                why,
            });
        }
        if let (false, Some(gap)) = (holders.is_empty(), &self.threads_gap) {
            evidence.push(Evidence::Missing {
                what: Proof::Threads,
                why: gap.clone(),
            });
        }
        let mut seen = None;
        for pid in holders {
            let Some(t) = self.threads_of(pid) else {
                continue;
            };
            evidence.push(Evidence::Threads(t.clone()));
            if let Some(gap) = t.gap {
                evidence.push(Evidence::Missing {
                    what: Proof::Threads,
                    why: Gap::Threads(gap),
                });
            }
            for g in &t.groups {
                let peer = g.peer.filter(|_| {
                    matches!(g.wait, WaitKind::Recv | WaitKind::Send | WaitKind::Connect)
                });
                if let Some(h) = peer.and_then(|p| self.peer(p))
                    && !evidence
                        .iter()
                        .any(|e| matches!(e, Evidence::Peer(x) if x.peer == h.peer))
                {
                    evidence.push(Evidence::Peer(h.clone()));
                }
            }
            // The first holder decides: it holds the most.
            if seen.is_none() {
                seen = self.seen(t, purpose);
            }
        }
        (evidence, seen)
    }

    /// What a holder's threads show, read for `purpose`.
    fn seen(&self, t: &ThreadSummary, purpose: Purpose) -> Option<Seen> {
        let count = |kinds: &[WaitKind]| -> u32 {
            t.groups
                .iter()
                .filter(|g| kinds.contains(&g.wait))
                .map(|g| g.threads)
                .sum()
        };
        let known = t.read.saturating_sub(count(&[WaitKind::Unknown]));
        if known == 0 {
            return None;
        }
        if let Some(runtime @ (Runtime::Go | Runtime::NodeJs)) = t.runtime {
            return Some(Seen::Hidden { runtime });
        }
        let majority = |n: u32| n * 2 >= known && n > 0;
        let accepting = count(&[WaitKind::Accept]);
        // The largest group blocked on one peer's socket.
        let downstream = t
            .groups
            .iter()
            .filter(|g| matches!(g.wait, WaitKind::Recv | WaitKind::Send) && g.peer.is_some())
            .max_by_key(|g| g.threads);
        let running = count(&[WaitKind::Running]);
        if purpose == Purpose::Accept && accepting == 0 {
            // Not in accept(): blocked on a peer, busy on the CPU, or elsewhere.
            return Some(match downstream.and_then(|g| g.peer) {
                Some(peer) => Seen::NotAccepting {
                    waiting_on: Some(peer),
                    threads: known,
                },
                None if majority(running) => Seen::Busy {
                    threads: running,
                    of: known,
                },
                None => Seen::NotAccepting {
                    waiting_on: None,
                    threads: known,
                },
            });
        }
        if let Some(g) = downstream
            .filter(|g| majority(g.threads) || (purpose == Purpose::Accept && g.threads > 0))
        {
            let peer = g.peer?;
            return Some(Seen::Downstream {
                peer,
                threads: g.threads,
                of: known,
                silent_s: self.peer(peer).and_then(|h| h.no_reply_s),
            });
        }
        if majority(running) {
            return Some(Seen::Busy {
                threads: running,
                of: known,
            });
        }
        let locked = count(&[WaitKind::Lock]);
        let parked = count(&[WaitKind::Lock, WaitKind::EventLoop]);
        if majority(locked) {
            // Every thread parked in futex and epoll, none asleep or blocked anywhere: how an
            // unknown green-thread or event-loop runtime looks. Do not guess a lock.
            if parked == known
                && t.runtime != Some(Runtime::Jvm)
                && known > 1
                && count(&[WaitKind::EventLoop]) > 0
            {
                return None;
            }
            return Some(Seen::Lock {
                threads: locked,
                of: known,
            });
        }
        let idle = count(&[
            WaitKind::EventLoop,
            WaitKind::Sleep,
            WaitKind::Signal,
            WaitKind::Accept,
        ]);
        if idle == known {
            return Some(Seen::Idle { threads: idle });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ThreadGroup;

    fn summary(groups: &[(WaitKind, u32, Option<&str>)]) -> ThreadSummary {
        let groups: Vec<ThreadGroup> = groups
            .iter()
            .map(|&(wait, threads, peer)| ThreadGroup {
                wait,
                threads,
                peer: peer.map(|p| p.parse().unwrap()),
                peer_state: None,
                names: Vec::new(),
            })
            .collect();
        let read = groups.iter().map(|g| g.threads).sum();
        ThreadSummary {
            pid: 1,
            comm: "app".into(),
            total: read,
            read,
            groups,
            runtime: None,
            gap: None,
        }
    }

    fn seen(groups: &[(WaitKind, u32, Option<&str>)], purpose: Purpose) -> Option<Seen> {
        EvidenceSet::default().seen(&summary(groups), purpose)
    }

    #[test]
    fn the_four_servers_that_all_leak_close_wait() {
        use WaitKind::*;
        // asyncio: one thread idle in epoll_wait.
        assert_eq!(
            seen(&[(EventLoop, 1, None)], Purpose::Release),
            Some(Seen::Idle { threads: 1 })
        );
        // 8 workers waiting for a database that does not answer.
        let db = "127.0.0.9:5432";
        assert_eq!(
            seen(
                &[(Recv, 8, Some(db)), (Accept, 1, None), (Sleep, 1, None)],
                Purpose::Release
            ),
            Some(Seen::Downstream {
                peer: db.parse().unwrap(),
                threads: 8,
                of: 10,
                silent_s: None
            })
        );
        // 8 workers on a lock another thread holds while it sleeps.
        assert_eq!(
            seen(
                &[(Lock, 8, None), (Sleep, 1, None), (Accept, 1, None)],
                Purpose::Release
            ),
            Some(Seen::Lock { threads: 8, of: 10 })
        );
        // Every thread on a CPU.
        assert_eq!(
            seen(&[(Running, 4, None)], Purpose::Release),
            Some(Seen::Busy { threads: 4, of: 4 })
        );
    }

    #[test]
    fn an_accept_loop_blocked_on_a_backend_is_not_accepting() {
        use WaitKind::*;
        let backend = "127.0.0.9:5432";
        assert_eq!(
            seen(&[(Recv, 1, Some(backend))], Purpose::Accept),
            Some(Seen::NotAccepting {
                waiting_on: Some(backend.parse().unwrap()),
                threads: 1
            })
        );
        // No thread in accept() and every one on a CPU: saturation, not a stalled loop.
        assert_eq!(
            seen(&[(Running, 3, None)], Purpose::Accept),
            Some(Seen::Busy { threads: 3, of: 3 })
        );
        // A thread in accept(): the loop runs; the queue fills faster than it drains.
        assert_eq!(
            seen(&[(Accept, 1, None), (Running, 3, None)], Purpose::Accept),
            Some(Seen::Busy { threads: 3, of: 4 })
        );
    }

    #[test]
    fn parked_runtimes_are_not_guessed() {
        use WaitKind::*;
        // Go-like: every thread in futex, one in epoll_pwait: nothing to tell.
        assert_eq!(
            seen(&[(Lock, 6, None), (EventLoop, 1, None)], Purpose::Release),
            None
        );
        let mut node = summary(&[(EventLoop, 1, None)]);
        node.runtime = Some(Runtime::NodeJs);
        assert_eq!(
            EvidenceSet::default().seen(&node, Purpose::Release),
            Some(Seen::Hidden {
                runtime: Runtime::NodeJs
            })
        );
        // Unreadable threads tell nothing.
        assert_eq!(seen(&[(Unknown, 5, None)], Purpose::Release), None);
    }
}
