//! The integration tests: one binary, a module per area. They run the real `sockscope` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod awk;
mod bad_input;
mod check;
mod completions;
mod containers;
mod diagnostics;
mod docs;
mod evidence;
mod evidence_words;
mod flows;
mod golden;
mod hostile;
mod live;
mod netns;
#[cfg(feature = "serve")]
mod otlp;
mod owners;
mod props;
#[cfg(feature = "serve")]
mod serve;
#[cfg(feature = "serve")]
mod slow_clients;
mod state;
mod top;
mod trust;
mod truth;
mod truth_live;
mod util;
mod ux;
mod watch;
