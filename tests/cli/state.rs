//! `check --state-file`: what needs two runs. Counters that move, go backwards or restart with a
//! reboot; sockets that stay in CLOSE_WAIT; --renotify and the recovery notice; bad state files;
//! concurrent runs.

use std::fs;
use std::path::Path;

use crate::util::scenario::{CLOSE_WAIT, ESTABLISHED, Scenario, sock};
use crate::util::{finding_ids, run_check, sockscope};

fn run(root: &Path, state: &Path, extra: &[&str]) -> (i32, String, serde_json::Value) {
    let mut args = vec!["--format", "json", "--state-file", state.to_str().unwrap()];
    args.extend(extra);
    let run = run_check(root, &args);
    (run.code, run.stderr.clone(), run.json())
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    finding_ids(v).into_iter().map(|(id, _)| id).collect()
}

fn counters(root: &Path, overflows: u64, out_segs: u64, retrans: u64) {
    fs::write(
        root.join("net/netstat"),
        format!("TcpExt: ListenOverflows ListenDrops\nTcpExt: {overflows} {overflows}\n"),
    )
    .unwrap();
    fs::write(
        root.join("net/snmp"),
        format!("Tcp: OutSegs RetransSegs EstabResets\nTcp: {out_segs} {retrans} 0\n"),
    )
    .unwrap();
}

fn boot(root: &Path, id: &str) {
    fs::create_dir_all(root.join("sys/kernel/random")).unwrap();
    fs::write(root.join("sys/kernel/random/boot_id"), format!("{id}\n")).unwrap();
}

#[test]
fn counter_rates_resets_and_reboots() {
    let dir = Scenario::new().write();
    let root = dir.path();
    let state = root.join("state.json");
    boot(root, "boot-a");
    counters(root, 10, 100_000, 0);
    let (code, _, v) = run(root, &state, &[]);
    assert_eq!(code, 0);
    assert!(v["notes"][0].as_str().unwrap().contains("first run"), "{v}");

    // Overflows and retransmissions since the last run: rate findings.
    counters(root, 15, 120_000, 300);
    let (code, _, v) = run(root, &state, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(ids(&v).contains(&"listen_overflows".to_string()), "{v}");
    assert!(ids(&v).contains(&"retransmission_rate".to_string()), "{v}");

    // A counter going backwards is a reset: no finding, a note, no huge rate.
    counters(root, 3, 130_000, 300);
    let (code, _, v) = run(root, &state, &[]);
    assert_eq!(code, 0, "{v}");
    assert!(v["notes"].to_string().contains("went backwards"), "{v}");

    // A new boot id: rates are skipped altogether.
    boot(root, "boot-b");
    counters(root, 500, 10, 0);
    let (code, _, v) = run(root, &state, &[]);
    assert_eq!(code, 0, "{v}");
    assert!(v["notes"].to_string().contains("rebooted"), "{v}");
}

fn leak(n: usize) -> Scenario {
    leak_by(4242, "java", n)
}

/// `n` CLOSE_WAIT sockets on :8080 held by process `pid` called `comm`.
fn leak_by(pid: u32, comm: &'static str, n: usize) -> Scenario {
    Scenario::new().owned_by(pid, comm, n, |i| {
        let mut s = sock(CLOSE_WAIT);
        s.rx = 1;
        ("10.0.0.1:8080".into(), format!("10.0.0.5:{}", 50000 + i), s)
    })
}

/// `n` more ESTABLISHED sockets, for a state range to judge.
fn established(scenario: Scenario, n: usize) -> Scenario {
    scenario.many(n, |i| {
        (
            "10.0.0.1:443".into(),
            format!("10.0.0.7:{}", 40000 + i),
            sock(ESTABLISHED),
        )
    })
}

/// `check --renotify 1d` over `scenario` with the state file `state`, as cron runs it: the
/// exit code and what would be mailed.
fn cron(state: &Path, scenario: &Scenario, extra: &[&str]) -> (i32, String) {
    let tree = scenario.write();
    let out = sockscope()
        .args(["check", "--renotify", "1d", "--state-file"])
        .arg(state)
        .arg("--proc-root")
        .arg(tree.path())
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// Moves the first sightings the state file records `secs` into the past: the test's stand-in
/// for waiting that long between two runs.
fn seen_earlier(state: &Path, secs: u64) {
    let mut saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(state).unwrap()).unwrap();
    for seen in saved["close_wait"].as_object_mut().unwrap().values_mut() {
        *seen = (seen.as_u64().unwrap() - secs).into();
    }
    fs::write(state, saved.to_string()).unwrap();
}

/// Against the default --stuck-after (5m), with the first sightings moved back rather than
/// waited for.
#[test]
fn close_wait_sockets_that_stay_are_stuck() {
    let dir = leak(3).write();
    let state = dir.path().join("state.json");
    let (code, _, v) = run(dir.path(), &state, &[]);
    assert_eq!((code, ids(&v)), (0, vec![]));
    seen_earlier(&state, 4 * 60);
    let (code, _, v) = run(dir.path(), &state, &[]);
    assert_eq!((code, ids(&v)), (0, vec![]), "4 minutes are not 5");
    seen_earlier(&state, 2 * 60);
    let (code, _, v) = run(dir.path(), &state, &[]);
    assert_eq!(code, 1, "{v}");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "close_wait_stuck")
        .unwrap()
        .clone();
    assert_eq!(f["evidence"][0]["sockets"], 3);
    assert!(
        f["culprits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["pid"] == 4242),
        "{f}"
    );
}

/// Rewrites the state file's `field` (a number, or every value of a map) with `value`.
fn craft(state: &Path, field: &str, value: u64) {
    let mut saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(state).unwrap()).unwrap();
    match saved[field].as_object_mut() {
        Some(map) => map.values_mut().for_each(|v| *v = value.into()),
        None => saved[field] = value.into(),
    }
    fs::write(state, saved.to_string()).unwrap();
}

/// A run with the clock at 1970 (no clock battery, before NTP), then one with the real time:
/// no socket is "stuck for 1796606510 s", and the notes say why nothing was compared.
#[test]
fn a_state_file_from_a_clock_decades_behind_gives_no_absurd_ages() {
    let dir = leak(3).write();
    let state = dir.path().join("state.json");
    let (code, _, _) = run(dir.path(), &state, &[]);
    assert_eq!(code, 0);
    craft(&state, "written_at", 100);
    craft(&state, "written_at_ms", 100_000);
    craft(&state, "close_wait", 40);
    let (code, _, v) = run(dir.path(), &state, &[]);
    assert_eq!((code, ids(&v)), (0, vec![]), "{v}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("more than a year: a clock that was wrong then")
            && notes.contains("or a file left unused): starting afresh"),
        "{notes}"
    );

    // A file whose own time is right but which kept a 1970 sighting (written by an earlier
    // version after the clock was fixed): that socket counts from now.
    craft(&state, "close_wait", 40);
    let (code, _, v) = run(dir.path(), &state, &[]);
    assert_eq!((code, ids(&v)), (0, vec![]), "{v}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains(
            "3 first sightings in the state file are after it was written or more than a year old"
        ),
        "{notes}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    let written = saved["written_at"].as_u64().unwrap();
    let seen: Vec<u64> = saved["close_wait"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(seen, vec![written; 3], "{saved}");
}

#[test]
fn renotify_speaks_once_and_says_when_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let bad = leak(30).write();
    let good = Scenario::new().write();
    let text = |root: &Path| {
        let out = sockscope()
            .args(["check", "--renotify", "1h", "--state-file"])
            .arg(&state)
            .arg("--proc-root")
            .arg(root)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let (code, out) = text(bad.path());
    assert_eq!(code, 1);
    assert!(out.starts_with("SOCKSCOPE WARNING - "), "{out}");
    let (code, out) = text(bad.path());
    assert_eq!(
        (code, out.as_str()),
        (1, ""),
        "an unchanged problem is not mailed again"
    );
    let (code, out) = text(good.path());
    assert_eq!(code, 0);
    assert!(
        out.starts_with("SOCKSCOPE OK - recovered (was WARNING)"),
        "{out}"
    );
    let (code, out) = text(good.path());
    assert_eq!((code, out.as_str()), (0, ""), "recovery is said once");
}

/// With `--renotify`, a problem that changed is news although the status word did not: a new
/// finding, another program behind it (by name: a restart under a new pid is not news).
#[test]
fn renotify_speaks_again_for_a_new_finding_or_another_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (code, out) = cron(&state, &leak(30), &[]);
    assert_eq!(code, 1);
    assert!(out.starts_with("SOCKSCOPE WARNING - "), "{out}");
    assert_eq!(
        cron(&state, &leak(30), &[]),
        (1, String::new()),
        "unchanged"
    );
    assert_eq!(
        cron(&state, &leak_by(4343, "java", 30), &[]),
        (1, String::new()),
        "java restarted: the same program under a new pid"
    );
    let (code, out) = cron(&state, &leak_by(5151, "python3", 30), &[]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("SOCKSCOPE WARNING - ") && out.contains("python3"),
        "another program holds them now: {out}"
    );
    assert_eq!(
        cron(&state, &leak_by(5151, "python3", 30), &[]),
        (1, String::new())
    );
    // A second problem while the status stays WARNING.
    let both = established(leak_by(5151, "python3", 30), 5);
    let (code, out) = cron(&state, &both, &["--warn", "established=3"]);
    assert_eq!(code, 1);
    assert!(out.contains("state_count"), "a new finding: {out}");
    assert_eq!(
        cron(&state, &both, &["--warn", "established=3"]),
        (1, String::new())
    );
}

/// A finding that got worse is news although the status was CRITICAL before and after; one
/// that eased and came back to where it was said is not.
#[test]
fn renotify_speaks_again_when_a_finding_gets_worse() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    // CLOSE_WAIT is CRITICAL throughout; ESTABLISHED goes from WARNING to CRITICAL.
    let ranges = [
        "--crit",
        "close-wait=20",
        "--warn",
        "established=3",
        "--crit",
        "established=10",
    ];
    let warning = established(leak(30), 5);
    let critical = established(leak(30), 12);
    let (code, out) = cron(&state, &warning, &ranges);
    assert_eq!(code, 2);
    assert!(out.starts_with("SOCKSCOPE CRITICAL - "), "{out}");
    assert_eq!(cron(&state, &warning, &ranges), (2, String::new()));
    let (code, out) = cron(&state, &critical, &ranges);
    assert_eq!(code, 2);
    assert!(
        out.starts_with("SOCKSCOPE CRITICAL - ") && out.contains("state_count"),
        "ESTABLISHED rose to CRITICAL: {out}"
    );
    assert_eq!(cron(&state, &critical, &ranges), (2, String::new()));
    assert_eq!(
        cron(&state, &warning, &ranges),
        (2, String::new()),
        "easing is not news"
    );
    assert_eq!(
        cron(&state, &critical, &ranges),
        (2, String::new()),
        "back to what was said"
    );
}

/// A state file written before --renotify remembered findings still loads and keeps its
/// promise: an upgrade mails nothing new.
#[test]
fn renotify_reads_state_files_of_earlier_versions() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    assert_eq!(cron(&state, &leak(30), &[]).0, 1);
    let mut saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved.get("notified_findings").is_some(), "{saved}");
    saved.as_object_mut().unwrap().remove("notified_findings");
    fs::write(&state, saved.to_string()).unwrap();
    assert_eq!(cron(&state, &leak(30), &[]), (1, String::new()));
    // What this run said is remembered from now on.
    let (code, out) = cron(&state, &leak_by(5151, "python3", 30), &[]);
    assert_eq!(code, 1);
    assert!(out.contains("python3"), "{out}");
}

/// An alert that could not be written (a full disk, a closed pipe) was not said: the next run
/// says it, instead of keeping quiet for the renotify period.
#[test]
fn an_alert_that_was_not_delivered_is_said_again() {
    if !Path::new("/dev/full").exists() {
        return crate::util::skip("no /dev/full here");
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let bad = leak(30).write();
    let check = |stdout: std::process::Stdio| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
            .args(["check", "--renotify", "1d", "--state-file"])
            .arg(&state)
            .arg("--proc-root")
            .arg(bad.path())
            .stdout(stdout)
            .output()
            .unwrap()
    };
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let lost = check(full.into());
    assert_eq!(lost.status.code(), Some(3), "a failed output is UNKNOWN");
    let again = check(std::process::Stdio::piped());
    let out = String::from_utf8(again.stdout).unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(
        out.starts_with("SOCKSCOPE WARNING - "),
        "said again: {out:?}"
    );
    // Delivered once, it is quiet for the period.
    let quiet = check(std::process::Stdio::piped());
    assert_eq!(String::from_utf8(quiet.stdout).unwrap(), "");
}

#[test]
fn bad_state_files_are_replaced_or_unknown() {
    let dir = Scenario::new().write();
    let state = dir.path().join("state.json");
    for content in [
        "",
        "{\"tool\":\"sockscope\",\"sche",
        "{\"tool\":\"other\"}",
        "{\"tool\":\"sockscope\",\"schema\":9}",
    ] {
        fs::write(&state, content).unwrap();
        let (code, stderr, v) = run(dir.path(), &state, &[]);
        assert_eq!(code, 0, "{content:?}: {v}");
        assert!(
            stderr.contains("sockscope: warning:"),
            "{content:?}: {stderr}"
        );
        let saved: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
        assert_eq!(saved["tool"], "sockscope", "replaced by a good file");
    }
    // A directory, or a place that cannot be written: UNKNOWN, naming the path and why.
    let nagios = |state: &Path| {
        let out = sockscope()
            .args(["check", "--format", "nagios", "--state-file"])
            .arg(state)
            .arg("--proc-root")
            .arg(dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let (code, out) = nagios(dir.path());
    assert_eq!(code, 3);
    assert_eq!(out.lines().count(), 1, "one status line only: {out}");
    assert!(
        out.starts_with("SOCKSCOPE UNKNOWN - cannot read")
            && out.contains("is a directory, not a regular file"),
        "{out}"
    );
    let (code, out) = nagios(Path::new("/nonexistent/dir/state.json"));
    assert_eq!(code, 3);
    assert!(out.contains("/nonexistent/dir/state.json"), "{out}");
}

#[test]
fn concurrent_runs_lose_nothing() {
    let dir = Scenario::new().write();
    let state = dir.path().join("state.json");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (root, state) = (dir.path().to_path_buf(), state.clone());
            std::thread::spawn(move || run(&root, &state, &[]).0)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 0);
    }
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        saved["history"]["LISTEN"].as_array().unwrap().len(),
        4,
        "every run recorded: {saved}"
    );
}

/// cron's first run on a new host: the state file's directory was never made. The message
/// names the file asked for and the directory that is missing (not the lock file), and says how
/// to make it; the textfile's the same. A file where a directory should be is named too.
#[test]
fn a_missing_state_directory_is_named_with_the_file() {
    let dir = leak(0).write();
    let base = dir.path().join("spool");
    for flag in ["--state-file", "--textfile"] {
        let file = base.join("sockscope/s.json");
        let run = run_check(dir.path(), &[flag, file.to_str().unwrap()]);
        assert_eq!(run.code, 3, "{flag}: {}", run.stdout);
        let said = format!(
            "cannot write '{}': directory '{}' does not exist (mkdir -p '{}' creates it)",
            file.display(),
            base.display(),
            base.join("sockscope").display()
        );
        assert!(run.stdout.contains(&said), "{flag}: {}", run.stdout);
        assert!(!run.stdout.contains(".lock"), "{flag}: {}", run.stdout);
    }
    fs::write(&base, "").unwrap();
    let file = base.join("s.json");
    let run = run_check(dir.path(), &["--state-file", file.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let said = format!(
        "cannot write '{}': '{}' is not a directory",
        file.display(),
        base.display()
    );
    assert!(run.stdout.contains(&said), "{}", run.stdout);
}
