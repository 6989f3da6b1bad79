//! Findings: what is wrong, how bad, who is behind it, why and what next. Data only: a rule
//! hands over its typed facts, and the rule's own entry words them ([`Facts`]); the operator's
//! ranges that set a finding's level are data too ([`OperatorRanges`]), worded by `render`.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use serde::Serialize;

use super::{Evidence, Range};
use crate::model::StateSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// The severity a pair of level tests gives: critical wins, `None` when neither holds.
    pub fn from_levels(warn: bool, crit: bool) -> Option<Severity> {
        if crit {
            Some(Severity::Critical)
        } else if warn {
            Some(Severity::Warning)
        } else {
            None
        }
    }

    /// A problem that is at least a warning: critical when `crit` holds.
    pub fn warning_or_critical(crit: bool) -> Severity {
        if crit {
            Severity::Critical
        } else {
            Severity::Warning
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// What one rule saw, typed, and how its entry words it. The facts type lives in the rule's
/// file with its wording; its `#[derive(Serialize)]` is the finding's JSON `evidence`.
pub trait Facts: Numbers + Debug + Send + Sync {
    /// One line: what is wrong, and how much.
    fn title(&self) -> String;
    /// The numbers in sentences: how many, where, who.
    fn summary(&self) -> String;
    /// Most likely first, ranked by the evidence where it can be.
    fn causes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The facts as JSON numbers (from their `Serialize`), and as themselves for tests.
pub trait Numbers {
    fn numbers(&self) -> serde_json::Value;
    #[cfg(test)]
    fn as_any(&self) -> &dyn Any;
}

impl<T: Serialize + Any> Numbers for T {
    fn numbers(&self) -> serde_json::Value {
        // Facts are plain structs with string keys: serializing them cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    #[cfg(test)]
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One diagnosis: what is wrong, the numbers, who is behind it, why, and what to run next.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Stable snake_case id (`close_wait_excess`); never renamed once shipped.
    pub id: &'static str,
    pub severity: Severity,
    /// The numbers, and the thresholds they crossed; worded by the rule's entry.
    pub facts: Arc<dyn Facts>,
    pub next_steps: Vec<String>,
    pub culprits: Vec<Culprit>,
    /// Sockets whose holders would name the culprit processes.
    pub inodes: Vec<u64>,
    /// What the kernel showed behind it in the same run: ages, threads, peers, and what could
    /// not be read.
    pub evidence: Vec<Evidence>,
    /// The operator's ranges for the state the rule explains, when they set its level.
    pub ranges: Option<OperatorRanges>,
    /// In which namespace, by name (`web-frontend`, `default/api-7d9f`, `net:[N]`), when
    /// several were swept.
    pub namespace: Option<String>,
}

impl Finding {
    /// A finding of rule `id` at `severity`, saying `facts`; next steps, culprits and the
    /// sockets behind it are added with the `with_` methods.
    pub fn new(id: &'static str, severity: Severity, facts: impl Facts + 'static) -> Finding {
        Finding {
            id,
            severity,
            facts: Arc::new(facts),
            next_steps: Vec::new(),
            culprits: Vec::new(),
            inodes: Vec::new(),
            evidence: Vec::new(),
            ranges: None,
            namespace: None,
        }
    }

    /// What to run next, in order.
    pub fn with_next_steps(mut self, steps: Vec<String>) -> Finding {
        self.next_steps = steps;
        self
    }

    pub fn with_culprits(mut self, culprits: Vec<Culprit>) -> Finding {
        self.culprits = culprits;
        self
    }

    /// The sockets whose holders would name the culprit processes.
    pub fn with_inodes(mut self, inodes: Vec<u64>) -> Finding {
        self.inodes = inodes;
        self
    }

    /// What the kernel showed behind it.
    pub fn with_evidence(mut self, evidence: Vec<Evidence>) -> Finding {
        self.evidence = evidence;
        self
    }

    /// The facts as their own type, when they are of type `T`.
    #[cfg(test)]
    pub fn facts_as<T: Any>(&self) -> Option<&T> {
        self.facts.as_any().downcast_ref()
    }
}

/// The operator's ranges (`--warn`, `--crit`, `[states]`, `[ports.N]`) for the state a rule
/// explains: they set the finding's level instead of the rule's own thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorRanges {
    pub verdicts: Vec<RangeVerdict>,
    /// Sockets of the state outside every port with ranges, and no range for the whole state:
    /// for those the rule's own judgment still holds.
    pub uncovered: bool,
}

/// One of the operator's ranges judged: a state (or group), on the whole or on one port.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeVerdict {
    /// `close_wait`, or `close_wait_port_5000` on one port.
    pub label: String,
    pub states: StateSet,
    pub port: Option<u16>,
    pub count: u64,
    pub warn: Option<Range>,
    pub crit: Option<Range>,
    /// The level the count is at and the range it is outside; `None` when within them.
    pub outside: Option<(Severity, Range)>,
}

/// Who a finding points at, with how many of the sockets in question it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Culprit {
    Process {
        pid: u32,
        comm: String,
        count: u64,
        /// Open fds of the process, and its RLIMIT_NOFILE soft limit (`null`: unlimited).
        fd_count: u64,
        nofile_soft: Option<u64>,
    },
    LocalPort {
        port: u16,
        count: u64,
    },
    Peer {
        addr: String,
        count: u64,
    },
    /// A remote endpoint, with the local address the connections come from when it matters.
    Destination {
        #[serde(skip_serializing_if = "Option::is_none")]
        local_addr: Option<String>,
        addr: String,
        port: u16,
        count: u64,
    },
}
