//! The state file `check` keeps between runs: what the last run saw, so rates, growth and
//! sockets stuck across runs can be judged, and alerts are not repeated.
//!
//! Written atomically (a temp file beside it, then rename) and under an exclusive lock on
//! `PATH.lock`, so two cron runs at once serialize instead of losing an update. A file that
//! cannot be understood (corrupt, truncated, another tool's, a newer schema) is reported and
//! replaced, never a crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::file::{self, Lock, Mode};
use crate::error::Error;

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
    path: PathBuf,
    _lock: Lock,
}

impl StateFile {
    /// Locks the state file (waiting a little for another run) and reads what it holds.
    pub fn open(path: &Path) -> Result<(StateFile, Previous), Error> {
        let lock = file::lock(path, file::LOCK_TIMEOUT)?;
        let previous = match file::read_own(path, file::STATE_LIMIT) {
            Ok(Some(bytes)) => parse(path, &bytes),
            Ok(None) => Previous::Missing,
            Err(e) => return Err(e),
        };
        Ok((
            StateFile {
                path: path.to_path_buf(),
                _lock: lock,
            },
            previous,
        ))
    }

    /// Replaces the file with this run's state, atomically, readable by its owner only.
    pub fn save(&self, state: &Saved) -> Result<(), Error> {
        let mut bytes = serde_json::to_vec(state).map_err(|e| Error::Write {
            path: self.path.clone(),
            source: std::io::Error::from(e),
        })?;
        bytes.push(b'\n');
        file::write_atomic(&self.path, &bytes, Mode::Private)
    }
}

/// The parser as `check` runs it, for the fuzz targets: whether the bytes would be used.
pub fn parse_for_fuzzing(bytes: &[u8]) -> bool {
    matches!(parse(Path::new("state.json"), bytes), Previous::Found(_))
}

fn parse(path: &Path, bytes: &[u8]) -> Previous {
    let shown = path.display();
    if bytes.is_empty() {
        return Previous::Unusable(format!("state file '{shown}' is empty; starting afresh"));
    }
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Previous::Unusable(format!(
                "state file '{shown}' is corrupt or truncated ({e}); starting afresh"
            ));
        }
    };
    if value.get("tool").and_then(|t| t.as_str()) != Some(TOOL) {
        return Previous::Unusable(format!(
            "'{shown}' is not a sockscope state file; replacing it"
        ));
    }
    match value.get("schema").and_then(|s| s.as_u64()) {
        Some(v) if v == u64::from(STATE_SCHEMA) => {}
        Some(v) => {
            return Previous::Unusable(format!(
                "state file '{shown}' has schema {v}, this sockscope reads {STATE_SCHEMA}; starting afresh"
            ));
        }
        None => {
            return Previous::Unusable(format!(
                "state file '{shown}' has no schema; starting afresh"
            ));
        }
    }
    match serde_json::from_value::<Saved>(value) {
        Ok(saved) => Previous::Found(Box::new(saved)),
        Err(e) => Previous::Unusable(format!(
            "state file '{shown}' does not have the expected fields ({e}); starting afresh"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_kind_of_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (file, prev) = StateFile::open(&path).unwrap();
        assert!(matches!(prev, Previous::Missing));
        let mut saved = Saved::new();
        saved.close_wait.insert(42, 1000);
        file.save(&saved).unwrap();
        drop(file);
        let (_, prev) = StateFile::open(&path).unwrap();
        assert!(matches!(prev, Previous::Found(s) if s.close_wait.get(&42) == Some(&1000)));

        for (content, expect) in [
            (&b""[..], "is empty"),
            (b"{\"tool\":\"sockscope\",\"sch", "corrupt or truncated"),
            (b"{\"tool\":\"other\"}", "not a sockscope state file"),
            (b"{\"tool\":\"sockscope\",\"schema\":99}", "has schema 99"),
            (
                b"{\"tool\":\"sockscope\",\"schema\":1,\"history\":5}",
                "expected fields",
            ),
        ] {
            std::fs::write(&path, content).unwrap();
            let (_, prev) = StateFile::open(&path).unwrap();
            match prev {
                Previous::Unusable(why) => assert!(why.contains(expect), "{why}"),
                other => panic!("{other:?} for {content:?}"),
            }
        }
    }
}
