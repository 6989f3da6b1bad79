//! Everything a renderer reads, and nothing that does I/O: the summary, list, top and check
//! reports, findings, attribution and how the sockets were collected. Data only: the wording
//! lives in `render`, and in the rule entries it reads through a finding's [`Facts`].

mod attribution;
mod check;
mod collection;
mod evidence;
mod finding;
pub mod flows;
mod list;
mod namespace;
mod proof;
mod range;
#[cfg(feature = "serve")]
mod scrape;
mod top;
pub mod watch;

use std::time::SystemTime;

pub use attribution::{Attribution, Owners, Process, WalkStats};
pub use check::{CheckReport, Notice, PortCount, PortRanges, StateRange, Status, Unknown};
pub use collection::{Collection, FileStats, Malformation, SkippedLine};
pub use evidence::{ProcessThreads, ThreadGap, ThreadSample, Wait};
pub use finding::{Culprit, Facts, Finding, OperatorRanges, RangeVerdict, Severity};
pub use list::{SocketList, SortKey};
pub use namespace::{
    ContainerRef, NamespaceReport, NetnsKind, NetnsLabel, PodRef, Sweep, Unopened,
};
pub use proof::{
    AgePattern, AgeSince, Ages, Evidence, Gap, PeerHealth, Proof, Runtime, Seen, ThreadGroup,
    ThreadSummary, WaitKind,
};
pub use range::Range;
#[cfg(feature = "serve")]
pub use scrape::{
    AcceptQueue, Breakdown, ExporterStats, OldestCloseWait, PORT_LABELS, PORT_SOCKETS,
    PROCESS_LABELS, PROCESS_SOCKETS, Scrape, ScrapeReport,
};
pub use top::{Group, GroupKey, KeyValue, TopReport};

use crate::model::Tally;

/// The summary: every socket counted by family and state, and what the rules found.
#[derive(Debug, Clone)]
pub struct SummaryReport {
    pub collected_at: SystemTime,
    pub tally: Tally,
    /// The filter as a person reads it (`state close-wait, port 5432`); empty when none.
    pub filter: String,
    pub findings: Vec<Finding>,
    pub checks: Checks,
    pub collection: Collection,
    /// Every namespace on its own (`--all-netns`, `--netns`); `None` for one namespace read
    /// the classic way.
    pub sweep: Option<Box<Sweep>>,
    /// Connections over time from the kernel's destroy events, when they are followed
    /// (`watch`, `serve`, `--follow`).
    pub flows: Option<Box<flows::FlowReport>>,
}

/// How the rules ran: what they could not check, and how far owners were found.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// False for `--format plain`, which only counts.
    pub ran: bool,
    /// The rules that ran (disabled ones excluded).
    pub rules: usize,
    /// Rules that lacked an input: (id, why).
    pub skipped: Vec<(&'static str, String)>,
    /// Rules that ran on a weaker input and may have missed something: (id, what).
    pub limited: Vec<(&'static str, String)>,
    /// Context files and sysctls that could not be read: (path, why).
    pub context_missing: Vec<(std::path::PathBuf, String)>,
    /// Present when processes were looked up for the findings.
    pub attribution: Option<Attribution>,
    /// `--no-processes` was given.
    pub processes_skipped: bool,
}
