//! What a command asks of the pipeline, lowered once from the command line: which sockets
//! ([`Scope`]), what to do with them ([`Plan`]) and under which thresholds and ranges (the
//! configuration). Data only.

use std::path::PathBuf;
use std::time::Instant;

use super::targets::Namespaces;
use crate::alert::config::Config;
use crate::alert::state::Saved;
use crate::collect::Source;
use crate::filter::Filter;
use crate::model::StateSet;

/// One run of the pipeline, start to finish.
#[derive(Debug, Clone)]
pub struct Request {
    pub scope: Scope,
    pub plan: Plan,
    /// Thresholds, disabled rules, the operator's state ranges.
    pub config: Config,
}

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

/// What a run does beyond counting.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Read the kernel context and run the rules. Without it the run only counts, and
    /// sock_diag skips the states the filter leaves out in the kernel.
    pub diagnose: bool,
    /// Judge the counts against the operator's state ranges (`check`, `serve`).
    pub ranges: bool,
    /// Whose owners the walk of `/proc/*/fd` looks up (never with `--no-processes`).
    pub owners: OwnerPlan,
    /// Walk `/proc/*/fd` on a second thread while the sockets are dumped, in case a finding
    /// needs owners (stopped when none does): the summary, where a person waits. Without it,
    /// the walk runs after the rules, only when a finding asks (`check` from cron).
    pub walk_beside: bool,
    /// Compare with an earlier run (the two-run rules): `check --state-file`, `serve`,
    /// `watch`.
    pub history: Option<History>,
    /// Date these states' sockets (tcp_info) whenever there are any, finding or not: `serve`'s
    /// and `watch`'s oldest CLOSE_WAIT. Findings add the states they are about.
    pub ages: StateSet,
    /// Tell ephemeral local ports apart (`top --by local-port`): the port range is read and
    /// the listeners are seen whatever `--state` asks for ([`super::Finished::local_ports`]).
    pub ephemeral: bool,
    /// The findings' owner walk takes no process after this (`check --timeout`), and says how
    /// many it did not look at: fewer culprits named rather than no report.
    pub walk_deadline: Option<Instant>,
    /// Follow the kernel's destroy events between runs (`watch`, `serve`, `--follow`): the
    /// follower the command keeps.
    pub flows: Option<super::flows::Flows>,
}

/// Which sockets' owners a run looks up. Each run walks `/proc/*/fd` at most once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OwnerPlan {
    /// The sockets behind the findings, and only when a finding wants them named.
    #[default]
    Findings,
    /// Also every matching socket in these states (`watch`'s culprit panel; every state for
    /// `serve --by-process`), in the same walk: [`super::Finished::owners`].
    Also(StateSet),
    /// Every matching socket's, with the walk handed back under way so the caller can sort
    /// its rows meanwhile (`list -p`, `top --by process`): [`super::Finished::walk`].
    Every,
}

/// The earlier run to compare with.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub previous: Option<Saved>,
    /// Seconds a CLOSE_WAIT or held FIN_WAIT2 socket must be seen before it counts as stuck.
    pub stuck_after: u64,
}

impl Request {
    /// Inodes are kept only where they serve: naming holders, or following sockets across
    /// runs.
    pub(super) fn keeps_inodes(&self) -> bool {
        self.plan.diagnose && (!self.scope.no_processes || self.plan.history.is_some())
    }

    /// The states whose matching sockets' owners are wanted besides the findings'.
    pub(super) fn owned_states(&self) -> StateSet {
        match self.plan.owners {
            _ if self.scope.no_processes => StateSet::EMPTY,
            OwnerPlan::Also(states) => states,
            OwnerPlan::Findings | OwnerPlan::Every => StateSet::EMPTY,
        }
    }

    /// Whether the walk runs for every matching socket (asked for by name: `list -p`,
    /// `top --by process`).
    pub(super) fn walks_every(&self) -> bool {
        self.plan.owners == OwnerPlan::Every
    }
}
