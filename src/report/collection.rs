//! How sockets were collected: the source, the files read, what was skipped and why. Reported
//! with every result so nothing is hidden.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::Family;

/// What one socket table file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStats {
    pub path: PathBuf,
    pub family: Family,
    /// False when the file does not exist: for tcp6, IPv6 is absent (not an error).
    pub present: bool,
    /// False when the family was filtered out, so the file was not opened.
    pub read: bool,
    pub sockets: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    pub path: PathBuf,
    pub line: u64,
    pub why: Malformation,
}

/// How the sockets were collected: reported with every result so nothing is hidden.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub source: &'static str,
    pub proc_root: PathBuf,
    pub pid: Option<u32>,
    pub netns: Option<String>,
    pub files: Vec<FileStats>,
    pub duration: Duration,
    /// Every socket parsed, before filters (after the kernel's state filter, if it had one).
    pub sockets_seen: u64,
    /// sock_diag was asked for some states only: `sockets_seen` counts those, not the namespace.
    pub states_filtered_in_kernel: bool,
    pub skipped_lines: u64,
    /// Socket lines of the /proc tables that repeat the socket of the line before them (all
    /// but the slot number): a kernel table never does. Counted in the sockets all the same.
    pub repeated_lines: u64,
    /// The first [`SKIPPED_DETAILS`] skipped lines.
    pub skipped: Vec<SkippedLine>,
    /// USER_HZ, the unit of the timer column (`sysconf(_SC_CLK_TCK)`, almost always 100).
    pub clock_ticks: u64,
    /// Why /proc was read when netlink was the default (fallback, --proc-root, --pid).
    pub source_reason: Option<String>,
}

/// Why a line was skipped. Static text only, so the hot loop never formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    FieldCount(usize),
    SlotNumber,
    Address(&'static str),
    AddressLength(Family),
    State,
    Queues,
    Timer,
    Retransmits,
    Uid,
    Probes,
    Inode,
    /// The file ended in the middle of a line: the kernel always ends lines with a newline.
    Truncated,
    /// The file is empty: the kernel always writes the header line, sockets or not.
    Empty,
}

impl fmt::Display for Malformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformation::FieldCount(n) => {
                write!(f, "{n} fields, expected 12 (mini-socket) or at least 17")
            }
            Malformation::SlotNumber => f.write_str("first field is not a slot number like '0:'"),
            Malformation::Address(which) => write!(f, "bad {which} address"),
            Malformation::AddressLength(Family::Ipv4) => {
                f.write_str("address is not 8 hex digits, as tcp (IPv4) writes it")
            }
            Malformation::AddressLength(Family::Ipv6) => {
                f.write_str("address is not 32 hex digits, as tcp6 (IPv6) writes it")
            }
            Malformation::State => f.write_str("state is not a hex code"),
            Malformation::Queues => f.write_str("bad tx_queue:rx_queue field"),
            Malformation::Timer => f.write_str("bad tr:tm->when field"),
            Malformation::Retransmits => f.write_str("bad retrnsmt field"),
            Malformation::Uid => f.write_str("uid is not a decimal number"),
            Malformation::Probes => f.write_str("timeout (probes) is not a decimal number"),
            Malformation::Inode => f.write_str("inode is not a decimal number"),
            Malformation::Truncated => f.write_str("truncated line (no newline at end of file)"),
            Malformation::Empty => {
                f.write_str("empty file: a kernel socket table always starts with its header line")
            }
        }
    }
}
