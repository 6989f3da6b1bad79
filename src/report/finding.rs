//! Findings: what is wrong, how bad, who is behind it, why and what next. Data only; the
//! rules build them, the renderers word them.

use serde::Serialize;

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

impl Finding {
    /// The one way to build a finding.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &'static str,
        severity: Severity,
        title: String,
        summary: String,
        evidence: serde_json::Value,
        causes: Vec<String>,
        next_steps: Vec<String>,
        culprits: Vec<Culprit>,
        inodes: Vec<u64>,
    ) -> Finding {
        Finding {
            id,
            severity,
            title,
            summary,
            evidence,
            causes,
            next_steps,
            culprits,
            inodes,
            namespace: None,
        }
    }
}

/// One diagnosis: what is wrong, the numbers, who is behind it, why, and what to run next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable snake_case id (`close_wait_excess`); never renamed once shipped.
    pub id: &'static str,
    pub severity: Severity,
    pub title: String,
    pub summary: String,
    /// The numbers, and the thresholds they crossed.
    pub evidence: serde_json::Value,
    /// Most likely first.
    pub causes: Vec<String>,
    pub next_steps: Vec<String>,
    pub culprits: Vec<Culprit>,
    /// Sockets whose holders would name the culprit processes (not serialized).
    #[serde(skip)]
    pub inodes: Vec<u64>,
    /// In which namespace, by name (`web-frontend`, `default/api-7d9f`, `net:[N]`), when
    /// several were swept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
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
