//! Bad input gets a clear message naming the file and the documented exit code; never a panic.

use std::process::Stdio;

use predicates::prelude::*;

use crate::util::{fixture, sockscope};

#[test]
fn malformed_lines_are_skipped_counted_and_named_on_stderr() {
    let output = sockscope()
        .arg("--proc-root")
        .arg(fixture("malformed"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8(output.stderr).unwrap();
    for expected in [
        "skipped 'tests/fixtures/malformed/net/tcp' line 3: 2 fields",
        "line 5: state is not a hex code",
        "line 6: address is not 8 hex digits",
        "line 8: state is not a hex code",
        "line 9: inode is not a decimal number",
        "line 11: truncated line",
        "skipped 'tests/fixtures/malformed/net/tcp6' line 3: address is not 32 hex digits",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(v["collection"]["skipped_lines"], 7);
    // The good lines still count: 2 IPv4 listeners + 1 IPv6, 1 ESTABLISHED, 1 CLOSE_WAIT.
    assert_eq!(v["states"]["LISTEN"], 3);
    assert_eq!(v["states"]["ESTABLISHED"], 1);
    assert_eq!(v["states"]["CLOSE_WAIT"], 1);
    assert_eq!(v["total"], 5);
}

#[test]
fn missing_tcp_is_an_error_naming_the_path() {
    sockscope()
        .arg("--proc-root")
        .arg(fixture("no-tcp"))
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "cannot read 'tests/fixtures/no-tcp/net/tcp': no such file or directory",
        ));
}

#[test]
fn missing_tcp6_means_ipv6_is_absent() {
    sockscope()
        .arg("--proc-root")
        .arg(fixture("ipv4-only"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "No tests/fixtures/ipv4-only/net/tcp6: IPv6 is disabled",
        ));
}

#[test]
fn unreadable_tcp_is_an_error_naming_the_path() {
    // A directory where the file should be fails for root and non-root alike.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("net/tcp")).unwrap();
    sockscope()
        .arg("--proc-root")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "net/tcp': is a directory, not a regular file",
        ));
}

#[test]
fn unknown_pid_is_an_error() {
    sockscope()
        .arg("--proc-root")
        .arg(fixture("loopback-mix"))
        .args(["--pid", "999999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no process 999999 under"));
}

#[test]
fn unknown_state_is_a_usage_error_listing_valid_states() {
    sockscope()
        .args(["--state", "half-open"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("invalid value 'half-open'")
                .and(predicate::str::contains("close-wait"))
                .and(predicate::str::contains("connected")),
        );
}

#[test]
fn bad_ports_are_usage_errors() {
    for bad in ["65536", "http", "9-1", "-1"] {
        sockscope()
            .arg(format!("--port={bad}"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("invalid value"));
    }
}

#[test]
fn closed_pipe_exits_quietly() {
    // The read end is closed before sockscope starts, so its first write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
        .current_dir(crate::util::root())
        .args([
            "--proc-root",
            "tests/fixtures/loopback-mix",
            "--format",
            "plain",
        ])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// Tables that had lines and not one socket among them (random bytes, only malformed lines,
/// an empty file, which the kernel never writes) are no machine without sockets: `check` is
/// UNKNOWN and the summary fails, naming the file; never "OK - 0 TCP sockets". So is one such
/// table beside a good one: its family was not read, whatever the other says.
#[test]
fn garbage_tables_are_unknown_never_zero_sockets() {
    let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    let random: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let good_tcp6 = std::fs::read(fixture("loopback-mix").join("net/tcp6")).unwrap();
    let good_tcp = std::fs::read(fixture("loopback-mix").join("net/tcp")).unwrap();
    for (what, garbage) in [
        ("random bytes", random),
        (
            "only malformed lines",
            format!("{header}   0: nonsense\n   1: more nonsense here\n").into_bytes(),
        ),
        ("an empty file", Vec::new()),
    ] {
        for (bad, tcp, tcp6) in [
            ("tcp", &garbage, &header.as_bytes().to_vec()),
            ("tcp", &garbage, &good_tcp6),
            ("tcp6", &good_tcp, &garbage),
        ] {
            let what = format!("{what} in {bad}, beside {} bytes", tcp.len() + tcp6.len());
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("net")).unwrap();
            std::fs::write(dir.path().join("net/tcp"), tcp).unwrap();
            std::fs::write(dir.path().join("net/tcp6"), tcp6).unwrap();
            let out = sockscope()
                .args(["check", "--format", "nagios", "--proc-root"])
                .arg(dir.path())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(3), "{what}: {text}");
            assert!(
                text.starts_with("SOCKSCOPE UNKNOWN - no socket could be read from '")
                    && text.contains(&format!("/net/{bad}'")),
                "{what}: {text}"
            );
            let out = sockscope()
                .args(["--format", "plain", "--proc-root"])
                .arg(dir.path())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{what}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("no socket could be read"),
                "{what}"
            );
        }
    }
    // One bad line among sockets is skipped, and said, in the singular.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("net")).unwrap();
    std::fs::write(
        dir.path().join("net/tcp"),
        [&good_tcp[..], b"junk\n"].concat(),
    )
    .unwrap();
    std::fs::write(dir.path().join("net/tcp6"), &good_tcp6).unwrap();
    let out = sockscope()
        .args(["check", "--format", "nagios", "--proc-root"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("\nNOTE: 1 malformed line in the socket tables was skipped"),
        "{text}"
    );
}
