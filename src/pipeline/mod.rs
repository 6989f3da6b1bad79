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
mod pass;
mod request;
mod targets;
mod walk;

use std::collections::HashSet;
use std::time::SystemTime;

use crate::alert::state::Saved;
use crate::collect::context::read_boot_id;
use crate::collect::netns;
use crate::diagnose;
use crate::diagnose::steps::{Netns, Place};
use crate::error::Error;
use crate::model::{KernelContext, Socket};
use crate::report::{Attribution, NetnsKind, NetnsLabel, Owners, SummaryReport, Unopened};
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
    let (mut parts, sweep) = read_namespaces(&run, each)?;
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
    let owners = if (plan.diagnose && !scope.no_processes) || !extra.is_empty() {
        let mut all = wanted.clone();
        all.extend(extra.iter().copied());
        Some(walk::owners_of(&scope.source, beside.take(), &all)?)
    } else {
        None
    };
    // Not taken: nothing needed owners; stop the walk beside now.
    drop(beside);

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
    // A live system has namespace links; a saved copy of /proc has neither threads nor
    // tcp_info to read.
    let live = parts.iter().any(|p| p.collection.netns.is_some());
    if plan.diagnose {
        evidence::read(request, &mut parts, live);
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
    let place = Place::new(
        scope.source.root(),
        live,
        scope.source.pid(),
        rustix::process::geteuid().is_root(),
    );
    let attribution = owners
        .as_ref()
        .filter(|_| !wanted.is_empty())
        .map(|found| Attribution::of_inodes(named, found));
    let reach = reach(scope.source.root(), &parts);
    let assembled = assemble::assemble(request, parts, sweep, attribution, collected_at);
    let mut finished = finish::finish(request, assembled, &place, &reach);
    if !extra.is_empty() {
        finished.owners = owners;
    }
    finished.walk = every;
    finished.ages = ages;
    Ok(finished)
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

/// Every namespace of the scope, read and judged without owners; a namespace of a sweep that
/// cannot be read is counted as unopened, with why.
fn read_namespaces(run: &Run, each: Each) -> Result<(Vec<Part>, crate::report::Sweep), Error> {
    let scope = &run.request.scope;
    let (mut targets, mut sweep) = targets::resolve(scope)?;
    let mut parts = Vec::with_capacity(targets.len());
    let mut fatal = None;
    let sysctls = run.request.plan.diagnose.then(|| scope.source.root());
    targets::visit(&mut targets, sysctls, |target| {
        // The two-run rules remember one namespace: the first (the host's, or the chosen).
        let compares = parts.is_empty();
        let passed = run.first(target, compares, &mut *each);
        target.source.set_socket(None);
        match passed.map_err(|failed| *failed) {
            Ok(part) => parts.push(part),
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
        None => Ok((parts, sweep)),
    }
}
