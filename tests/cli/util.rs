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

/// Snapshot settings: timings, clocks, the temp dir `root` (as `[ROOT]`) and process uids (the
/// temp dir's owner, different for root and other users) vary between runs.
pub fn snapshot_settings(root: Option<&Path>) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    if let Some(root) = root {
        let escaped: String = root
            .display()
            .to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '/' {
                    c.to_string()
                } else {
                    format!("\\{c}")
                }
            })
            .collect();
        s.add_filter(&escaped, "[ROOT]");
    }
    s.add_filter(r"in \d+\.\d ms", "in [DURATION] ms");
    s.add_filter(
        r#""duration_ms": [0-9.e-]+"#,
        r#""duration_ms": "[DURATION]""#,
    );
    s.add_filter(
        r#""collected_at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ""#,
        r#""collected_at": "[TIME]""#,
    );
    s.add_filter(r#"("comm": "[^"]*",\s+"uid": )\d+"#, "$1[UID]");
    s.set_prepend_module_to_snapshot(false);
    s
}
