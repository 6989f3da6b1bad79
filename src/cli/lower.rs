//! The command line lowered once into one value (ripgrep's low → high args): each command's
//! [`Request`] (scope, plan, configuration), the output (format, style, terminal facts) and
//! the command's own settings, validated together. Nothing below `commands` sees a clap type,
//! and no command reads a clap field.
//!
//! Reading the configuration file happens here, as ripgrep reads its config file while
//! building its arguments: a broken file is a warning (and the defaults) for the commands a
//! person runs during an incident, and an error for `check` and `serve`.

#[cfg(feature = "serve")]
use std::time::Duration;

use clap::ValueEnum;

#[cfg(feature = "serve")]
use super::ServeArgs;
#[cfg(feature = "serve")]
use super::invocation::ServeJob;
use super::invocation::{
    CheckJob, Invocation, Job, ListJob, Output, SummaryJob, Terminal, TopJob, WatchJob,
};
#[cfg(feature = "serve")]
use super::otlp::otlp;
use super::{
    CheckArgs, Cli, Command, FormatArg, GroupKey, ListArgs, SharedArgs, SortKey, TopArgs, WatchArgs,
};
use crate::alert::config::{self, Config};
use crate::error::Error;
use crate::model::{StateSet, TcpState};
use crate::pipeline::{History, Namespaces, OwnerPlan, Plan, Request, Scope};
use crate::render::Format;
use crate::report;
#[cfg(feature = "serve")]
use crate::serve::web_config::WebConfig;

/// The command line, lowered; errors name the option that is wrong.
pub fn lower(cli: &Cli, terminal: Terminal) -> Result<Invocation, Error> {
    let shared = &cli.shared;
    let mut warnings = Vec::new();
    let output = |format| Output {
        format,
        style: terminal.style(),
        terminal,
        verbose: shared.output.verbose,
    };
    let (job, format) = match &cli.command {
        None | Some(Command::Summary(_)) => {
            let args = match &cli.command {
                Some(Command::Summary(args)) => args,
                _ => &cli.summary,
            };
            let format = shared.format("the summary")?;
            // `--format plain` is the awk replacement: it only counts, as fast as it can.
            let diagnose = format != Format::Plain;
            let plan = Plan {
                diagnose,
                // A person waits: the walk overlaps the dump.
                walk_beside: true,
                ..Plan::default()
            };
            let config = if diagnose {
                forgiving_config(shared, &mut warnings)
            } else {
                Config::default()
            };
            let request = request(shared.scope(), plan, config);
            let follow = args.follow.job();
            (Job::Summary(SummaryJob { request, follow }), format)
        }
        Some(Command::List(args)) => (Job::List(list(shared, args)), shared.format("list")?),
        Some(Command::Top(args)) => (Job::Top(top(args, shared)), shared.format("top")?),
        Some(Command::Check(args)) => {
            let format = shared.check_format()?;
            (Job::Check(check(shared, args)?), format)
        }
        Some(Command::Watch(args)) => {
            let (job, format) = watch(shared, args, terminal, &mut warnings)?;
            (Job::Watch(job), format)
        }
        #[cfg(feature = "serve")]
        Some(Command::Serve(args)) => (
            Job::Serve(Box::new(serve(shared, args)?)),
            Format::Prometheus,
        ),
        Some(Command::Completions { shell }) => (Job::Completions(*shell), Format::Plain),
        Some(Command::Man { command }) => (Job::Man(command.clone()), Format::Plain),
    };
    Ok(Invocation {
        job,
        output: output(format),
        warnings,
    })
}

fn request(scope: Scope, plan: Plan, config: Config) -> Request {
    Request {
        scope,
        plan,
        config,
    }
}

/// The configured thresholds and disabled rules for a person at a terminal: the summary and
/// watch must always work during an incident, so a broken file is a warning and the defaults
/// apply.
fn forgiving_config(shared: &SharedArgs, warnings: &mut Vec<String>) -> Config {
    match config::load(shared.config.as_deref()) {
        Ok(config) => Config {
            // Their ranges are check's and serve's business.
            warn: Vec::new(),
            crit: Vec::new(),
            ports: Vec::new(),
            ..config
        },
        Err(e) => {
            warnings.push(format!("{e}; using the default thresholds"));
            Config::default()
        }
    }
}

fn list(shared: &SharedArgs, args: &ListArgs) -> ListJob {
    let plan = Plan {
        owners: if args.processes {
            OwnerPlan::Every
        } else {
            OwnerPlan::Findings
        },
        ..Plan::default()
    };
    ListJob {
        request: request(shared.scope(), plan, Config::default()),
        sort: report::SortKey::from(args.sort),
        timers: args.timers,
        processes: args.processes,
    }
}

fn top(args: &TopArgs, shared: &SharedArgs) -> TopJob {
    let keys = args.keys();
    // With a holder key each socket waits as its inode, state and other keys until the walk
    // beside the dump knows its owners (containers sharing the host's namespace are found
    // through the processes holding its sockets).
    let plan = Plan {
        owners: if keys.iter().any(|k| k.needs_owners()) {
            OwnerPlan::Every
        } else {
            OwnerPlan::Findings
        },
        ephemeral: keys.contains(&report::GroupKey::LocalPort),
        ..Plan::default()
    };
    TopJob {
        request: request(args.scope(shared), plan, Config::default()),
        keys,
        limit: args.limit,
    }
}

fn check(shared: &SharedArgs, args: &CheckArgs) -> Result<CheckJob, Error> {
    // Not clap's `requires`: a global --all-netns given before the subcommand escapes it.
    if args.max_unread.is_some() && !shared.source.all_netns {
        return Err(Error::Usage(
            "--max-unread counts the namespaces --all-netns could not read; it needs --all-netns (one asked for with --netns is read, or UNKNOWN)".into(),
        ));
    }
    let mut config = config::load(shared.config.as_deref())?;
    config.override_with(&args.warn, &args.crit);
    let plan = Plan {
        diagnose: true,
        ranges: true,
        // The state file's history is read by the command, which holds its lock.
        history: None,
        ..Plan::default()
    };
    Ok(CheckJob {
        request: request(shared.scope(), plan, config),
        state_file: args.state_file.clone(),
        renotify: args.renotify,
        textfile: args.textfile.clone(),
        #[cfg(feature = "serve")]
        otlp: args
            .otlp_endpoint
            .as_deref()
            .map(|url| otlp(url, Duration::from_secs(60)))
            .transpose()?,
        stuck_after: args.stuck_after,
        max_unread: args.max_unread,
        timeout: Some(args.timeout).filter(|t| !t.is_zero()),
        follow: args.follow.job(),
    })
}

fn watch(
    shared: &SharedArgs,
    args: &WatchArgs,
    terminal: Terminal,
    warnings: &mut Vec<String>,
) -> Result<(WatchJob, Format), Error> {
    let (screen, format) = match shared.format_arg() {
        // Built without the live screen, a terminal gets the records too.
        None if terminal.stdout_is_terminal && cfg!(feature = "tui") => (true, Format::Table),
        None => (false, Format::Plain),
        Some(FormatArg::Screen | FormatArg::Table) => (true, Format::Table),
        Some(FormatArg::Plain) => (false, Format::Plain),
        Some(FormatArg::Json) => (false, Format::Json),
        Some(other) => {
            return Err(Error::Usage(format!(
                "--format {}: watch takes screen, plain or json",
                other.name()
            )));
        }
    };
    if screen && !cfg!(feature = "tui") {
        return Err(Error::Usage(
            "--format screen: this sockscope was built without the live screen (the tui feature); use --format plain or json".into(),
        ));
    }
    if screen && !terminal.stdout_is_terminal {
        return Err(Error::Usage(
            "--format screen needs a terminal; use --format plain or json when piped".into(),
        ));
    }
    let mut scope = shared.scope();
    // A plain record names no culprit: walking every fd table for it would be wasted.
    scope.no_processes |= format == Format::Plain;
    let plan = Plan {
        diagnose: true,
        // Every refresh compares with the one before (the two-run rules from the second).
        history: Some(History {
            previous: None,
            stuck_after: args.stuck_after.as_secs(),
        }),
        // The screen shows how old the oldest CLOSE_WAIT and FIN_WAIT2 are.
        ages: StateSet::of(&[TcpState::CloseWait, TcpState::FinWait2]),
        ..Plan::default()
    };
    let config = forgiving_config(shared, warnings);
    let job = WatchJob {
        request: request(scope, plan, config),
        screen,
        interval: args.interval,
        count: args.count,
        all_states: args.all_states,
        follow: args.flows.job(),
    };
    Ok((job, format))
}

#[cfg(feature = "serve")]
fn serve(shared: &SharedArgs, args: &ServeArgs) -> Result<ServeJob, Error> {
    // Everything that can be wrong with the command line or the files fails here, before
    // anything listens.
    let config = config::load(shared.config.as_deref())?;
    let web = match &args.web_config {
        Some(path) => WebConfig::load(path)?,
        None => WebConfig::default(),
    };
    // What serve answers is the scraper's to choose (the Accept header), and every state is
    // always exported: options that would be ignored or leave series out are refused.
    if let Some(format) = shared.format_arg() {
        return Err(Error::Usage(format!(
            "--format {}: serve answers in the Prometheus text format, or OpenMetrics when the \
             scraper's Accept header asks for it; drop --format",
            format.name()
        )));
    }
    if !shared.filter.states.is_empty() {
        return Err(Error::Usage(
            "--state: serve exports every state, zeros included, so alert rules never meet a \
             missing series; select states in the query (sockscope_sockets{state=\"close_wait\"})"
                .into(),
        ));
    }
    if args.max_connections == 0 {
        return Err(Error::Usage("--max-connections must be at least 1".into()));
    }
    let plan = Plan {
        diagnose: true,
        ranges: true,
        // With --by-process, every matching socket's owner, in the findings' walk.
        owners: if args.by_process {
            OwnerPlan::Also(StateSet::ALL)
        } else {
            OwnerPlan::Findings
        },
        history: Some(History {
            previous: None,
            stuck_after: args.stuck_after.as_secs(),
        }),
        // sockscope_close_wait_oldest_seconds, from tcp_info.
        ages: StateSet::one(TcpState::CloseWait),
        ..Plan::default()
    };
    Ok(ServeJob {
        request: request(shared.scope(), plan, config),
        listen: args.listen,
        min_interval: args.min_interval,
        max_series: args.max_series,
        by_process: args.by_process,
        web,
        read_timeout: args.read_timeout,
        write_timeout: args.write_timeout,
        max_connections: args.max_connections,
        otlp: args
            .otlp_endpoint
            .as_deref()
            .map(|url| otlp(url, args.otlp_interval))
            .transpose()?,
        follow: args.flows.job(),
    })
}

impl Cli {
    /// For `check`, the format its UNKNOWN must be said in, as far as it can be told (text
    /// when the format itself was the mistake); `None` for the other commands.
    pub fn check_format(&self) -> Option<Format> {
        matches!(self.command, Some(Command::Check(_)))
            .then(|| self.shared.check_format().unwrap_or(Format::Text))
    }

    /// For `check`, the `--textfile` its UNKNOWN must replace, when lowering fails (a broken
    /// configuration) before there is a job to carry it.
    pub fn check_textfile(&self) -> Option<&std::path::Path> {
        match &self.command {
            Some(Command::Check(args)) => args.textfile.as_deref(),
            _ => None,
        }
    }
}

impl FormatArg {
    pub(super) fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

impl TopArgs {
    /// The scope of `top`: grouping by namespace or container sweeps every namespace unless
    /// one was chosen.
    fn scope(&self, shared: &SharedArgs) -> Scope {
        let mut scope = shared.scope();
        let by_netns = self
            .by
            .iter()
            .any(|k| matches!(k, GroupKey::Netns | GroupKey::Container));
        if by_netns && scope.namespaces == Namespaces::Own && shared.source.pid.is_none() {
            scope.namespaces = Namespaces::All;
        }
        scope
    }

    /// The grouping keys, each once, in the order given; by process when none.
    fn keys(&self) -> Vec<report::GroupKey> {
        let mut keys = Vec::new();
        for &key in &self.by {
            let key = report::GroupKey::from(key);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            keys.push(report::GroupKey::Process);
        }
        keys
    }
}

impl From<GroupKey> for report::GroupKey {
    fn from(key: GroupKey) -> report::GroupKey {
        match key {
            GroupKey::Process => report::GroupKey::Process,
            GroupKey::LocalPort => report::GroupKey::LocalPort,
            GroupKey::RemotePort => report::GroupKey::RemotePort,
            GroupKey::Peer => report::GroupKey::Peer,
            GroupKey::Uid => report::GroupKey::Uid,
            GroupKey::Netns => report::GroupKey::Netns,
            GroupKey::Container => report::GroupKey::Container,
        }
    }
}

impl From<SortKey> for report::SortKey {
    fn from(key: SortKey) -> report::SortKey {
        match key {
            SortKey::State => report::SortKey::State,
            SortKey::Local => report::SortKey::Local,
            SortKey::Peer => report::SortKey::Peer,
            SortKey::Rx => report::SortKey::Rx,
            SortKey::Tx => report::SortKey::Tx,
            SortKey::None => report::SortKey::None,
        }
    }
}
