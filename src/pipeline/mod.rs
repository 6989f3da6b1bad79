//! The one door every command takes: [`run`] turns a [`Request`] into a [`Finished`] run.
//! Collect → observe → diagnose → look up owners (one walk of `/proc/*/fd` per run, only for
//! what the plan and the findings need) → diagnose again → the operator's ranges, the two-run
//! comparison, next steps that run where each finding is, findings sorted. Summary, list, top,
//! check, every scrape of `serve`, every refresh of `watch` and the namespace sweep go through
//! it, so the stream loop, the owner walk and the finishing steps exist only here.
//!
//! Words: *owners* are the processes holding a socket ([`Owners`]); the *walk* is the pass over
//! `/proc/*/fd` that finds them.

mod assemble;
mod evidence;
mod finish;
mod flows;
mod pass;
mod request;
mod targets;
mod walk;

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use crate::alert::state::Saved;
use crate::collect::context::read_boot_id;
use crate::collect::netns;
use crate::diagnose;
use crate::diagnose::steps::{Netns, Place};
use crate::error::Error;
use crate::model::{KernelContext, LocalPorts, Socket};
use crate::report::{Attribution, NetnsKind, NetnsLabel, Owners, SummaryReport, Unopened};
pub use flows::follow;
use pass::{Part, Run};
pub use request::{History, OwnerPlan, Plan, Request, Scope};
pub use targets::Namespaces;
pub use walk::Walk;

/// Sees every matching socket as it streams by, with its namespace (`None`: the classic single
/// namespace): `list` keeps or writes rows, `top` groups, `serve` and `watch` count apart.
pub type Each<'a> = &'a mut dyn FnMut(Option<&NetnsLabel>, &Socket);

/// A run, finished: nothing is left for a command to do but render it (and, for `list` and
/// `top`, ask the walk under way who holds their rows).
pub struct Finished {
    /// The operator's ranges applied, the two-run findings merged in, next steps localised,
    /// findings sorted (most severe first, catalog order among equals).
    pub report: SummaryReport,
    /// The kernel counters (perfdata and Prometheus).
    pub context: KernelContext,
    /// What the ranges and the comparison could not judge: a range `--state` leaves out, the
    /// first run, a reboot, a counter reset.
    pub notes: Vec<String>,
    /// The notes to say on stderr at once: ranges that cannot be judged are a configuration
    /// mistake, said even when all is OK.
    pub warnings: Vec<String>,
    /// What to remember for the next run, when the plan had a history.
    pub memory: Option<Saved>,
    /// With [`OwnerPlan::Also`]: who holds those sockets (and the findings').
    pub owners: Option<Owners>,
    /// With [`OwnerPlan::Every`]: the walk, still going, for [`Walk::holding`].
    pub walk: Option<Walk>,
    /// The ages read (the plan's states and the findings'), of the first namespace: the
    /// host's, or the one chosen.
    pub ages: Vec<crate::report::Ages>,
    /// With [`Plan::ephemeral`]: which local ports are ephemeral, when every namespace read
    /// has the same port range (the listeners of all of them count).
    pub local_ports: Option<LocalPorts>,
    /// Each followed namespace's destroy events since the previous run (its name in a
    /// sweep), for what counts them across runs (`serve`'s counters).
    pub flow_windows: Vec<(Option<String>, crate::report::flows::Window)>,
}

/// Runs the request: every socket of the scope once, each matching one handed to `each`.
pub fn run(request: &Request, each: Each) -> Result<Finished, Error> {
    let collected_at = SystemTime::now();
    let mut request_here;
    let request = match pass::wanted_states(request) {
        None => request,
        Some(states) => {
            request_here = request.clone();
            request_here.scope.source = request_here.scope.source.only_states(Some(states));
            &request_here
        }
    };
    let (scope, plan) = (&request.scope, &request.plan);
    let every = request
        .walks_every()
        .then(|| Walk::start(&scope.source, &scope.host_root));
    // Dropped (stopped) on every way out that does not use it. With one CPU, walking beside
    // the dump would only slow the dump down when no finding turns out to need owners.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut beside = (every.is_none()
        && plan.walk_beside
        && cores > 1
        && !scope.no_processes
        && (plan.diagnose || !request.owned_states().is_empty()))
    .then(|| Walk::start(&scope.source, &scope.host_root));
    let run = Run {
        request,
        collected_at,
        boot_id: plan
            .history
            .as_ref()
            .and_then(|_| read_boot_id(scope.source.root())),
        host_wide: std::cell::OnceCell::new(),
    };
    let (drawn, mut windows) = match &plan.flows {
        Some(f) => {
            let (drawn, windows) = flows::drain(f);
            (Some(drawn), windows)
        }
        None => (None, HashMap::new()),
    };
    let ended = drawn.as_ref().map_or(collected_at, |d| d.ended);
    let (mut parts, sweep, spots) = read_namespaces(&run, each, &mut windows, ended)?;
    if let Some(f) = &plan.flows {
        f.follower.follow(&spots);
        flows::keep_only(f, &scope.filter);
    }
    // The one namespace asked for by name was not read: that is no count of zero.
    if let (Namespaces::One(_), [], [unread, ..]) =
        (&scope.namespaces, &parts[..], &sweep.unopened[..])
    {
        return Err(Error::Unread {
            name: unread.label.name(),
            why: unread.why.clone(),
        });
    }

    let mut wanted = HashSet::new();
    let mut extra = HashSet::new();
    for part in &parts {
        wanted.extend(part.wanted.iter().copied());
        extra.extend(part.extra.iter().copied());
    }
    // A live system has namespace links; a saved copy of /proc has neither threads nor
    // tcp_info to read.
    let live = parts.iter().any(|p| p.collection.netns.is_some());
    let mut ahead = Vec::new();
    let owners = if (plan.diagnose && !scope.no_processes) || !extra.is_empty() {
        let mut all = wanted.clone();
        all.extend(extra.iter().copied());
        // The ages the findings want are known before their owners: dumped beside the walk.
        let dated = (plan.diagnose && live)
            .then(|| evidence::ahead_of_walk(request, &parts))
            .filter(|d| d.iter().any(|(_, states, _)| !states.is_empty()));
        std::thread::scope(|s| {
            // No thread (a low `ulimit -u`): the ages are read after the walk, as they would be.
            let dating = dated.and_then(|d| {
                std::thread::Builder::new()
                    .spawn_scoped(s, move || evidence::read_ages_ahead(request, &d))
                    .ok()
            });
            let found = walk::owners_of(&scope.source, beside.take(), &all, plan.walk_deadline);
            // A dating thread that panicked leaves the ages to be read after the walk.
            ahead = dating.and_then(|t| t.join().ok()).unwrap_or_default();
            found
        })
        .map(Some)?
    } else {
        None
    };
    // Not taken: nothing needed owners; stop the walk beside now.
    drop(beside);
    // A walk for every connection's owners: the next destroy events are joined to them.
    if let (Some(f), Some(found), OwnerPlan::Also(_)) = (&plan.flows, &owners, plan.owners) {
        flows::hand_over(f, found);
    }

    let mut named = HashSet::new();
    if let Some(found) = owners.as_ref().filter(|_| plan.diagnose) {
        for (i, part) in parts.iter_mut().enumerate() {
            run.judge(part, i == 0, Some(found));
            if !part.wanted.is_empty() {
                named.extend(diagnose::wanted_inodes(&part.verdict.findings));
                if let Some(c) = &part.compared {
                    named.extend(diagnose::wanted_inodes(&c.findings));
                }
            }
        }
    }
    if plan.diagnose {
        evidence::read(request, &mut parts, live, ahead);
        for (i, part) in parts.iter_mut().enumerate() {
            if part.evidence.is_some() {
                run.judge(part, i == 0, owners.as_ref());
            }
        }
    }
    let ages = parts
        .first()
        .and_then(|p| p.evidence.as_ref())
        .map(|e| e.ages.clone())
        .unwrap_or_default();
    let mut place = Place::new(
        scope.source.root(),
        live,
        scope.source.pid(),
        rustix::process::geteuid().is_root(),
    );
    // A live /proc always holds a process (this one): none at all is a copy of the tables.
    place.copy_without_processes = place.saved_copy.is_some()
        && owners
            .as_ref()
            .is_some_and(|o| o.stats.processes_scanned == 0);
    let attribution = owners
        .as_ref()
        .filter(|_| !wanted.is_empty())
        .map(|found| Attribution::of_inodes(named, found));
    let local_ports = local_ports(&parts);
    let taken = flows::take(&mut parts, scope.namespaces.sweeps());
    let reach = reach(scope.source.root(), &parts);
    let assembled = assemble::assemble(request, parts, sweep, attribution, collected_at);
    let mut finished = finish::finish(request, assembled, &place, &reach);
    if let Some(drawn) = &drawn {
        let report = flows::report(drawn, &taken, collected_at);
        if drawn.denied.is_none() {
            finished.report.checks.rules += request.config.settings.followed_rules_enabled();
        }
        finished.report.flows = Some(Box::new(report));
        finished.flow_windows = taken
            .into_iter()
            .map(|t| (t.netns, t.drain.window))
            .collect();
    }
    if !extra.is_empty() {
        finished.owners = owners;
    }
    finished.walk = every;
    finished.ages = ages;
    finished.local_ports = local_ports;
    Ok(finished)
}

/// The namespaces' local ports as one: their shared port range, every namespace's listeners.
fn local_ports(parts: &[Part]) -> Option<LocalPorts> {
    let mut all: Option<LocalPorts> = None;
    for part in parts {
        let ports = part.local_ports.as_ref()?;
        match &mut all {
            None => all = Some(ports.clone()),
            Some(all) if all.range == ports.range => all.listening.extend(&ports.listening),
            Some(_) => return None,
        }
    }
    all
}

/// The namespaces a request reads, as the destroy-event follower follows them: what a command
/// that follows starts with, before its first run (later runs hand over what they read).
pub fn spots(request: &Request) -> Result<Vec<crate::collect::follow::Spot>, Error> {
    let (targets, _) = targets::resolve(&request.scope)?;
    Ok(targets
        .iter()
        .filter_map(|t| flows::spot(t.label.as_ref(), &t.source))
        .collect())
}

/// How a person enters each namespace of a sweep for its next steps, in the order read: by its
/// `/run/netns` name, a holder among its processes, or the one of them that has been there
/// longest (read only for a namespace that has findings and no name).
fn reach(proc_root: &std::path::Path, parts: &[Part]) -> Vec<(u64, Option<Netns>)> {
    parts
        .iter()
        .filter_map(|p| {
            let label = p.label.as_ref()?;
            let findings = !p.verdict.findings.is_empty()
                || p.compared.as_ref().is_some_and(|c| !c.findings.is_empty());
            let steady = (findings && label.names.is_empty() && label.kind != NetnsKind::Host)
                .then(|| netns::steady_member(proc_root, &p.members))
                .flatten();
            let netns = Netns::of(label, p.members.clone(), steady, p.mount.as_deref());
            Some((label.inode, netns))
        })
        .collect()
}

/// Every namespace of the scope, read and judged without owners (each with its window of
/// destroy events, taken from `windows`, when they are followed); a namespace of a sweep that
/// cannot be read is counted as unopened, with why. Also the namespaces read, to follow.
fn read_namespaces(
    run: &Run,
    each: Each,
    windows: &mut HashMap<u64, crate::collect::follow::Drain>,
    ended: SystemTime,
) -> Result<
    (
        Vec<Part>,
        crate::report::Sweep,
        Vec<crate::collect::follow::Spot>,
    ),
    Error,
> {
    let scope = &run.request.scope;
    let (mut targets, mut sweep) = targets::resolve(scope)?;
    let mut parts = Vec::with_capacity(targets.len());
    let mut spots = Vec::new();
    let mut fatal = None;
    let follows = run.request.plan.flows.is_some();
    let sysctls = run.request.plan.diagnose.then(|| scope.source.root());
    targets::visit(&mut targets, sysctls, |target| {
        // The two-run rules remember one namespace: the first (the host's, or the chosen).
        let compares = parts.is_empty();
        let spot = follows
            .then(|| flows::spot(target.label.as_ref(), &target.source))
            .flatten();
        let flow = spot
            .as_ref()
            .and_then(|s| windows.remove(&s.inode))
            .map(|d| {
                let secs = flows::seconds(&d, ended);
                (d, secs)
            });
        let passed = run.first(target, compares, &mut *each, flow);
        target.source.set_socket(None);
        match passed.map_err(|failed| *failed) {
            Ok(part) => {
                spots.extend(spot);
                parts.push(part);
            }
            Err((Some(label), e)) => sweep.unopened.push(Unopened {
                label,
                why: e.to_string(),
            }),
            Err((None, e)) => {
                fatal = Some(e);
                return false;
            }
        }
        true
    });
    match fatal {
        Some(e) => Err(e),
        None => Ok((parts, sweep, spots)),
    }
}
