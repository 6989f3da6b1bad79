//! Alerting policy over reports: the configuration (thresholds, ranges, disabled rules), the
//! state file and the comparison of two runs, and when to speak again. Pure, except for its
//! file I/O, which all goes through `file`.

pub mod config;
pub mod file;
pub mod history;
mod place;
pub mod renotify;
pub mod state;
