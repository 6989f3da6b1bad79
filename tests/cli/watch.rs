//! `sockscope watch` when not on a terminal: one record per refresh, over fixtures and over
//! real loopback sockets whose CLOSE_WAIT count rises between refreshes. (The screen itself
//! has golden files beside `src/commands/watch/tests.rs`, and tests/tmux.sh drives it in a
//! real terminal.)

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::Stdio;

use crate::util::{close_wait_on, fixture, fresh_listener, sockscope, stdout_of};

fn records(args: &[&str]) -> Vec<String> {
    let out = stdout_of(
        sockscope()
            .args(["watch", "--proc-root"])
            .arg(fixture("loopback-mix"))
            .args(["-n", "0.1"])
            .args(args),
    );
    out.lines().map(str::to_string).collect()
}

#[test]
fn piped_watch_prints_a_timestamped_line_per_refresh() {
    // Faster than once a second: the times (to the millisecond) still tell the records apart.
    let lines = records(&["--count", "3"]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let times: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    for t in &times {
        assert!(
            t.len() == 24 && t.ends_with('Z') && t.as_bytes()[19] == b'.',
            "{t}"
        );
    }
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let fields: Vec<&str> = lines[0].split(' ').collect();
    let summary = stdout_of(
        sockscope()
            .arg("--proc-root")
            .arg(fixture("loopback-mix"))
            .args(["--format", "plain"]),
    );
    // The same non-zero states as the summary's plain lines, as STATE=COUNT.
    let expected: Vec<String> = summary.lines().map(|l| l.replace(' ', "=")).collect();
    let states: Vec<&str> = fields[2..]
        .iter()
        .copied()
        .filter(|f| !f.starts_with("findings="))
        .collect();
    assert_eq!(states, expected);
    assert!(fields[1].starts_with("total="), "{}", lines[0]);
    // No socket changed between the two refreshes: the same counts, no deltas. (Findings may
    // differ: the two-run rules, such as a stalled accept queue, start with the second.)
    let counts = |line: &str| -> Vec<String> {
        line.split(' ')
            .skip(1)
            .filter(|f| !f.starts_with("findings="))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(counts(&lines[0]), counts(&lines[1]));
    assert!(!lines[1].contains('('), "{}", lines[1]);
}

#[test]
fn json_records_are_the_summary_document_plus_delta() {
    let lines = records(&["--json", "--count", "2"]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let docs: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: serde_json::Value = serde_json::from_str(&stdout_of(
        sockscope()
            .arg("--proc-root")
            .arg(fixture("loopback-mix"))
            .arg("--json"),
    ))
    .unwrap();
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let mut with_delta = keys(&summary);
    with_delta.push("delta".into());
    with_delta.sort();
    for doc in &docs {
        let mut k = keys(doc);
        k.sort();
        assert_eq!(k, with_delta);
        assert_eq!(doc["states"], summary["states"]);
    }
    // The first refresh judges as the summary does; the two-run rules (a stalled accept
    // queue) may join from the second.
    assert_eq!(docs[0]["findings"], summary["findings"]);
    assert!(docs[0]["delta"].is_null());
    let delta = docs[1]["delta"].as_object().unwrap();
    assert_eq!(delta.len(), 11);
    assert!(delta.values().all(|d| d == 0), "{delta:?}");
}

#[test]
fn bad_watch_arguments_exit_2_and_say_why() {
    // Piped, the screen needs a terminal; a build without it says so first.
    let no_screen = if cfg!(feature = "tui") {
        "needs a terminal"
    } else {
        "built without the live screen (the tui feature)"
    };
    for (args, says) in [
        (&["-n", "0"][..], "at least 0.1s"),
        (&["--count", "0"][..], "--count"),
        (&["--format", "screen"][..], no_screen),
    ] {
        let out = sockscope().arg("watch").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// Three refreshes half a second apart over this process's own port: one CLOSE_WAIT socket
/// before the first, two more opened as soon as the first record is read (a millisecond's
/// work), so the third refresh (a second later) sees three and says by how much it rose.
#[test]
fn live_close_wait_rises_between_refreshes() {
    let listener = fresh_listener(Ipv4Addr::LOCALHOST.into()).expect("a loopback listener");
    let port = listener.local_addr().unwrap().port().to_string();
    let mut held = close_wait_on(&listener, 1);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
        .args(["watch", "--format", "plain", "--count", "3", "-n", "0.5"])
        .args(["--sport", &port, "--state", "close-wait"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    held.extend(close_wait_on(&listener, 2));
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success());
    // Then, while destroy events are followed (as root), the rates of this port's closes.
    let counts: Vec<&str> = first.split(' ').skip(1).take(3).collect();
    assert_eq!(counts[..2], ["total=1", "CLOSE_WAIT=1"], "{first}");
    assert!(
        counts.get(2).is_none_or(|f| f.starts_with("closed=")),
        "{first}"
    );
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(rest[1].contains(" CLOSE_WAIT=3"), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains(" CLOSE_WAIT=3(+2)")),
        "{rest:?}"
    );
    drop(held);
}
