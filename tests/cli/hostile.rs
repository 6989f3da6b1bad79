//! What another user, a broken disk or a crafted tree can put in sockscope's way: FIFOs and
//! devices where files should be, endless files, symlinked or held state locks, planted state,
//! crafted process files, outputs that cannot be written, a refused sock_diag dump, and
//! process names carrying escape sequences. Never a hang, a panic or a misread exit code.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use crate::util::scenario::{CLOSE_WAIT, Scenario, sock};
use crate::util::{fixture, is_root, skip, sockscope};

/// Far above any real run; reached only by a hang, which then fails the test instead of CI.
pub(crate) const HANG: Duration = Duration::from_secs(60);

pub(crate) fn mkfifo(path: &Path) {
    let status = Process::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// A copy of the loopback-mix fixture whose `net/tcp` is replaced by `make(path)`.
fn tree_with_tcp(make: impl Fn(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    fs::create_dir_all(&net).unwrap();
    for entry in fs::read_dir(fixture("loopback-mix").join("net")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), net.join(entry.file_name())).unwrap();
    }
    fs::remove_file(net.join("tcp")).unwrap();
    make(&net.join("tcp"));
    dir
}

fn output(args: &[&str], root: &Path) -> (i32, String, String) {
    let out = sockscope()
        .args(args)
        .arg("--proc-root")
        .arg(root)
        .timeout(HANG)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn socket_tables_that_never_end_are_refused_naming_them() {
    type Make = Box<dyn Fn(&Path)>;
    let cases: [(&str, Make); 4] = [
        ("is a FIFO, not a regular file", Box::new(mkfifo)),
        (
            "is a character device, not a regular file",
            Box::new(|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap()),
        ),
        (
            "is a character device, not a regular file",
            Box::new(|p| std::os::unix::fs::symlink("/dev/urandom", p).unwrap()),
        ),
        (
            "at line 2: line longer than 4096 bytes: not a kernel socket table",
            Box::new(|p| {
                let mut text = b"  sl  local_address\n".to_vec();
                text.resize(8 << 20, b'0');
                fs::write(p, text).unwrap();
            }),
        ),
    ];
    for (why, make) in cases {
        let tree = tree_with_tcp(make);
        let tcp = tree.path().join("net/tcp").display().to_string();
        let (code, out, err) = output(&["summary"], tree.path());
        assert_eq!(code, 2, "{why}: {out}{err}");
        assert!(
            err.contains(&format!("'{tcp}'")) && err.contains(why),
            "{err}"
        );
        let (code, out, _) = output(&["check"], tree.path());
        assert_eq!(code, 3, "{why}: {out}");
        assert!(out.starts_with("SOCKSCOPE UNKNOWN - cannot read"), "{out}");
        assert!(out.contains(why), "{out}");
    }
}

#[test]
fn a_fifo_as_config_or_context_file_does_not_hang() {
    let tree = tree_with_tcp(|p| {
        fs::copy(fixture("loopback-mix").join("net/tcp"), p).unwrap();
    });
    let config = tree.path().join("config.toml");
    mkfifo(&config);
    let (code, out, _) = output(
        &["check", "--config", config.to_str().unwrap()],
        tree.path(),
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("config.toml': is a FIFO, not a regular file"),
        "{out}"
    );

    fs::remove_file(tree.path().join("net/netstat")).unwrap();
    mkfifo(&tree.path().join("net/netstat"));
    let (code, out, err) = output(&["--json"], tree.path());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let missing = v["collection"]["diagnostics"]["context_missing"].to_string();
    assert!(missing.contains("is a FIFO"), "{missing}");
}

fn check_with_state(state: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["check", "--state-file", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    output(&args, &fixture("loopback-mix"))
}

#[test]
fn symlinked_or_fifo_state_and_lock_files_are_unknown_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("owned-by-root");
    let state = dir.path().join("state.json");
    std::os::unix::fs::symlink(&target, dir.path().join("state.json.lock")).unwrap();
    let (code, out, _) = check_with_state(&state, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("state.json.lock': is a symbolic link; refusing to follow it"),
        "{out}"
    );
    assert!(!target.exists(), "the lock created the link's target");

    let fifo_state = dir.path().join("fifo.json");
    mkfifo(&fifo_state);
    let (code, out, _) = check_with_state(&fifo_state, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("fifo.json': is a FIFO, not a regular file"),
        "{out}"
    );
}

/// The 5 s wait is injected as 300ms (its default is a unit test of `alert::file`); the
/// message says how long was really waited.
#[test]
fn a_lock_held_by_another_process_is_unknown_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let held = fs::File::create(dir.path().join("state.json.lock")).unwrap();
    held.lock().unwrap();
    let out = sockscope()
        .args([
            "check",
            "--state-file",
            state.to_str().unwrap(),
            "--proc-root",
        ])
        .arg(fixture("loopback-mix"))
        .env("SOCKSCOPE_TEST_LOCK_TIMEOUT", "300ms")
        .timeout(HANG)
        .output()
        .unwrap();
    let code = out.status.code();
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(code, Some(3), "{out}");
    let prefix = "state.json.lock': another process has held the lock for ";
    let waited: f64 = out
        .split_once(prefix)
        .and_then(|(_, rest)| rest.split_once(" s; giving up"))
        .and_then(|(seconds, _)| seconds.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {out}"));
    assert!((0.3..5.0).contains(&waited), "{out}");
}

#[test]
fn device_nodes_are_never_replaced() {
    if !is_root() {
        return skip("making a device node needs root");
    }
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    let made = Process::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(made.success());
    for flag in ["--textfile", "--state-file"] {
        let (code, out, _) = output(
            &["check", flag, null.to_str().unwrap()],
            &fixture("loopback-mix"),
        );
        assert_eq!(code, 3, "{flag}: {out}");
        assert!(
            out.contains("null': is a character device"),
            "{flag}: {out}"
        );
        use std::os::unix::fs::FileTypeExt;
        let meta = fs::symlink_metadata(&null).unwrap();
        assert!(
            meta.file_type().is_char_device(),
            "{flag} replaced the device"
        );
    }
}

#[test]
fn a_planted_notified_at_does_not_silence_alerts() {
    let tree = Scenario::new()
        .owned_by(4242, "java", 300, |i| {
            (
                "10.0.0.1:8080".into(),
                format!("10.0.0.5:{}", 50000 + i),
                sock(CLOSE_WAIT),
            )
        })
        .write();
    let state = tree.path().join("state.json");
    let run = || {
        output(
            &[
                "check",
                "--state-file",
                state.to_str().unwrap(),
                "--renotify",
                "1h",
            ],
            tree.path(),
        )
    };
    let (code, out, _) = run();
    assert!(code == 1 || code == 2, "{out}");
    let mut saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    // Ten years ahead, with a status that would be printed raw on recovery.
    saved["notified_at"] = (saved["written_at"].as_u64().unwrap() + 315_360_000).into();
    fs::write(&state, saved.to_string()).unwrap();
    let (code2, out, err) = run();
    assert_eq!(code2, code);
    assert!(out.starts_with("SOCKSCOPE "), "alert silenced:\n{out}");
    // 315360000 s, less the seconds between the two runs.
    assert!(err.contains("has notified_at 3153"), "{err}");
    // Rewritten with this run's time, not carried forward.
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&state).unwrap()).unwrap();
    assert!(saved["notified_at"].as_u64() <= saved["written_at"].as_u64());

    saved_status(&state, "\u{1b}]0;owned\u{7}\nCRITICAL");
    let (_, out, err) = run();
    assert!(
        !out.contains('\u{1b}') && !err.contains('\u{1b}'),
        "{out}{err}"
    );
    assert!(err.contains("unknown notified_status"), "{err}");
}

fn saved_status(state: &Path, status: &str) {
    let mut saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(state).unwrap()).unwrap();
    saved["notified_status"] = status.into();
    fs::write(state, saved.to_string()).unwrap();
}

#[test]
fn a_crafted_process_stat_is_unreadable_not_a_panic() {
    let tree = Scenario::new()
        .owned_by(4242, "java", 30, |i| {
            (
                "10.0.0.1:8080".into(),
                format!("10.0.0.5:{}", 50000 + i),
                sock(CLOSE_WAIT),
            )
        })
        .write();
    fs::write(tree.path().join("4242/stat"), "4242 )x(").unwrap();
    let (code, out, err) = output(&["--json"], tree.path());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["collection"]["attribution"]["processes_unreadable"], 1,
        "{out}"
    );
}

#[test]
fn check_exits_unknown_when_its_output_cannot_be_written() {
    let tree = Scenario::new()
        .owned_by(4242, "java", 300, |i| {
            (
                "10.0.0.1:8080".into(),
                format!("10.0.0.5:{}", 50000 + i),
                sock(CLOSE_WAIT),
            )
        })
        .write();
    // A reader that closes the pipe at once: CRITICAL JSON must not turn into 0.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
        .args(["check", "--format", "json", "--proc-root"])
        .arg(tree.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(err.contains("cannot write output"), "{err}");

    // An OK check into a full disk: not the CRITICAL of exit 2.
    if Path::new("/dev/full").exists() {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
            .args(["check", "--format", "nagios", "--proc-root"])
            .arg(fixture("empty"))
            .stdout(full)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(3));
    } else {
        skip("the full-disk half: no /dev/full here");
    }
    // Other commands: a closed pipe is the reader being done.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
        .args(["list", "--proc-root"])
        .arg(tree.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_panic_in_check_is_one_unknown_report() {
    for (format, expect) in [
        ("nagios", "SOCKSCOPE UNKNOWN - internal error at src/"),
        ("json", "\"status\": \"unknown\""),
    ] {
        let out = sockscope()
            .args(["check", "--format", format, "--proc-root"])
            .arg(fixture("loopback-mix"))
            .env("SOCKSCOPE_TEST_FAULT", "panic")
            .timeout(HANG)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{stdout}");
        assert!(stdout.contains(expect), "{stdout}");
        assert!(
            stdout.contains("injected by SOCKSCOPE_TEST_FAULT=panic"),
            "{stdout}"
        );
    }
    let out = sockscope()
        .args(["check", "--format", "nagios", "--proc-root"])
        .arg(fixture("loopback-mix"))
        .env("SOCKSCOPE_TEST_FAULT", "panic")
        .timeout(HANG)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn a_refused_sock_diag_dump_falls_back_to_proc() {
    let run = |source: &str| {
        sockscope()
            .args(["--json", "--no-processes", "--source", source])
            .env("SOCKSCOPE_TEST_FAULT", "netlink-dump")
            .timeout(HANG)
            .output()
            .unwrap()
    };
    let out = run("auto");
    let v: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("netlink sock_diag unavailable") || !Path::new("/proc/net/tcp").exists()
            {
                return skip("no sock_diag socket or no /proc here");
            }
            panic!("auto did not fall back: {err}");
        }
    };
    assert_eq!(out.status.code(), Some(0));
    let c = &v["collection"];
    if c["source"] == "proc"
        && c["source_reason"]
            .as_str()
            .is_some_and(|r| r.contains("unavailable"))
    {
        return skip("sock_diag cannot even be opened here");
    }
    assert_eq!(c["source"], "proc", "{c}");
    assert_eq!(
        c["source_reason"],
        "netlink sock_diag dump failed (permission denied): read /proc instead"
    );
    // Asked for by name, netlink's failure is the answer.
    let out = run("netlink");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("permission denied"));
}

const EVIL: &str = "\u{1b}]0;pwn\u{7}\r\u{9b}31m\u{202e}x";

#[test]
fn process_names_are_escaped_in_every_check_format() {
    let tree = Scenario::new()
        .owned_by(4242, EVIL, 300, |i| {
            (
                "10.0.0.1:8080".into(),
                format!("10.0.0.5:{}", 50000 + i),
                sock(CLOSE_WAIT),
            )
        })
        .write();
    let textfile: PathBuf = tree.path().join("sockscope.prom");
    let raw = |s: &str| s.contains(['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}']);
    for format in ["text", "nagios", "json", "prometheus"] {
        let (code, out, err) = output(
            &[
                "check",
                "--format",
                format,
                "--textfile",
                textfile.to_str().unwrap(),
            ],
            tree.path(),
        );
        assert!(code == 1 || code == 2, "{format}: {out}{err}");
        assert!(!raw(&out) && !raw(&err), "{format}: {out:?}");
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            // Decoded, the name is exact.
            assert!(strings(&v).iter().any(|s| s.contains(EVIL)), "{out}");
            assert!(out.contains("\\u009b31m\\u202ex"), "{out}");
        }
        if format == "prometheus" {
            assert!(
                out.contains(r#"culprit="\\x1b]0;pwn\\x07\\x0d\\x9b31m\\u{202e}x""#),
                "{out}"
            );
        }
    }
    let prom = fs::read_to_string(&textfile).unwrap();
    assert!(!raw(&prom), "{prom:?}");
    let lines = prom.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "sockscope_culprit_sockets")
    );
}

/// Every string in a JSON document, decoded.
fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        serde_json::Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Far above a refused start; reached only by a server that started, or a hang.
const START: Duration = Duration::from_secs(10);

/// A duration no clock can add (`Instant + u64::MAX s` panics) is refused at parse time,
/// naming the option and the range, instead of panicking in every scrape thread or refresh.
#[test]
fn durations_past_any_clock_are_refused_naming_the_option() {
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "watch",
                "--format",
                "plain",
                "--count",
                "2",
                "-n",
                "18446744073709551615s",
            ],
            "--interval",
        ),
        (
            vec![
                "watch",
                "--format",
                "plain",
                "--count",
                "2",
                "-n",
                "99999999999",
            ],
            "--interval",
        ),
        (
            vec!["check", "--stuck-after", "18446744073709551615s"],
            "--stuck-after",
        ),
    ];
    if cfg!(feature = "serve") {
        for option in ["--read-timeout", "--write-timeout", "--min-interval"] {
            cases.push((
                vec![
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    option,
                    "18446744073709551615s",
                ],
                option,
            ));
        }
    }
    for (args, option) in cases {
        let out = sockscope().args(&args).timeout(START).output().unwrap();
        // check says it as its UNKNOWN report, on stdout.
        let (want, said) = match args[0] {
            "check" => (3, &out.stdout),
            _ => (2, &out.stderr),
        };
        let err = String::from_utf8_lossy(said);
        assert_eq!(out.status.code(), Some(want), "{args:?}: {err}");
        assert!(
            err.contains(option) && err.contains("at most 1y"),
            "{args:?}: {err}"
        );
    }
}

/// `--read-timeout 0s` and `--write-timeout 0s` would answer no client: refused at start.
#[cfg(feature = "serve")]
#[test]
fn zero_timeouts_are_refused_naming_the_option() {
    for option in ["--read-timeout", "--write-timeout"] {
        let out = sockscope()
            .args(["serve", "--listen", "127.0.0.1:0", option, "0s"])
            .timeout(START)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{option}: {err}");
        assert!(
            err.contains(option) && err.contains("at least 1ms"),
            "{err}"
        );
    }
}

/// `sockscope ARGS` with its stdout given to `stdout`; the exit code.
fn code_with_stdout(args: &[&str], stdout: Stdio) -> Option<i32> {
    Process::new(assert_cmd::cargo::cargo_bin("sockscope"))
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .code()
}

/// A pipe whose reader is already gone: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer.into()
}

/// What clap prints (usage errors, --help, --version) goes through a checked writer too:
/// `check` exits 3 whatever happens to its output, never the 101 of a panicking println!; the
/// other commands exit 0 when the reader left (a closed pipe) and 2 when the write failed.
#[test]
fn clap_output_that_cannot_be_written_keeps_the_exit_codes() {
    if !Path::new("/dev/full").exists() {
        return skip("no /dev/full here");
    }
    let full = || {
        Stdio::from(
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
    };
    for args in [
        &["check", "--bogus"][..],
        &["check", "--version"],
        &["check", "--help"],
    ] {
        assert_eq!(
            code_with_stdout(args, full()),
            Some(3),
            "{args:?} > /dev/full"
        );
        assert_eq!(
            code_with_stdout(args, closed_pipe()),
            Some(3),
            "{args:?} | true"
        );
    }
    for args in [&["summary", "--help"][..], &["--version"]] {
        assert_eq!(
            code_with_stdout(args, closed_pipe()),
            Some(0),
            "{args:?} | true"
        );
        assert_eq!(
            code_with_stdout(args, full()),
            Some(2),
            "{args:?} > /dev/full"
        );
    }
    assert_eq!(code_with_stdout(&["--bogus"], full()), Some(2));
}

/// 20,000 copies of one socket (slot numbers aside): counted, as the table says, but never
/// silently. One comparison with the line before, so memory stays flat however many there are.
#[test]
fn a_table_repeating_one_socket_says_so() {
    const COPIES: u64 = 20_000;
    let tree = tree_with_tcp(|p| {
        let mut text = String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        );
        for i in 0..COPIES {
            text.push_str(&format!(
                "{i:4}: 0100007F:1388 0100007F:DD06 08 00000000:00000001 00:00000000 00000000     0        0 4574 1 0000000001623f0e 20 4 0 10 -1\n"
            ));
        }
        fs::write(p, text).unwrap();
    });
    let said = format!(
        "{} lines repeat the socket of the line before them: a real kernel table never does; the counts above include them",
        COPIES - 1
    );
    let (code, out, err) = output(&["--json", "--no-processes"], tree.path());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["collection"]["repeated_lines"],
        COPIES - 1,
        "{}",
        v["collection"]
    );
    assert_eq!(v["families"]["ipv4"]["CLOSE_WAIT"].as_u64(), Some(COPIES));
    let (code, out, err) = output(&["--no-processes"], tree.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&said), "{out}");
    let (code, out, _) = output(
        &["check", "--format", "nagios", "--no-processes"],
        tree.path(),
    );
    assert!((1..=2).contains(&code), "{out}");
    assert!(out.contains(&format!("\nNOTE: {said}")), "{out}");
    let (_, out, _) = output(
        &["check", "--format", "json", "--no-processes"],
        tree.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["notes"].to_string().contains(&said), "{}", v["notes"]);

    // A real table (the fixture's) has none: the field is left out.
    let (_, out, _) = output(&["--json", "--no-processes"], &fixture("loopback-mix"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["collection"].get("repeated_lines").is_none(),
        "{}",
        v["collection"]
    );
}

/// Every name under `dir`, at any depth, that is a temp file of ours.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            found.extend(temp_files(&path));
        } else if entry
            .file_name()
            .to_string_lossy()
            .contains(".sockscope-tmp.")
        {
            found.push(path);
        }
    }
    found
}

/// Another user swaps the textfile's and state file's directory for a link to elsewhere, and
/// back, as fast as it can (`RENAME_EXCHANGE`, so there is always one or the other), while
/// `check` runs again and again. Nothing lands outside the real directory, nothing of a run
/// is left behind, and each run either wrote into the real directory or refused the link.
#[test]
fn a_directory_swapped_for_a_link_while_check_writes_gets_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let base = tempfile::tempdir().unwrap();
    // Every user may write here, as in a shared metrics or spool directory.
    fs::set_permissions(
        base.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let outside = base.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::create_dir(base.path().join("d")).unwrap();
    std::os::unix::fs::symlink(&outside, base.path().join("swap")).unwrap();
    let stop = AtomicBool::new(false);
    /// Stops the swapper however the runs end: a scope waits for its threads before it
    /// passes on a failed assertion's panic.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let (mut wrote, mut refused) = (0, 0);
    std::thread::scope(|s| {
        let stopping = Stop(&stop);
        let swapper = s.spawn(|| {
            let dir = fs::File::open(base.path()).unwrap();
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    &dir,
                    "d",
                    &dir,
                    "swap",
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps += 1;
                std::thread::yield_now();
            }
            swaps
        });
        let textfile = base.path().join("d/f.prom");
        let state = base.path().join("d/state.json");
        for _ in 0..150 {
            let (code, out, err) = output(
                &[
                    "check",
                    "--no-processes",
                    "--textfile",
                    textfile.to_str().unwrap(),
                    "--state-file",
                    state.to_str().unwrap(),
                ],
                &fixture("loopback-mix"),
            );
            if code == 3 {
                assert!(
                    out.contains("is a symbolic link in a directory other users can write"),
                    "{out}{err}"
                );
                refused += 1;
            } else {
                assert!(code < 3, "{code}: {out}{err}");
                wrote += 1;
            }
        }
        drop(stopping);
        assert!(swapper.join().unwrap() > 0);
    });
    let real = if base.path().join("d").is_symlink() {
        base.path().join("swap")
    } else {
        base.path().join("d")
    };
    let outside_now: Vec<_> = fs::read_dir(&outside).unwrap().collect();
    assert!(outside_now.is_empty(), "written outside: {outside_now:?}");
    assert_eq!(temp_files(base.path()), Vec::<PathBuf>::new());
    assert!(real.join("f.prom").is_file() && real.join("state.json").is_file());
    // Both sides of the race were run into, or the test proved nothing.
    assert!(wrote > 0 && refused > 0, "wrote {wrote}, refused {refused}");
}

/// An error quoting a path with escape sequences (here a namespace file named to set the
/// terminal's title and clear it) reaches stderr escaped, as every other text from the system;
/// check's UNKNOWN line likewise.
#[test]
fn errors_quoting_hostile_paths_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ns\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}x");
    fs::write(&path, "").unwrap();
    let raw = |s: &str| s.contains(['\u{1b}', '\u{7}', '\u{202e}']);
    let (code, out, err) = output(
        &["--netns", path.to_str().unwrap()],
        &fixture("loopback-mix"),
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        !raw(&err) && err.contains("ns\\x1b]0;pwned\\x07\\x1b[2J\\u{202e}x"),
        "{err:?}"
    );
    let (code, out, err) = output(
        &["check", "--netns", path.to_str().unwrap()],
        &fixture("loopback-mix"),
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(!raw(&out) && out.contains("ns\\x1b]0;pwned"), "{out:?}");
}
