//! The integration tests: one binary, a module per area. They run the real `sockscope` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod awk;
mod bad_input;
mod check;
mod completions;
mod containers;
mod diagnostics;
mod docs;
mod golden;
mod live;
mod netns;
mod owners;
mod state;
mod util;
