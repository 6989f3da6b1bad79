//! The one path every command takes: collect → observe → diagnose → look up owners (once, only
//! behind findings) → diagnose again. Summary, check, top and list run it (and serve, watch and
//! the namespace sweep will), so the stream loop and the owner walk exist only here.

use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::alert::history::{self, Comparison, Current};
use crate::alert::state::Saved;
use crate::collect::context::{read_boot_id, read_context};
use crate::collect::fdwalk::{Beside, FdTable};
use crate::collect::owners::find_owners;
use crate::collect::{self, Source};
use crate::diagnose::observe::Observations;
use crate::diagnose::{self, Input, Processes, Settings};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::{KernelContext, Socket, Tally};
use crate::report::{Attribution, Checks, Collection, Owners, SummaryReport};

/// Which sockets, from where, and whether their processes may be looked up.
#[derive(Debug, Clone)]
pub struct Scope {
    pub filter: Filter,
    pub source: Source,
    /// `--no-processes`.
    pub no_processes: bool,
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

/// As [`analyse`], with the walk of every process's fds on a second thread while the sockets
/// stream by: the dump (kernel time in this thread) and the walk (kernel time in the other)
/// overlap instead of adding up. `each` keeps what it needs of the matching sockets; ask the
/// returned table who holds them with [`owners_among`].
pub fn analyse_with_holders(
    scope: &Scope,
    plan: &Plan,
    settings: &Settings,
    each: &mut dyn FnMut(&Socket),
    err: &mut dyn Write,
) -> Result<(Analysis, FdTable), Error> {
    let walk = Beside::start(scope.source.root());
    let analysis = analyse(scope, plan, settings, each, err);
    let table = finish_walk(&scope.source, walk)?;
    Ok((analysis?, table))
}

fn finish_walk(source: &Source, walk: Beside) -> Result<FdTable, Error> {
    walk.finish().map_err(|e| Error::Read {
        path: source.root().to_path_buf(),
        source: e,
    })
}

/// Who holds the sockets whose inodes `wanted` accepts, from a walk made beside the dump, and
/// how far attribution got for `inodes` (every matching socket's, 0 for those no process can
/// hold). Nothing is described when no matching socket can have a holder.
pub fn owners_among(
    table: FdTable,
    wanted: &dyn Fn(u64) -> bool,
    inodes: impl Iterator<Item = u64> + Clone,
) -> (Owners, Attribution) {
    let owners = if inodes.clone().any(|i| i != 0) {
        table.owners(wanted)
    } else {
        Owners::default()
    };
    let attribution = Attribution::of_inodes(inodes, &owners);
    (owners, attribution)
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
    let source = &scope.source;
    let collected_at = SystemTime::now();
    let context = if plan.diagnose {
        read_context(source.root(), &source.net_dir(), source.pid().is_some())
    } else {
        KernelContext::default()
    };
    let mut obs = Observations::new(&settings.thresholds, &context);
    obs.watch_ports(plan.watch_ports.iter().copied());
    obs.keep_inodes(plan.keep_inodes);
    let mut walk = (plan.walk_beside && plan.diagnose && !scope.no_processes)
        .then(|| Beside::start(source.root()));
    let streamed = stream(scope, plan.diagnose.then_some(&mut obs), each);
    let (tally, collection) = match streamed {
        Ok(streamed) => streamed,
        Err(e) => {
            if let Some(walk) = walk.take() {
                walk.cancel();
            }
            return Err(e);
        }
    };
    warn_skipped(&collection, err);

    let mut checks = Checks {
        ran: plan.diagnose,
        rules: settings.rules_enabled(),
        processes_skipped: scope.no_processes,
        ..Checks::default()
    };
    let mut findings = Vec::new();
    let mut comparison = None;
    if plan.diagnose {
        let boot_id = plan
            .history
            .as_ref()
            .and_then(|_| read_boot_id(source.root()));
        let since_epoch = collected_at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let current = Current {
            now: since_epoch.as_secs(),
            now_ms: u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX),
            boot_id: boot_id.as_deref(),
            tally: &tally,
            counters: &context.counters,
            obs: &obs,
        };
        let judge = |owners: Option<&Owners>| {
            let input = Input {
                obs: &obs,
                ctx: &context,
                owners,
                processes: match (scope.no_processes, owners) {
                    (true, _) => Processes::Skipped,
                    (false, None) => Processes::Pending,
                    (false, Some(_)) => Processes::LookedUp,
                },
            };
            let verdict = diagnose::diagnose(&input, settings);
            let compared = plan.history.as_ref().map(|h| {
                history::compare(
                    h.previous.as_ref(),
                    &current,
                    settings,
                    h.stuck_after,
                    owners,
                )
            });
            (verdict, compared)
        };
        let (mut verdict, mut compared) = judge(None);
        if !scope.no_processes {
            // Only the sockets behind findings are looked up; a healthy machine walks nothing.
            let mut wanted = diagnose::wanted_inodes(&verdict.findings);
            if let Some(c) = &compared {
                wanted.extend(diagnose::wanted_inodes(&c.findings));
            }
            let found = match walk.take() {
                Some(walk) if wanted.is_empty() => {
                    walk.cancel();
                    Owners::default()
                }
                Some(walk) => finish_walk(source, walk)?.owners(&|inode| wanted.contains(&inode)),
                None => owners_of(source, &wanted)?,
            };
            (verdict, compared) = judge(Some(&found));
            if !wanted.is_empty() {
                let mut named = diagnose::wanted_inodes(&verdict.findings);
                if let Some(c) = &compared {
                    named.extend(diagnose::wanted_inodes(&c.findings));
                }
                checks.attribution = Some(Attribution::of_inodes(named, &found));
            }
        }
        findings = verdict.findings;
        checks.skipped = verdict.skipped;
        checks.context_missing = context.missing.clone();
        comparison = compared;
    }
    if let Some(walk) = walk {
        walk.cancel();
    }
    let report = SummaryReport {
        collected_at,
        tally,
        filter: scope.filter.describe(),
        findings,
        checks,
        collection,
    };
    Ok(Analysis {
        report,
        context,
        observations: obs,
        comparison,
    })
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
