//! Process attribution, `list` and `top`: fake /proc trees built at test time (fd symlinks are
//! not committed), and real sockets held by this test process.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use tempfile::TempDir;

use crate::util::{fake_process, fixture, is_root, root, skip, sockscope, stdout_of, unprivileged};

const EVIL: &str = "\x1b]0;pwned\x07";

/// A /proc tree: the loopback-mix socket tables plus processes holding its sockets.
struct FakeProc {
    dir: TempDir,
}

impl FakeProc {
    fn new() -> FakeProc {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("net");
        fs::create_dir_all(&net).unwrap();
        for f in ["tcp", "tcp6"] {
            fs::copy(
                root().join(fixture("loopback-mix/net")).join(f),
                net.join(f),
            )
            .unwrap();
        }
        let fake = FakeProc { dir };
        // A master and its forked worker share the listener on 5000.
        fake.process(
            100,
            "server",
            &[
                (0, "/dev/null"),
                (3, "socket:[4726]"),
                (4, "socket:[4727]"),
                (5, "socket:[4728]"),
            ],
        );
        fake.process(
            101,
            "server",
            &[
                (3, "socket:[4726]"),
                (6, "socket:[4730]"),
                (7, "socket:[4746]"),
                (8, "socket:[4734]"),
                (9, "socket:[4736]"),
                (10, "socket:[4738]"),
                (11, "socket:[4740]"),
                (12, "socket:[4732]"),
            ],
        );
        fake.process(
            200,
            "client",
            &[
                (3, "socket:[4729]"),
                (4, "socket:[4747]"),
                (5, "socket:[4748]"),
                (6, "socket:[4731]"),
                (7, "socket:[4735]"),
                (8, "socket:[4745]"),
                (9, "socket:[4733]"),
            ],
        );
        // A process that names itself with an escape sequence.
        fake.process(
            300,
            EVIL,
            &[
                (3, "socket:[4749]"),
                (4, "socket:[4750]"),
                (5, "socket:[4751]"),
            ],
        );
        // Non-socket fds, a socket of another table, and a dangling link.
        fake.process(
            500,
            "misc",
            &[
                (0, "/dev/null"),
                (1, "pipe:[123]"),
                (2, "socket:[999999]"),
                (3, "/nonexistent/gone"),
            ],
        );
        // Listed in /proc but gone before its fds could be read.
        fs::create_dir_all(fake.path().join("400")).unwrap();
        fake
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn process(&self, pid: u32, comm: &str, fds: &[(u32, &str)]) -> PathBuf {
        fake_process(self.path(), pid, comm, fds)
    }

    fn run(&self, args: &[&str]) -> String {
        stdout_of(sockscope().args(args).arg("--proc-root").arg(self.path()))
    }
}

#[test]
fn list_with_processes_in_every_format() {
    let fake = FakeProc::new();
    for format in ["table", "plain", "json"] {
        let out = fake.run(&["list", "-p", "-o", "--format", format]);
        crate::util::snapshot_settings(Some(fake.path()))
            .bind(|| insta::assert_snapshot!(format!("list__{format}"), out));
    }
}

#[test]
fn top_by_process_in_every_format() {
    let fake = FakeProc::new();
    for format in ["table", "plain", "json"] {
        let out = fake.run(&["top", "--by", "process", "--format", format]);
        crate::util::snapshot_settings(Some(fake.path()))
            .bind(|| insta::assert_snapshot!(format!("top_process__{format}"), out));
    }
    let nested = fake.run(&[
        "top",
        "--by",
        "process",
        "--by",
        "local-port",
        "--state",
        "connected",
        "-n",
        "5",
    ]);
    crate::util::snapshot_settings(Some(fake.path()))
        .bind(|| insta::assert_snapshot!("top_process_port__table", nested));
    for key in ["remote-port", "peer", "uid"] {
        let out = fake.run(&["top", "--by", key, "--format", "plain"]);
        crate::util::snapshot_settings(Some(fake.path()))
            .bind(|| insta::assert_snapshot!(format!("top_{key}__plain"), out));
    }
}

#[test]
fn shared_sockets_count_for_each_holder() {
    let fake = FakeProc::new();
    let json = fake.run(&[
        "top",
        "--by",
        "process",
        "--state",
        "listening",
        "--port",
        "5000",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let pids: Vec<u64> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["process"]["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids, vec![100, 101]);
    assert_eq!(v["collection"]["attribution"]["shared"], 1);
}

#[test]
fn gaps_are_counted_not_hidden() {
    let fake = FakeProc::new();
    let json = fake.run(&["list", "-p", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let a = &v["collection"]["attribution"];
    assert_eq!(a["sockets"], 27);
    assert_eq!(
        a["no_process"], 7,
        "inode 0: accept queue, orphans, TIME_WAIT"
    );
    assert_eq!(a["attributed"], 20);
    assert_eq!(a["unknown"], 0);
    assert_eq!(a["processes_scanned"], 6);
    assert_eq!(a["processes_vanished"], 1, "pid 400 has no fd directory");
    assert_eq!(a["fds_unreadable"], 0, "a dangling link still reads");
}

#[test]
fn process_names_are_escaped_for_terminals_and_exact_in_json() {
    let fake = FakeProc::new();
    for args in [
        &["list", "-p"][..],
        &["top"],
        &["list", "-p", "--format", "plain"],
        &["top", "--format", "plain"],
    ] {
        let out = fake.run(args);
        assert!(
            !out.contains('\x1b') && !out.contains('\x07'),
            "raw control bytes in {args:?}:\n{out}"
        );
        assert!(out.contains(r"\x1b]0;pwned\x07"), "{args:?}:\n{out}");
    }
    let json = fake.run(&["top", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let comms: Vec<&str> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["process"]["comm"].as_str())
        .collect();
    assert!(comms.contains(&EVIL), "{comms:?}");
}

#[test]
fn a_tree_without_processes_reports_every_owner_unknown() {
    let out = sockscope()
        .args(["list", "-p", "--json", "--proc-root"])
        .arg(fixture("loopback-mix"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["collection"]["attribution"]["unknown"], 20);
    assert_eq!(v["collection"]["attribution"]["processes_scanned"], 0);
}

#[test]
fn unknown_group_key_and_bad_networks_are_usage_errors() {
    sockscope()
        .args(["top", "--by", "image"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("invalid value 'image'")
                .and(predicate::str::contains("local-port")),
        );
    sockscope()
        .args(["list", "--dst", "10.0.0.0/33"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not an address or network"));
}

#[test]
fn list_filters_by_address_and_sorts() {
    let fake = FakeProc::new();
    let out = fake.run(&[
        "list", "--dst", "::1", "--sort", "peer", "--format", "plain",
    ]);
    let peers: Vec<&str> = out.lines().map(|l| l.split(' ').nth(4).unwrap()).collect();
    assert_eq!(
        peers,
        vec![
            "[::1]:5001",
            "[::1]:5001",
            "[::1]:5001",
            "[::1]:43738",
            "[::1]:43742"
        ]
    );
    let out = fake.run(&["list", "--sort", "tx", "--format", "plain"]);
    assert!(out.starts_with("FIN_WAIT1 0 3863439 "), "{out}");
    let out = fake.run(&[
        "list",
        "--src",
        "127.0.0.0/8",
        "--state",
        "close-wait",
        "--format",
        "plain",
    ]);
    assert_eq!(out.lines().count(), 2);
}

#[test]
fn unsorted_rows_are_the_sorted_rows_in_kernel_order_whether_streamed_or_kept() {
    let fake = FakeProc::new();
    let sorted = fake.run(&["list", "-o", "--format", "plain"]);
    // Streamed: written as each socket arrives.
    let streamed = fake.run(&["list", "-o", "--sort", "none", "--format", "plain"]);
    // Kept (the owners are needed first), then written in arrival order.
    let kept = fake.run(&["list", "-o", "-p", "--sort", "none", "--format", "plain"]);
    let mut a: Vec<&str> = sorted.lines().collect();
    let mut b: Vec<&str> = streamed.lines().collect();
    assert_ne!(
        a, b,
        "the fixture's kernel order should differ from the sorted order"
    );
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
    let without_owners: Vec<String> = kept
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
        .collect();
    assert_eq!(without_owners, streamed.lines().collect::<Vec<_>>());
}

#[test]
fn unreadable_processes_make_attribution_partial_not_failed() {
    let fake = FakeProc::new();
    let secret = fake.process(600, "secret", &[(3, "socket:[4730]")]);
    // Give 4730 to the unreadable process alone.
    fs::remove_file(fake.path().join("101/fd/6")).unwrap();
    // Everything readable for the unprivileged run, then the one fd table shut (listed first:
    // a non-root test could not walk into it afterwards).
    for dir in walkdirs(fake.path()) {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::set_permissions(secret.join("fd"), fs::Permissions::from_mode(0o000)).unwrap();
    let root_arg = fake.path().display().to_string();
    let Some(out) = unprivileged(&["top", "--json", "--proc-root", &root_arg]) else {
        return skip("cannot run sockscope as nobody here: setpriv is not installed");
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &v["collection"]["attribution"];
    assert_eq!(a["processes_unreadable"], 1);
    assert_eq!(a["unknown"], 1);
    let notes = a["notes"].to_string();
    assert!(notes.contains("CAP_SYS_PTRACE"), "{notes}");
    fs::set_permissions(secret.join("fd"), fs::Permissions::from_mode(0o755)).unwrap();
}

fn walkdirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(walkdirs(&entry.path()));
        }
    }
    out
}

/// CLOSE_WAIT sockets held by this very process: `top` must name our pid with the exact count.
#[test]
fn top_names_this_process_for_its_close_wait_sockets() {
    let (listener, held) = crate::util::hold_close_wait(3);
    let port = listener.local_addr().unwrap().port().to_string();
    let me = u64::from(std::process::id());
    let mut found = None;
    for _ in 0..60 {
        let json = stdout_of(sockscope().args([
            "top",
            "--by",
            "process",
            "--state",
            "close-wait",
            "--port",
            &port,
            "--json",
        ]));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        found = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["process"]["pid"] == me)
            .map(|g| {
                (
                    g["total"].clone(),
                    g["states"]["CLOSE_WAIT"].clone(),
                    v["total"].clone(),
                )
            });
        if found.as_ref().is_some_and(|(t, _, _)| t == 3) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(found, Some((3.into(), 3.into(), 3.into())));
    // Unprivileged, the same command still works and says why the owner is unknown.
    if let Some(out) = unprivileged(&[
        "top",
        "--by",
        "process",
        "--state",
        "close-wait",
        "--port",
        &port,
        "--json",
    ]) {
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if is_root() {
            assert_eq!(v["collection"]["attribution"]["unknown"], 3, "{v}");
            assert!(
                v["collection"]["attribution"]["processes_unreadable"]
                    .as_u64()
                    .unwrap()
                    > 0
            );
        }
    } else {
        skip("the unprivileged run: setpriv is not installed");
    }
    drop(held);
}
