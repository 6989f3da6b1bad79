//! The state file `check` keeps between runs: what the last run saw, so rates, growth and
//! sockets stuck across runs can be judged, and alerts are not repeated.
//!
//! Written atomically (a temp file beside it, then rename) and under an exclusive lock on
//! `PATH.lock`, so two cron runs at once serialize instead of losing an update. The lock, the
//! read and the write all go through one descriptor of its directory (`file::Place`), so they
//! are about the same file however the path is changed meanwhile. A file that
//! cannot be understood (corrupt, truncated, another tool's, a newer schema) is reported and
//! replaced, never a crash.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::file::{self, Lock, Mode, Place};
use crate::error::Error;
use crate::model::TcpState;

pub const STATE_SCHEMA: u32 = 1;
const TOOL: &str = "sockscope";

/// How many past runs are kept per series (growth needs 3, the reset median 7).
pub const HISTORY: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub tool: String,
    pub schema: u32,
    /// Seconds since the Unix epoch.
    pub written_at: u64,
    /// The same in milliseconds, for rates between runs close together.
    #[serde(default)]
    pub written_at_ms: u64,
    pub boot_id: Option<String>,
    /// The network namespace the run compared (its inode), so a run of another namespace does
    /// not read this one's counters as its own. Absent in files of earlier versions.
    #[serde(default)]
    pub netns: Option<u64>,
    /// Counts per state (netstat names), oldest first, the last entry from the last run.
    pub history: BTreeMap<String, Vec<u64>>,
    /// Cumulative kernel counters at the last run.
    pub counters: BTreeMap<String, i64>,
    /// Inodes in CLOSE_WAIT, with when they were first seen (epoch seconds).
    pub close_wait: BTreeMap<u64, u64>,
    /// Inodes in FIN_WAIT2 still held by a process, with when first seen.
    pub fin_wait2: BTreeMap<u64, u64>,
    /// Listeners with connections waiting: address → (queued, first seen with this queue).
    pub accept_queues: BTreeMap<String, (u32, u64)>,
    /// Recent reset rates (per second), oldest first.
    pub reset_rates: Vec<f64>,
    pub last_status: String,
    /// The last status printed in text mode, and when (for --renotify and recovery notices).
    pub notified_status: Option<String>,
    pub notified_at: Option<u64>,
    /// The findings that notification told of, to tell a changed problem from the same one;
    /// `None` in files of earlier versions.
    #[serde(default)]
    pub notified_findings: Option<Vec<Said>>,
}

/// A finding as a notification told of it (`--renotify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    /// The rule.
    pub id: String,
    /// What of it, where one rule fires for several things at once (`state_count`'s range:
    /// `close_wait_port_5000`).
    #[serde(default)]
    pub subject: Option<String>,
    /// Its namespace, in a sweep: the same rule in another namespace is another problem.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `WARNING` or `CRITICAL`.
    pub severity: String,
    /// Its top culprit process, by name (a restart under a new pid is the same program).
    #[serde(default)]
    pub process: Option<String>,
}

impl Saved {
    pub fn new() -> Saved {
        Saved {
            tool: TOOL.into(),
            schema: STATE_SCHEMA,
            ..Saved::default()
        }
    }
}

/// The previous run, or why there is none to use.
#[derive(Debug)]
pub enum Previous {
    Found(Box<Saved>),
    /// First run: no file yet.
    Missing,
    /// A file that could not be used; it will be replaced. The text says why.
    Unusable(String),
}

/// An open state file, locked until dropped.
pub struct StateFile {
    place: Place,
    _lock: Lock,
}

impl StateFile {
    /// Locks the state file (waiting a little for another run) and reads what it holds.
    pub fn open(path: &Path) -> Result<(StateFile, Previous), Error> {
        let place = Place::of(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let lock = file::lock(&place, file::lock_timeout())?;
        let previous = match file::read_own(&place, file::STATE_LIMIT)? {
            Some(bytes) => parse(path, &bytes),
            None => Previous::Missing,
        };
        Ok((StateFile { place, _lock: lock }, previous))
    }

    /// Replaces the file with this run's state, atomically, readable by its owner only.
    pub fn save(&self, state: &Saved) -> Result<(), Error> {
        let mut bytes = serde_json::to_vec(state).map_err(|e| Error::Write {
            path: self.place.path().to_path_buf(),
            source: std::io::Error::from(e),
        })?;
        bytes.push(b'\n');
        file::write(&self.place, &bytes, Mode::Private)
    }
}

/// The parser as `check` runs it, for the fuzz targets: whether the bytes would be used.
pub fn parse_for_fuzzing(bytes: &[u8]) -> bool {
    matches!(parse(Path::new("state.json"), bytes), Previous::Found(_))
}

/// The fields that say whose file it is, read before the rest (other fields are skipped
/// without being kept).
#[derive(Deserialize)]
struct Header {
    tool: Option<serde_json::Value>,
    schema: Option<serde_json::Value>,
}

fn parse(path: &Path, bytes: &[u8]) -> Previous {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    parse_at(path, bytes, now)
}

/// What serde said about a file another user may have written: its words may quote the file,
/// so they are made one printable line.
fn quoted(e: &serde_json::Error) -> String {
    e.to_string()
        .chars()
        .map(|c| {
            if c.is_control() || is_format(c) {
                '?'
            } else {
                c
            }
        })
        .take(200)
        .collect()
}

/// Invisible characters that reorder or hide text (bidi controls, zero-width marks).
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn parse_at(path: &Path, bytes: &[u8], now: u64) -> Previous {
    let shown = path.display();
    if bytes.is_empty() {
        return Previous::Unusable(format!("state file '{shown}' is empty; starting afresh"));
    }
    let header: Header = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Previous::Unusable(format!(
                "state file '{shown}' is corrupt or truncated ({}); starting afresh",
                quoted(&e)
            ));
        }
    };
    if header.tool.as_ref().and_then(|t| t.as_str()) != Some(TOOL) {
        return Previous::Unusable(format!(
            "'{shown}' is not a sockscope state file; replacing it"
        ));
    }
    match header.schema.as_ref().map(|s| s.as_u64()) {
        Some(Some(v)) if v == u64::from(STATE_SCHEMA) => {}
        Some(Some(v)) => {
            return Previous::Unusable(format!(
                "state file '{shown}' has schema {v}, this sockscope reads {STATE_SCHEMA}; starting afresh"
            ));
        }
        _ => {
            return Previous::Unusable(format!(
                "state file '{shown}' has no schema; starting afresh"
            ));
        }
    }
    let saved = match serde_json::from_slice::<Saved>(bytes) {
        Ok(saved) => saved,
        Err(e) => {
            return Previous::Unusable(format!(
                "state file '{shown}' does not have the expected fields ({}); starting afresh",
                quoted(&e)
            ));
        }
    };
    match validate(saved, now) {
        Ok(saved) => Previous::Found(Box::new(saved)),
        Err(why) => Previous::Unusable(format!("state file '{shown}' {why}; starting afresh")),
    }
}

/// How far ahead of this run's clock a time in the file may be (clocks of two runs on one
/// host differ by NTP slews, not more).
pub const CLOCK_SKEW: u64 = 300;
/// Sockets followed per state across runs; the oldest first-seen are kept beyond this.
pub const MAX_TRACKED: usize = 100_000;
/// Kernel counters, listeners and reset rates kept; far above what a kernel has.
const MAX_COUNTERS: usize = 4096;

/// What a planted or stale file must not do: silence alerts with times in the future (a
/// `notified_at` ten years ahead, or a clock stepped back), print what it likes through the
/// statuses, or make later runs keep millions of entries.
fn validate(mut saved: Saved, now: u64) -> Result<Saved, String> {
    let limit = now.saturating_add(CLOCK_SKEW);
    let future = |name: &str, at: u64| -> Result<(), String> {
        if at > limit {
            Err(format!(
                "has {name} {}s in the future (a clock stepped back, or a planted file)",
                at - now
            ))
        } else {
            Ok(())
        }
    };
    future("written_at", saved.written_at)?;
    future("written_at_ms", saved.written_at_ms / 1000)?;
    if let Some(at) = saved.notified_at {
        future("notified_at", at)?;
    }
    for (name, map) in [
        ("close_wait", &saved.close_wait),
        ("fin_wait2", &saved.fin_wait2),
    ] {
        if let Some(&at) = map.values().max() {
            future(name, at)?;
        }
    }
    if let Some(&(_, at)) = saved.accept_queues.values().max_by_key(|(_, at)| *at) {
        future("accept_queues", at)?;
    }
    let known = |s: &str| matches!(s, "OK" | "WARNING" | "CRITICAL" | "UNKNOWN");
    if !(saved.last_status.is_empty() || known(&saved.last_status)) {
        return Err("has an unknown last_status".into());
    }
    if saved.notified_status.as_deref().is_some_and(|s| !known(s)) {
        return Err("has an unknown notified_status".into());
    }
    let said = saved.notified_findings.as_deref().unwrap_or_default();
    if said
        .iter()
        .any(|f| !matches!(f.severity.as_str(), "WARNING" | "CRITICAL"))
    {
        return Err("has a notified finding of an unknown severity".into());
    }
    if saved
        .boot_id
        .as_deref()
        .is_some_and(|b| b.len() > 64 || b.chars().any(|c| c.is_control() || is_format(c)))
    {
        return Err("has a boot_id that is not one".into());
    }
    if saved.reset_rates.iter().any(|r| !r.is_finite() || *r < 0.0) {
        return Err("has a reset rate that is not a number".into());
    }
    if saved.history.len() > TcpState::KNOWN.len()
        || saved.history.values().any(|v| v.len() > HISTORY)
        || saved.counters.len() > MAX_COUNTERS
        || saved.accept_queues.len() > MAX_COUNTERS
        || saved.reset_rates.len() > HISTORY
        || said.len() > MAX_TRACKED
    {
        return Err("holds more entries than sockscope writes".into());
    }
    keep_oldest(&mut saved.close_wait);
    keep_oldest(&mut saved.fin_wait2);
    Ok(saved)
}

/// At most [`MAX_TRACKED`] sockets, the longest-seen first: they are the stuck ones.
pub fn keep_oldest(map: &mut BTreeMap<u64, u64>) {
    if map.len() <= MAX_TRACKED {
        return;
    }
    let mut by_age: Vec<(u64, u64)> = map.iter().map(|(&inode, &at)| (at, inode)).collect();
    by_age.sort_unstable();
    *map = by_age
        .into_iter()
        .take(MAX_TRACKED)
        .map(|(at, inode)| (inode, at))
        .collect();
}

#[cfg(test)]
mod tests;
