//! What a command found, ready to render: the counts, the findings and how they were collected.
//! Renderers read only this; they never touch the system.

use std::time::SystemTime;

use serde::Serialize;

use crate::cli::GroupKey;
use crate::collect::Collection;
use crate::collect::owners::{Attribution, Owners};
use crate::group::Group;
use crate::model::{Socket, Tally};

#[derive(Debug, Clone)]
pub struct Report {
    pub collected_at: SystemTime,
    pub tally: Tally,
    /// The filter as a person reads it (`state close-wait, port 5432`); empty when none.
    pub filter: String,
    pub findings: Vec<Finding>,
    pub diagnostics: Diagnostics,
    pub collection: Collection,
}

/// How the diagnostics ran: what they could not check, and how far owners were found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// False for `--format plain`, which only counts.
    pub ran: bool,
    pub rules: usize,
    /// Rules that lacked an input: (id, why).
    pub skipped: Vec<(&'static str, String)>,
    /// Context files and sysctls that could not be read: (path, why).
    pub context_missing: Vec<(std::path::PathBuf, String)>,
    /// Present when processes were looked up for the findings.
    pub attribution: Option<Attribution>,
    /// `--no-processes` was given.
    pub processes_skipped: bool,
}

/// `sockscope list`: the matching sockets, sorted, and who holds them.
#[derive(Debug, Clone)]
pub struct SocketList {
    pub collected_at: SystemTime,
    pub sockets: Vec<Socket>,
    /// Present with `--processes`.
    pub owners: Option<(Owners, Attribution)>,
    /// Show timers and retransmits (`-o`).
    pub timers: bool,
    pub filter: String,
    pub collection: Collection,
}

/// `sockscope top`: groups of sockets, largest first.
#[derive(Debug, Clone)]
pub struct TopReport {
    pub collected_at: SystemTime,
    pub by: Vec<GroupKey>,
    /// Sockets that matched the filters (the denominator of each share).
    pub total: u64,
    /// The largest groups, up to the limit.
    pub groups: Vec<Group>,
    /// Groups left out by the limit: how many, and how many sockets they count.
    pub rest: Option<(u64, u64)>,
    /// Present when grouping by process.
    pub attribution: Option<Attribution>,
    pub filter: String,
    pub collection: Collection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

impl Finding {
    pub fn severity_word(&self) -> &'static str {
        self.severity.word()
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

/// How people read a culprit: `java[4242] holds 298 (61200 of 65536 fds open)`,
/// `port 8080: 300`, `peer 10.0.0.5: 300`, `10.0.0.1 -> 10.0.0.5:5432: 27412`.
impl std::fmt::Display for Culprit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Culprit::Process {
                pid,
                comm,
                count,
                fd_count,
                nofile_soft,
            } => {
                let comm = crate::render::escape::for_terminal(comm);
                match nofile_soft {
                    Some(limit) => {
                        write!(
                            f,
                            "{comm}[{pid}] holds {count} ({fd_count} of {limit} fds open)"
                        )
                    }
                    None => write!(f, "{comm}[{pid}] holds {count} ({fd_count} fds open)"),
                }
            }
            Culprit::LocalPort { port, count } => write!(f, "port {port}: {count}"),
            Culprit::Peer { addr, count } => write!(f, "peer {addr}: {count}"),
            Culprit::Destination {
                local_addr,
                addr,
                port,
                count,
            } => {
                let dst = if addr.contains(':') {
                    format!("[{addr}]:{port}")
                } else {
                    format!("{addr}:{port}")
                };
                match local_addr {
                    Some(local) => write!(f, "{local} -> {dst}: {count}"),
                    None => write!(f, "{dst}: {count}"),
                }
            }
        }
    }
}
