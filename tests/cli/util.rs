use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The binary, run from the crate root so fixture paths (and what the output says of them)
/// are the same on every checkout.
pub fn sockscope() -> Command {
    let mut cmd = Command::cargo_bin("sockscope").expect("binary built by cargo test");
    cmd.current_dir(root()).env_remove("NO_COLOR");
    cmd
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture directory, relative to the crate root.
pub fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures").join(name)
}

/// Scenarios whose every line is well-formed.
pub const CLEAN_SCENARIOS: &[&str] = &["loopback-mix", "ipv4-only", "empty", "odd-states"];

pub fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("sockscope runs");
    assert!(
        output.status.success(),
        "sockscope failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
