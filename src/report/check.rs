//! `sockscope check`: the monitoring-plugins status, the state ranges it judged, and its notes.

use super::{Finding, Range, Severity, SummaryReport};
use crate::model::{KernelContext, StateSet};

/// The monitoring-plugins status; the discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// This status with something that could not be measured: UNKNOWN, unless a problem was
    /// found in what was (the monitoring plugins' `max_state_alt`: CRITICAL, WARNING,
    /// UNKNOWN, OK).
    pub fn or_unknown(self) -> Status {
        match self {
            Status::Ok => Status::Unknown,
            other => other,
        }
    }

    /// The status of a set of findings; info findings do not change it.
    pub fn of(findings: &[Finding]) -> Status {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Critical) => Status::Critical,
            Some(Severity::Warning) => Status::Warning,
            _ => Status::Ok,
        }
    }
}

/// `close-wait=100`: a state or state group, and a Nagios range for its count.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRange {
    /// The state or group as the command line names it (`close-wait`, `connected`).
    pub name: String,
    pub states: StateSet,
    pub range: Range,
}

impl StateRange {
    /// The label it goes by in perfdata, Prometheus and findings: `close_wait` for one state,
    /// the group name (`connected`) for several.
    pub fn label(&self) -> String {
        let mut states = self.states.states();
        match (states.next(), states.next()) {
            (Some(one), None) => one.name().to_lowercase(),
            _ => self.name.replace('-', "_"),
        }
    }
}

/// The ranges of one local port (config `[ports.N]`): its sockets are judged apart.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRanges {
    pub port: u16,
    pub warn: Option<StateRange>,
    pub crit: Option<StateRange>,
}

/// A port with its own ranges (config `[ports.N]`) and its count in them: its perfdata.
#[derive(Debug, Clone, PartialEq)]
pub struct PortCount {
    pub ranges: PortRanges,
    /// Sockets of the ranges' states on the port; `None` when `--state` left them all out
    /// (not measured).
    pub count: Option<u64>,
}

/// Everything the check renderers need.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub summary: SummaryReport,
    /// The kernel counters (perfdata and Prometheus).
    pub context: KernelContext,
    pub status: Status,
    /// State-file notes: first run, reboot, counter resets, a replaced file.
    pub notes: Vec<String>,
    pub warn: Vec<StateRange>,
    pub crit: Vec<StateRange>,
    /// The states counted: all of them, or those `--state` keeps (perfdata says `U` for the
    /// others).
    pub measured: StateSet,
    /// The ports with their own ranges, counted (perfdata).
    pub ports: Vec<PortCount>,
    /// `--max-unread`: how many namespaces of a sweep may go unread before the status is
    /// UNKNOWN; `None`: no limit.
    pub max_unread: Option<usize>,
    /// Every finding id there is, so each series is present even at 0.
    pub finding_ids: Vec<&'static str>,
    /// Whether the text output speaks this time (`--renotify`).
    pub notice: Notice,
}

impl CheckReport {
    /// Namespaces of the sweep that could not be read.
    pub fn unread(&self) -> usize {
        self.summary.sweep.as_ref().map_or(0, |s| s.unopened.len())
    }

    /// More namespaces went unread than `--max-unread` allows.
    pub fn too_many_unread(&self) -> bool {
        self.max_unread.is_some_and(|max| self.unread() > max)
    }
}

/// What `check`'s text output says this run: the policy of `--renotify` decided it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Notice {
    /// The status and every finding (nothing when all is OK).
    #[default]
    Report,
    /// Nothing: the same problem was said less than a renotify period ago.
    Quiet,
    /// The one line saying the problem cleared; the status it was.
    Recovered(String),
}

/// A check that could not measure or report: the status is UNKNOWN, and this is why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub message: String,
}
