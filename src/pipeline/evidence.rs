//! The evidence behind a run's findings, read once the owners are known: the threads of the
//! processes the findings name (`/proc/PID/task`), then one more sock_diag dump with tcp_info,
//! asked only for the states whose ages the findings want and, when threads wait on sockets,
//! for the connections they wait on. Nothing is read for a run without findings.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::Request;
use super::pass::Part;
use crate::collect;
use crate::collect::info::{InfoRead, NoInfo, for_each_socket_info};
use crate::collect::threads::{ThreadLimits, read_threads};
use crate::diagnose::evidence::ages::AgeBuilder;
use crate::diagnose::evidence::{Connection, EvidenceSet, HOLDERS, peers, threads};
use crate::diagnose::rules;
use crate::model::{StateSet, TcpState};
use crate::report::{Culprit, Gap, ProcessThreads, ThreadGap, Wait};

/// Threads read per process, and the time all holders' threads may take together.
const MAX_THREADS: u32 = 1024;
const THREADS_BUDGET: Duration = Duration::from_millis(500);

/// What the findings of one namespace want read.
struct Wanted {
    /// States whose sockets' ages the findings want.
    ages: StateSet,
    /// Processes whose threads the findings want, first named first.
    pids: Vec<u32>,
}

fn wanted(request: &Request, part: &Part) -> Wanted {
    // The plan's states, where there are sockets to date.
    let mut ages = StateSet::of(
        &request
            .plan
            .ages
            .states()
            .filter(|&s| part.tally.state_total(s) > 0)
            .collect::<Vec<_>>(),
    );
    let mut pids = Vec::new();
    let findings = part
        .verdict
        .findings
        .iter()
        .chain(part.compared.iter().flat_map(|c| c.findings.iter()));
    for f in findings {
        let Some(reads) = rules::find(f.id).map(|r| r.reads()) else {
            continue;
        };
        if let Some(state) = reads.ages {
            ages = ages.union(StateSet::one(state));
        }
        if reads.threads {
            let holders = f.culprits.iter().filter_map(|c| match c {
                Culprit::Process { pid, .. } => Some(*pid),
                _ => None,
            });
            for pid in holders.take(HOLDERS) {
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
    }
    Wanted { ages, pids }
}

/// Reads the evidence of every namespace that has findings.
pub(super) fn read(request: &Request, parts: &mut [Part], live: bool) {
    let deadline = Instant::now() + THREADS_BUDGET;
    for part in parts {
        let wanted = wanted(request, part);
        if wanted.ages.is_empty() && wanted.pids.is_empty() {
            continue;
        }
        part.evidence = Some(read_part(request, part, &wanted, live, deadline));
    }
}

fn read_part(
    request: &Request,
    part: &Part,
    wanted: &Wanted,
    live: bool,
    deadline: Instant,
) -> EvidenceSet {
    let root = part.source.root();
    let mut samples: Vec<ProcessThreads> = wanted
        .pids
        .iter()
        .map(|&pid| {
            let limits = ThreadLimits {
                max_threads: MAX_THREADS,
                budget: deadline.saturating_duration_since(Instant::now()),
            };
            read_threads(root, pid, limits)
        })
        .collect();
    // A saved copy of /proc usually has no threads to read (a copy that kept them is read),
    // and often no processes at all.
    let copied = |p: &ProcessThreads| !(p.threads.is_empty() && p.gap == Some(ThreadGap::Gone));
    let saved_copy = !live && !samples.iter().any(copied);
    if saved_copy {
        samples.clear();
    }
    let blocked: HashSet<u64> = samples
        .iter()
        .flat_map(|p| p.threads.iter())
        .filter_map(|t| match t.wait {
            Wait::Syscall {
                socket: Some(inode),
                ..
            } => Some(inode),
            _ => None,
        })
        .collect();
    let mut set = EvidenceSet {
        threads_gap: saved_copy.then_some(Gap::SavedCopy),
        ..EvidenceSet::default()
    };
    let mut conns: HashMap<u64, Connection> = HashMap::new();
    let states = if blocked.is_empty() {
        wanted.ages
    } else {
        // A thread waits on a full socket in any state: every state but the mini-sockets'.
        wanted.ages.union(StateSet::big())
    };
    if !states.is_empty() {
        let filter = &request.scope.filter;
        let mut ages = AgeBuilder::new(wanted.ages.states());
        let read = for_each_socket_info(
            &part.source,
            |family| filter.wants_family(family),
            states,
            |s, info| {
                if wanted.ages.contains(s.state) && filter.matches(s) {
                    ages.add(s.state, s.local.port(), info);
                }
                if s.inode != 0 && blocked.contains(&s.inode) {
                    conns.insert(
                        s.inode,
                        Connection {
                            local: s.local,
                            peer: s.remote,
                            state: s.state,
                            info: info.copied(),
                        },
                    );
                }
            },
        );
        match read {
            // The /proc tables have no tcp_info, but they still say whom a blocked thread
            // waits on: read them once more for those sockets.
            Ok(InfoRead::Unavailable(NoInfo::ProcTables)) if !blocked.is_empty() => {
                set.ages_gap = Some(Gap::ProcSource);
                let seen = collect::for_each_socket(
                    &part.source,
                    |f| filter.wants_family(f),
                    |s| {
                        if s.inode != 0 && blocked.contains(&s.inode) {
                            conns.insert(
                                s.inode,
                                Connection {
                                    local: s.local,
                                    peer: s.remote,
                                    state: s.state,
                                    info: None,
                                },
                            );
                        }
                    },
                );
                if let Err(e) = seen {
                    set.ages_gap = Some(Gap::Failed(e.to_string()));
                }
            }
            Ok(InfoRead::Dumped { sockets, with_info }) => {
                set.ages = ages.finish();
                // Sockets of the wanted states, none with tcp_info: orphaned FIN_WAIT2 are
                // mini-sockets.
                if set.ages.is_empty() && sockets > 0 && with_info == 0 {
                    set.ages_gap = Some(Gap::MiniSockets);
                }
            }
            Ok(InfoRead::Unavailable(NoInfo::ProcTables)) => set.ages_gap = Some(Gap::ProcSource),
            Ok(InfoRead::Unavailable(why)) => set.ages_gap = Some(Gap::Failed(why.to_string())),
            Err(e) => set.ages_gap = Some(Gap::Failed(e.to_string())),
        }
    }
    set.threads = samples
        .iter()
        .map(|p| threads::summarize(p, &conns, false))
        .collect();
    let mut by_peer: Vec<std::net::SocketAddr> = conns
        .values()
        .filter(|c| c.state != TcpState::Listen)
        .map(|c| c.peer)
        .collect();
    by_peer.sort_unstable();
    by_peer.dedup();
    set.peers = by_peer
        .into_iter()
        .map(|peer| peers::health(peer, conns.values().filter(|c| c.peer == peer)))
        // Without tcp_info (the /proc tables) a peer's health is unknown: its address is in
        // the threads' words already.
        .filter(|h| h.connections > 0)
        .collect();
    set
}
