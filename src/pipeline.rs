//! The one path every command takes: collect → observe → diagnose → look up owners (once, only
//! behind findings) → diagnose again. Summary, check, top and list run it (and serve, watch and
//! the namespace sweep will), so the stream loop and the owner walk exist only here.

mod assemble;
mod targets;
mod walk;

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::alert::history::{self, Comparison, Current};
use crate::alert::state::Saved;
use crate::collect::context::{read_boot_id, read_context};
use crate::collect::fdwalk::Beside;
use crate::collect::owners::find_owners;
use crate::collect::{self, Source};
use crate::diagnose::observe::Observations;
use crate::diagnose::{self, Input, Processes, Settings};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::{KernelContext, Socket, StateSet, Tally};
use crate::report::{Attribution, Collection, NetnsLabel, Owners, SummaryReport, Unopened};
pub use targets::Namespaces;
use walk::finish_walk;
pub use walk::{analyse_with_holders, containers_of};

/// Which sockets, from where, and whether their processes may be looked up.
#[derive(Debug, Clone)]
pub struct Scope {
    pub filter: Filter,
    pub source: Source,
    /// `--no-processes`.
    pub no_processes: bool,
    /// `--all-netns`, `--netns`.
    pub namespaces: Namespaces,
    /// `--host-root`: where the host's `/run`, `/var/lib/docker`… are (`/` on the host).
    pub host_root: PathBuf,
}

/// What an analysis does beyond counting.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Read the context and run the rules (false: only count).
    pub diagnose: bool,
    /// Local ports counted apart by state (config `[ports.N]`).
    pub watch_ports: BTreeSet<u16>,
    /// Keep the inodes of anomalous sockets (to name holders or follow them across runs).
    pub keep_inodes: bool,
    /// Compare with an earlier run (the two-run rules): `check --state-file`, `serve`, `watch`.
    pub history: Option<History>,
    /// Also look up who holds the matching sockets in these states (`watch`'s culprit panel),
    /// in the same walk as the findings' owners; they come back in [`Analysis::owners`].
    pub owned: StateSet,
    /// Walk `/proc/*/fd` on a second thread while the sockets are dumped, in case a finding
    /// needs owners (cancelled when none does): the summary, where a person waits. Without
    /// it, the walk runs after the rules, only when a finding asks (`check` from cron).
    pub walk_beside: bool,
}

/// The earlier run to compare with.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub previous: Option<Saved>,
    /// Seconds a CLOSE_WAIT or held FIN_WAIT2 socket must be seen before it counts as stuck.
    pub stuck_after: u64,
}

/// What one analysis produced.
pub struct Analysis {
    pub report: SummaryReport,
    pub context: KernelContext,
    /// What the rules saw (ports watched apart, for the state ranges).
    pub observations: Observations,
    /// The two-run comparison, with what to remember for the next run.
    pub comparison: Option<Comparison>,
    /// A sweep's observations, per namespace inode (`observations` is then empty): the state
    /// ranges judge each namespace on its own.
    pub namespace_observations: Vec<(u64, Observations)>,
    /// The owners found by the walk, when [`Plan::owned`] asked for some sockets' owners.
    pub owners: Option<Owners>,
}

/// Streams every socket of the scope once: counts the matching ones, feeds the observations
/// (every socket, and the matching ones apart) and hands each matching socket to `each`.
fn stream(
    scope: &Scope,
    mut observe: Option<&mut Observations>,
    each: &mut dyn FnMut(&Socket),
) -> Result<(Tally, Collection), Error> {
    let filter = &scope.filter;
    let mut tally = Tally::default();
    let collection = collect::for_each_socket(
        &scope.source,
        |family| filter.wants_family(family),
        |socket| {
            if let Some(obs) = observe.as_deref_mut() {
                obs.count_all(socket);
            }
            if filter.matches(socket) {
                tally.add(socket.family, socket.state);
                if let Some(obs) = observe.as_deref_mut() {
                    obs.observe(socket);
                }
                each(socket);
            }
        },
    )?;
    Ok((tally, collection))
}

/// Who holds these inodes: the one walk of `/proc/*/fd`. Nothing is walked for an empty set.
pub fn owners_of(source: &Source, wanted: &HashSet<u64>) -> Result<Owners, Error> {
    find_owners(source.root(), wanted).map_err(|e| Error::Read {
        path: source.root().to_path_buf(),
        source: e,
    })
}

/// USER_HZ, the unit of the timer column, known before any socket is read (for rows written
/// as they stream).
pub fn clock_ticks() -> u64 {
    collect::clock_ticks()
}

/// Counts, and with `plan.diagnose` judges, every socket of the scope; `each` sees every
/// matching socket as it streams by (`list` and `top` keep or group them).
pub fn analyse(
    scope: &Scope,
    plan: &Plan,
    settings: &Settings,
    each: &mut dyn FnMut(&Socket),
    err: &mut dyn Write,
) -> Result<Analysis, Error> {
    analyse_each(scope, plan, settings, &mut |_, s| each(s), err)
}

/// As [`analyse`], and also looks up who holds the matching sockets in the states `owned`, in
/// the same walk as the findings' owners: one walk per analysis. Nothing more is walked with
/// `--no-processes`.
pub fn analyse_owning(
    scope: &Scope,
    plan: &Plan,
    settings: &Settings,
    owned: StateSet,
    each: &mut dyn FnMut(&Socket),
    err: &mut dyn Write,
) -> Result<Analysis, Error> {
    let plan = Plan {
        owned,
        ..plan.clone()
    };
    analyse(scope, &plan, settings, each, err)
}

/// One namespace's first pass: counted, observed and judged without owners.
struct Part {
    label: Option<NetnsLabel>,
    context: KernelContext,
    obs: Observations,
    tally: Tally,
    collection: Collection,
    verdict: diagnose::Verdict,
    compared: Option<Comparison>,
    /// The sockets the findings want named.
    wanted: HashSet<u64>,
    /// The matching sockets in [`Plan::owned`] states, named too.
    extra: HashSet<u64>,
    /// The boot id, read once for the two-run comparison (both passes use it).
    boot_id: Option<String>,
}

/// [`analyse`], telling `each` which namespace each socket is in (`None`: the classic single
/// namespace). Every namespace is counted and diagnosed on its own; one walk of `/proc/*/fd`
/// then names the holders behind the findings of all of them.
pub fn analyse_each(
    scope: &Scope,
    plan: &Plan,
    settings: &Settings,
    each: &mut dyn FnMut(Option<&NetnsLabel>, &Socket),
    err: &mut dyn Write,
) -> Result<Analysis, Error> {
    let collected_at = SystemTime::now();
    // Dropped (stopped) on every way out that does not use it. With one CPU, walking beside
    // the dump would only slow the dump down when no finding turns out to need owners.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut walk = (plan.walk_beside
        && cores > 1
        && !scope.no_processes
        && (plan.diagnose || !plan.owned.is_empty()))
    .then(|| Beside::start(scope.source.root()));
    let (mut targets, mut sweep) = targets::resolve(scope)?;
    let mut parts = Vec::with_capacity(targets.len());
    for chunk in targets.chunks_mut(targets::OPEN_AT_ONCE) {
        targets::open_sockets(chunk);
        for (label, source) in chunk {
            // The two-run rules remember one namespace: the first (the host's, or the chosen).
            let history = if parts.is_empty() {
                plan.history.as_ref()
            } else {
                None
            };
            let passed = first_pass(
                scope,
                source,
                label.take(),
                plan,
                history,
                settings,
                collected_at,
                each,
                err,
            );
            source.set_socket(None);
            match passed {
                Ok(part) => parts.push(part),
                Err(failed) => match *failed {
                    (Some(label), e) => sweep.unopened.push(Unopened {
                        label,
                        why: e.to_string(),
                    }),
                    (None, e) => return Err(e),
                },
            }
        }
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
        Some(match walk.take() {
            Some(walk) if !all.is_empty() => finish_walk(&scope.source, walk)?.owners_of_set(&all),
            // Nothing to name: none is walked. (A walk beside, taken into this arm, is dropped
            // at its end: it stops at its next process.)
            _ => owners_of(&scope.source, &all)?,
        })
    } else {
        None
    };
    // Not taken: nothing needed owners; stop the walk beside now.
    drop(walk);
    let place = diagnose::steps::Place::new(
        scope.source.root(),
        parts.iter().any(|p| p.collection.netns.is_some()),
        scope.source.pid(),
        rustix::process::geteuid().is_root(),
    );
    let mut named = HashSet::new();
    let mut reports = Vec::with_capacity(parts.len());
    for mut part in parts {
        if let Some(found) = owners.as_ref().filter(|_| plan.diagnose) {
            let history = if reports.is_empty() {
                plan.history.as_ref()
            } else {
                None
            };
            (part.verdict, part.compared) =
                judge(&part, scope, history, settings, Some(found), collected_at);
            if !part.wanted.is_empty() {
                named.extend(diagnose::wanted_inodes(&part.verdict.findings));
                if let Some(c) = &part.compared {
                    named.extend(diagnose::wanted_inodes(&c.findings));
                }
            }
        }
        diagnose::steps::localize(&mut part.verdict.findings, &place);
        if let Some(c) = part.compared.as_mut() {
            diagnose::steps::localize(&mut c.findings, &place);
        }
        reports.push(part);
    }
    let attribution = owners
        .as_ref()
        .filter(|_| !wanted.is_empty())
        .map(|found| Attribution::of_inodes(named, found));
    let mut analysis = assemble::assemble(
        scope,
        plan,
        settings,
        reports,
        sweep,
        attribution,
        collected_at,
    );
    if !extra.is_empty() {
        analysis.owners = owners;
    }
    Ok(analysis)
}

/// Streams one namespace, observes it and judges it without owners. A namespace of a sweep
/// that cannot be read comes back with its label, to be counted as unopened.
#[allow(clippy::too_many_arguments)]
fn first_pass(
    scope: &Scope,
    source: &Source,
    label: Option<NetnsLabel>,
    plan: &Plan,
    history: Option<&History>,
    settings: &Settings,
    collected_at: SystemTime,
    each: &mut dyn FnMut(Option<&NetnsLabel>, &Socket),
    err: &mut dyn Write,
) -> Result<Part, Box<(Option<NetnsLabel>, Error)>> {
    let context = if !plan.diagnose {
        KernelContext::default()
    } else if source.enters_namespace() && source.pid().is_none() {
        targets::context_unreachable()
    } else {
        // /proc/sys shows this process's own namespace: another's sysctls are unknown.
        let other = source.pid().is_some() || source.enters_namespace();
        read_context(source.root(), &source.net_dir(), other)
    };
    let mut obs = Observations::new(&settings.thresholds, &context);
    obs.watch_ports(plan.watch_ports.iter().copied());
    obs.keep_inodes(plan.keep_inodes);
    obs.clock_ticks(crate::collect::clock_ticks());
    let one = Scope {
        source: source.clone(),
        ..scope.clone()
    };
    let owned = if scope.no_processes {
        StateSet::EMPTY
    } else {
        plan.owned
    };
    let mut extra = HashSet::new();
    let streamed = stream(&one, plan.diagnose.then_some(&mut obs), &mut |s| {
        if s.inode != 0 && owned.contains(s.state) {
            extra.insert(s.inode);
        }
        each(label.as_ref(), s)
    });
    let (tally, collection) = match streamed {
        Ok(r) => r,
        Err(e) => return Err(Box::new((label, e))),
    };
    warn_skipped(&collection, err);
    let mut part = Part {
        label,
        context,
        obs,
        tally,
        collection,
        verdict: diagnose::Verdict::default(),
        compared: None,
        wanted: HashSet::new(),
        extra,
        boot_id: None,
    };
    if plan.diagnose {
        let plan_history = history.filter(|_| plan.history.is_some());
        if plan_history.is_some() {
            part.boot_id = read_boot_id(scope.source.root());
        }
        (part.verdict, part.compared) =
            judge(&part, scope, plan_history, settings, None, collected_at);
        if !scope.no_processes {
            // Only the sockets behind findings are looked up; a healthy machine walks nothing.
            part.wanted = diagnose::wanted_inodes(&part.verdict.findings);
            if let Some(c) = &part.compared {
                part.wanted.extend(diagnose::wanted_inodes(&c.findings));
            }
        }
    }
    Ok(part)
}

/// Runs the rules (and the two-run comparison) over one namespace's observations.
fn judge(
    part: &Part,
    scope: &Scope,
    history: Option<&History>,
    settings: &Settings,
    owners: Option<&Owners>,
    collected_at: SystemTime,
) -> (diagnose::Verdict, Option<Comparison>) {
    let input = Input {
        obs: &part.obs,
        ctx: &part.context,
        owners,
        processes: match (scope.no_processes, owners) {
            (true, _) => Processes::Skipped,
            (false, None) => Processes::Pending,
            (false, Some(_)) => Processes::LookedUp,
        },
    };
    let verdict = diagnose::diagnose(&input, settings);
    let compared = history.map(|h| {
        let since_epoch = collected_at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let current = Current {
            now: since_epoch.as_secs(),
            now_ms: u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
            boot_id: part.boot_id.as_deref(),
            tally: &part.tally,
            counters: &part.context.counters,
            obs: &part.obs,
        };
        history::compare(
            h.previous.as_ref(),
            &current,
            settings,
            h.stuck_after,
            owners,
        )
    });
    (verdict, compared)
}

/// Malformed lines are skipped, never fatal, but never silent either.
fn warn_skipped(collection: &Collection, err: &mut dyn Write) {
    // A failure to write a warning must not turn a good result into an error.
    for s in &collection.skipped {
        let _ = writeln!(
            err,
            "sockscope: warning: skipped '{}' line {}: {}",
            s.path.display(),
            s.line,
            s.why
        );
    }
    let more = collection.skipped_lines - collection.skipped.len() as u64;
    if more > 0 {
        let _ = writeln!(
            err,
            "sockscope: warning: skipped {more} more malformed lines"
        );
    }
}
