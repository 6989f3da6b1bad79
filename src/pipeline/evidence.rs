//! The evidence behind a run's findings, read once the owners are known: the threads of the
//! processes the findings name (`/proc/PID/task`), then one more sock_diag dump with tcp_info,
//! asked only for the states whose ages the findings want and, when threads wait on sockets,
//! for the connections they wait on. The ages are known to be wanted before the owners are, so
//! that dump usually runs beside the owner walk ([`read_ages_ahead`]) and is only repeated when
//! the findings judged with owners want more. Nothing is read for a run without findings.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::Request;
use super::pass::Part;
use crate::collect;
use crate::collect::Source;
use crate::collect::info::{InfoRead, NoInfo, for_each_socket_info};
use crate::collect::threads::{ThreadLimits, read_threads};
use crate::diagnose::evidence::ages::AgeBuilder;
use crate::diagnose::evidence::{Connection, EvidenceSet, HOLDERS, peers, threads};
use crate::diagnose::rules;
use crate::model::{Socket, StateSet, Tally, TcpInfo, TcpState};
use crate::report::{Ages, Culprit, Gap, ProcessThreads, ThreadGap, Wait};

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
    let mut pids = Vec::new();
    for f in findings(part) {
        if !rules::find(f.id).is_some_and(|r| r.reads().threads) {
            continue;
        }
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
    Wanted {
        ages: wanted_ages(request, part),
        pids,
    }
}

/// The plan's states, where there are sockets to date.
fn plan_ages(request: &Request, part: &Part) -> StateSet {
    StateSet::of(
        &request
            .plan
            .ages
            .states()
            .filter(|&s| part.tally.state_total(s) > 0)
            .collect::<Vec<_>>(),
    )
}

fn findings(part: &Part) -> impl Iterator<Item = &crate::report::Finding> {
    part.verdict
        .findings
        .iter()
        .chain(part.compared.iter().flat_map(|c| c.findings.iter()))
}

/// The states whose ages the findings want. Known before the owners are, from the findings
/// judged without them ([`ahead_of_walk`]), and asked again once they are judged with them.
fn wanted_ages(request: &Request, part: &Part) -> StateSet {
    findings(part)
        .filter_map(|f| rules::find(f.id).and_then(|r| r.reads().ages))
        .fold(plan_ages(request, part), |set, s| {
            set.union(StateSet::one(s))
        })
}

/// Ages read ahead, one per namespace: the states dumped and what the dump gave.
pub(super) type Ahead = Vec<Option<(StateSet, Dumped)>>;

/// Dumps, for every namespace with findings, the tcp_info of the states its findings want
/// dated. Called on a thread of its own while the owner walk runs, so that this dump (0.7 s
/// for 220,000 sockets) costs a share of the other core instead of following the walk.
/// [`read`] uses it where the findings judged with owners want the same states and no thread
/// waits on a socket; otherwise it dumps again.
pub(super) fn read_ages_ahead(request: &Request, parts: &[(Source, StateSet, Tally)]) -> Ahead {
    parts
        .iter()
        .map(|(source, states, tally)| {
            (!states.is_empty()).then(|| {
                let got = dump(request, source, tally, *states, &HashSet::new());
                (*states, got)
            })
        })
        .collect()
}

/// What each namespace's findings want dated now, with the source to read it from and its
/// counts.
pub(super) fn ahead_of_walk(request: &Request, parts: &[Part]) -> Vec<(Source, StateSet, Tally)> {
    parts
        .iter()
        .map(|part| {
            let states = wanted_ages(request, part);
            (part.source.clone(), states, part.tally.clone())
        })
        .collect()
}

/// Reads the evidence of every namespace that has findings.
pub(super) fn read(request: &Request, parts: &mut [Part], live: bool, mut ahead: Ahead) {
    let deadline = Instant::now() + THREADS_BUDGET;
    ahead.resize_with(parts.len(), || None);
    for (part, ahead) in parts.iter_mut().zip(ahead) {
        let wanted = wanted(request, part);
        if wanted.ages.is_empty() && wanted.pids.is_empty() {
            continue;
        }
        part.evidence = Some(read_part(request, part, &wanted, live, deadline, ahead));
    }
}

fn read_part(
    request: &Request,
    part: &Part,
    wanted: &Wanted,
    live: bool,
    deadline: Instant,
    ahead: Option<(StateSet, Dumped)>,
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
    let dumped = match ahead {
        Some((states, dumped)) if states == wanted.ages && blocked.is_empty() => dumped,
        _ => dump(request, &part.source, &part.tally, wanted.ages, &blocked),
    };
    set.ages = dumped.ages;
    set.ages_gap = dumped.gap;
    let conns = dumped.conns;
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

/// What one tcp_info dump of a namespace gave: the ages of the states asked for, the
/// connections blocked threads wait on, or why there are no ages.
#[derive(Default)]
pub(super) struct Dumped {
    ages: Vec<Ages>,
    gap: Option<Gap>,
    conns: HashMap<u64, Connection>,
}

/// Dumps `source`'s sockets in the `ages_of` states, and in every other state when threads
/// wait on sockets (`blocked`), with their tcp_info. Only the families the count (`tally`)
/// found sockets of in those states are asked for.
fn dump(
    request: &Request,
    source: &Source,
    tally: &Tally,
    ages_of: StateSet,
    blocked: &HashSet<u64>,
) -> Dumped {
    let mut got = Dumped::default();
    let states = if blocked.is_empty() {
        ages_of
    } else {
        // A thread waits on a full socket in any state: every state but the mini-sockets'.
        ages_of.union(StateSet::big())
    };
    let dated = |family| !blocked.is_empty() || ages_of.states().any(|s| tally.get(family, s) > 0);
    if states.is_empty() {
        return got;
    }
    let conns = &mut got.conns;
    let filter = &request.scope.filter;
    let mut ages = AgeBuilder::new(ages_of.states());
    let read = for_each_socket_info(
        source,
        |family| filter.wants_family(family) && dated(family),
        states,
        |s, info| {
            if ages_of.contains(s.state) && filter.matches(s) {
                ages.add(s.state, s.local.port(), info);
            }
            if s.inode != 0 && blocked.contains(&s.inode) {
                conns.insert(s.inode, connection(s, info.copied()));
            }
        },
    );
    match read {
        // The /proc tables have no tcp_info, but they still say whom a blocked thread waits
        // on: read them once more for those sockets.
        Ok(InfoRead::Unavailable(NoInfo::ProcTables)) if !blocked.is_empty() => {
            got.gap = Some(Gap::ProcSource);
            let seen = collect::for_each_socket(
                source,
                |f| filter.wants_family(f),
                |s| {
                    if s.inode != 0 && blocked.contains(&s.inode) {
                        conns.insert(s.inode, connection(s, None));
                    }
                },
            );
            if let Err(e) = seen {
                got.gap = Some(Gap::Failed(e.to_string()));
            }
        }
        Ok(InfoRead::Dumped { sockets, with_info }) => {
            got.ages = ages.finish();
            // Sockets of the wanted states, none with tcp_info: orphaned FIN_WAIT2 are
            // mini-sockets.
            if got.ages.is_empty() && sockets > 0 && with_info == 0 {
                got.gap = Some(Gap::MiniSockets);
            }
        }
        Ok(InfoRead::Unavailable(NoInfo::ProcTables)) => got.gap = Some(Gap::ProcSource),
        Ok(InfoRead::Unavailable(why)) => got.gap = Some(Gap::Failed(why.to_string())),
        Err(e) => got.gap = Some(Gap::Failed(e.to_string())),
    }
    got
}

/// The connection a blocked thread waits on, as the dump showed it.
fn connection(s: &Socket, info: Option<TcpInfo>) -> Connection {
    Connection {
        local: s.local,
        peer: s.remote,
        state: s.state,
        info,
    }
}
