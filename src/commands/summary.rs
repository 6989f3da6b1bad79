//! `sockscope` / `sockscope summary`: every socket counted by family and state, then the
//! diagnostics over what was seen.

use std::io::Write;
use std::time::SystemTime;

use super::{style, warn_skipped};
use crate::Terminal;
use crate::cli::{Format, SummaryArgs};
use crate::collect::context::{KernelContext, read_context};
use std::collections::HashSet;

use crate::collect::owners::{Attribution, Owners, find_owners};
use crate::collect::{self, Collection, ProcSource};
use crate::diagnose::observe::Observations;
use crate::diagnose::thresholds::Thresholds;
use crate::diagnose::{self, Processes, RULES, Snapshot};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::Tally;
use crate::render;
use crate::report::{Diagnostics, Report};

/// Counts while streaming: nothing per socket is kept, so memory stays flat however many
/// sockets there are. With `observe`, the diagnostics' observations are gathered in the same
/// pass (they keep only anomalous sockets).
pub fn count(
    source: &ProcSource,
    filter: &Filter,
    mut observe: Option<&mut Observations>,
) -> Result<(Tally, Collection), Error> {
    let mut tally = Tally::default();
    let collection = collect::for_each_socket(
        source,
        |family| filter.wants_family(family),
        |socket| {
            if let Some(obs) = observe.as_deref_mut() {
                obs.count(socket);
            }
            if filter.matches(socket) {
                tally.add(socket.family, socket.state);
                if let Some(obs) = observe.as_deref_mut() {
                    obs.add(socket);
                }
            }
        },
    )?;
    Ok((tally, collection))
}

/// What one collection and diagnosis produced, for `summary` and `check`.
pub struct Analysis {
    pub report: Report,
    pub context: KernelContext,
    /// What the rules saw: `check` keeps part of it between runs.
    pub observations: Observations,
    /// The owners looked up for the findings, and the inodes that lookup covered: `check`
    /// reuses them rather than walking `/proc/*/fd` again.
    pub owners: Option<(Owners, HashSet<u64>)>,
}

/// Counts the sockets, and with `diagnose` reads the context and runs the rules (looking up
/// owners only for the sockets behind findings, unless `no_processes`).
/// How `analyse` should run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Read the context and run the rules (false: only count).
    pub diagnose: bool,
    /// `--no-processes`.
    pub no_processes: bool,
    /// Local ports counted apart by state (config `[ports.N]`).
    pub watch_ports: std::collections::BTreeSet<u16>,
    /// Keep the inodes of anomalous sockets (to name holders or follow them across runs).
    pub keep_inodes: bool,
}

pub fn analyse(
    filter: &Filter,
    source: &ProcSource,
    thresholds: &Thresholds,
    options: &Options,
    err: &mut dyn Write,
) -> Result<Analysis, Error> {
    let Options {
        diagnose,
        no_processes,
        ref watch_ports,
        keep_inodes,
    } = *options;
    let collected_at = SystemTime::now();
    let context = if diagnose {
        read_context(source.root(), &source.net_dir(), source.pid().is_some())
    } else {
        KernelContext::default()
    };
    let mut obs = Observations::new(thresholds, &context);
    obs.watch_ports(watch_ports.iter().copied());
    obs.keep_inodes(keep_inodes);
    let (tally, collection) = count(source, filter, diagnose.then_some(&mut obs))?;
    warn_skipped(&collection, err);

    let mut diagnostics = Diagnostics {
        ran: diagnose,
        rules: RULES.len(),
        processes_skipped: no_processes,
        ..Diagnostics::default()
    };
    let mut findings = Vec::new();
    let mut owners = None;
    if diagnose {
        let processes = if no_processes {
            Processes::Skipped
        } else {
            Processes::Pending
        };
        let first = Snapshot {
            obs: &obs,
            ctx: &context,
            owners: None,
            processes,
        };
        let mut diagnosis = diagnose::diagnose(&first, thresholds);
        if !no_processes {
            // Only the sockets behind findings are looked up; a healthy machine walks nothing.
            let wanted = diagnose::wanted_inodes(&diagnosis.findings);
            let found = find_owners(source.root(), &wanted).map_err(|e| Error::Read {
                path: source.root().to_path_buf(),
                source: e,
            })?;
            let second = Snapshot {
                obs: &obs,
                ctx: &context,
                owners: Some(&found),
                processes: Processes::LookedUp,
            };
            diagnosis = diagnose::diagnose(&second, thresholds);
            if !wanted.is_empty() {
                let inodes = diagnose::wanted_inodes(&diagnosis.findings);
                diagnostics.attribution = Some(Attribution::of_inodes(inodes, &found));
            }
            owners = Some((found, wanted));
        }
        findings = diagnosis.findings;
        diagnostics.skipped = diagnosis.skipped;
        diagnostics.context_missing = context.missing.clone();
    }
    let report = Report {
        collected_at,
        tally,
        filter: filter.describe(),
        findings,
        diagnostics,
        collection,
    };
    Ok(Analysis {
        report,
        context,
        observations: obs,
        owners,
    })
}

pub fn run(
    args: &SummaryArgs,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let filter = Filter::new(&args.filter);
    let format = args.output.format();
    let mut source = ProcSource::from_args(&args.source);
    if format == Format::Plain {
        // Counting only: sock_diag can skip the unwanted states in the kernel. The diagnostics
        // need the whole table (shares of ESTABLISHED), so they do not.
        source = source.only_states(|s| filter.wants_state(s));
    }
    // `--format plain` is the awk replacement: it only counts, as fast as it can.
    let diagnose = format != Format::Plain;
    let options = Options {
        diagnose,
        no_processes: args.no_processes,
        watch_ports: Default::default(),
        // Inodes only serve the owner lookup.
        keep_inodes: !args.no_processes,
    };
    let analysis = analyse(&filter, &source, &Thresholds::default(), &options, err)?;
    let report = &analysis.report;
    match format {
        Format::Table => render::table::render(report, style(terminal), out)?,
        Format::Json => render::json::render(report, out)?,
        Format::Plain => render::plain::render(report, out)?,
    }
    Ok(())
}
