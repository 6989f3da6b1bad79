//! `top`'s keys as people read them: listeners under `*` (no peer, as `ss` shows them),
//! ephemeral local ports folded into one row, uids named from the host's `/etc/passwd`.

use std::fs;
use std::net::{Ipv4Addr, TcpStream};

use crate::util::scenario::*;
use crate::util::{fresh_listener, skip, sockscope, stdout_of};

/// A server on 10.0.0.1:8080 with five clients, a service listening inside the ephemeral range
/// (127.0.0.1:45000, two clients), an IPv6 listener, a database pool of six connections and
/// three TIME_WAIT from ephemeral ports, and one connection from a port below the range.
fn ports() -> Scenario {
    Scenario::new()
        .many(1, |_| {
            ("10.0.0.1:8080".into(), "0.0.0.0:0".into(), sock(LISTEN))
        })
        .many(1, |_| ("[::]:443".into(), "[::]:0".into(), sock(LISTEN)))
        .many(1, |_| {
            ("127.0.0.1:45000".into(), "0.0.0.0:0".into(), sock(LISTEN))
        })
        .many(5, |i| {
            (
                "10.0.0.1:8080".into(),
                format!("10.0.1.{}:{}", i + 1, 50000 + i),
                sock(ESTABLISHED),
            )
        })
        .many(2, |i| {
            (
                "127.0.0.1:45000".into(),
                format!("127.0.0.1:{}", 33000 + i),
                sock(ESTABLISHED),
            )
        })
        .many(6, |i| {
            (
                format!("10.0.0.1:{}", 40000 + i),
                "10.0.0.9:5432".into(),
                sock(ESTABLISHED),
            )
        })
        .many(3, |i| {
            (
                format!("10.0.0.1:{}", 41000 + i),
                "10.0.0.9:5432".into(),
                time_wait_mini(sock(TIME_WAIT)),
            )
        })
        .many(1, |_| {
            (
                "10.0.0.1:1022".into(),
                "10.0.0.7:22".into(),
                sock(ESTABLISHED),
            )
        })
}

fn top(dir: &std::path::Path, args: &[&str]) -> String {
    stdout_of(
        sockscope()
            .arg("top")
            .args(args)
            .arg("--proc-root")
            .arg(dir),
    )
}

#[test]
fn ephemeral_local_ports_are_one_row_and_listeners_keep_theirs() {
    let dir = ports().write();
    for format in ["table", "plain", "json"] {
        let out = top(dir.path(), &["--by", "local-port", "--format", format]);
        crate::util::snapshot_settings(Some(dir.path()))
            .bind(|| insta::assert_snapshot!(format!("top_local-port_ephemeral__{format}"), out));
    }
    let plain = top(dir.path(), &["--by", "local-port", "--format", "plain"]);
    let rows: Vec<&str> = plain.lines().collect();
    assert_eq!(
        rows[0], "32768-60999 9 45.0 ESTABLISHED=6 TIME_WAIT=3",
        "{plain}"
    );
    // 45000 is in the range, but a listener holds it: a service port, kept.
    assert!(
        rows.contains(&"45000 3 15.0 LISTEN=1 ESTABLISHED=2"),
        "{plain}"
    );
    assert!(rows.contains(&"1022 1 5.0 ESTABLISHED=1"), "{plain}");
    // A state filter leaves the listeners out of the rows, not out of what a port is.
    let established = top(
        dir.path(),
        &[
            "--by",
            "local-port",
            "--state",
            "established",
            "--format",
            "plain",
        ],
    );
    assert!(
        established
            .lines()
            .any(|l| l == "45000 2 14.3 ESTABLISHED=2"),
        "{established}"
    );
    // Nested: the fold is per group of the other keys.
    let nested = top(
        dir.path(),
        &["--by", "local-port", "--by", "peer", "--format", "plain"],
    );
    assert!(
        nested
            .lines()
            .any(|l| l == "32768-60999 10.0.0.9 9 45.0 ESTABLISHED=6 TIME_WAIT=3"),
        "{nested}"
    );
}

/// Without the range (a copy of the tables alone), no port is called ephemeral.
#[test]
fn without_ip_local_port_range_every_port_is_its_own_row() {
    let dir = ports().write();
    fs::remove_file(dir.path().join("sys/net/ipv4/ip_local_port_range")).unwrap();
    let plain = top(
        dir.path(),
        &["--by", "local-port", "-n", "0", "--format", "plain"],
    );
    assert!(!plain.contains("32768-60999"), "{plain}");
    assert!(plain.lines().any(|l| l.starts_with("40000 1 ")), "{plain}");
}

#[test]
fn listeners_have_no_peer_and_show_as_a_star() {
    let dir = ports().write();
    for key in ["remote-port", "peer"] {
        for format in ["table", "plain", "json"] {
            let out = top(dir.path(), &["--by", key, "--format", format]);
            crate::util::snapshot_settings(Some(dir.path()))
                .bind(|| insta::assert_snapshot!(format!("top_{key}_listeners__{format}"), out));
        }
        // One row for the IPv4 and IPv6 listeners alike, as `ss` prints `*`.
        let plain = top(dir.path(), &["--by", key, "--format", "plain"]);
        let stars: Vec<&str> = plain.lines().filter(|l| l.starts_with("* ")).collect();
        assert_eq!(stars, ["* 3 15.0 LISTEN=3"], "{key}: {plain}");
        let json = top(dir.path(), &["--by", key, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let field = key.replace('-', "_");
        let listeners: Vec<&serde_json::Value> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["states"]["LISTEN"] == 3)
            .collect();
        assert_eq!(listeners.len(), 1, "{json}");
        assert!(listeners[0][&field].is_null(), "{json}");
    }
}

/// A host root (`--host-root`) with the socket tables under `proc` and an `/etc/passwd` that
/// names some of their uids, hostile lines included.
fn with_users(passwd: &str) -> tempfile::TempDir {
    let host = tempfile::tempdir().unwrap();
    let uid = |uid: u32| {
        move |i: usize| {
            let mut s = sock(ESTABLISHED);
            s.uid = uid;
            (
                "10.0.0.1:8080".to_string(),
                format!("10.0.1.{}:{}", uid % 200, 50000 + i),
                s,
            )
        }
    };
    Scenario::new()
        .many(4, uid(65534))
        .many(3, uid(0))
        .many(2, uid(1001))
        .many(2, uid(1002))
        .many(1, uid(1003))
        .many(1, uid(4242))
        .many(1, |_| {
            (
                "10.0.0.1:8080".into(),
                "10.0.2.1:50000".into(),
                time_wait_mini(sock(TIME_WAIT)),
            )
        })
        .write_at(&host.path().join("proc"));
    fs::create_dir_all(host.path().join("etc")).unwrap();
    fs::write(host.path().join("etc/passwd"), passwd).unwrap();
    host
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
    nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
    \x1b]0;pwned\x07:x:1001:1001::/home/evil:/bin/sh\n\
    second:x:1001:1001:a later line for the same uid loses:/:/bin/sh\n\
    two words:x:1003:1003::/:/bin/sh\n";

#[test]
fn uids_are_named_from_the_hosts_passwd_and_kept_as_numbers_in_json() {
    // A name longer than any useradd makes, and a line of a megabyte: neither is a name.
    let passwd = format!(
        "{PASSWD}{}:x:1002:1002::/:/bin/sh\n{}\n",
        "n".repeat(300),
        "x".repeat(1 << 20)
    );
    let host = with_users(&passwd);
    for format in ["table", "plain", "json"] {
        let out = stdout_of(
            sockscope()
                .args(["top", "--by", "uid", "--format", format, "--host-root"])
                .arg(host.path()),
        );
        crate::util::snapshot_settings(Some(host.path()))
            .bind(|| insta::assert_snapshot!(format!("top_uid_names__{format}"), out));
    }
    let plain = stdout_of(
        sockscope()
            .args(["top", "--by", "uid", "--format", "plain", "--host-root"])
            .arg(host.path()),
    );
    let keys: Vec<&str> = plain
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "nobody",
            "root",
            "\\x1b]0;pwned\\x07",
            "1002",
            "two\\x20words",
            "4242",
            "-"
        ],
        "{plain}"
    );
    let json = stdout_of(
        sockscope()
            .args(["top", "--by", "uid", "--json", "--host-root"])
            .arg(host.path()),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = &v["groups"][0];
    assert_eq!(
        (first["uid"].as_u64(), first["user"].as_str()),
        (Some(65534), Some("nobody"))
    );
    let unnamed = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["uid"] == 4242)
        .unwrap();
    assert!(unnamed["user"].is_null(), "{json}");
}

/// A passwd that is no regular file, or too large to be one, names nobody: the numbers stay.
#[test]
fn a_passwd_that_cannot_be_read_leaves_the_numbers() {
    let host = with_users(PASSWD);
    let passwd = host.path().join("etc/passwd");
    fs::remove_file(&passwd).unwrap();
    crate::hostile::mkfifo(&passwd);
    let out = sockscope()
        .args(["top", "--by", "uid", "--format", "plain", "--host-root"])
        .arg(host.path())
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let plain = String::from_utf8(out.stdout).unwrap();
    assert!(plain.starts_with("65534 4 "), "{plain}");
}

/// A saved copy (`--proc-root`) comes from another machine, whose uids this host's passwd
/// would misname: the numbers stay.
#[test]
fn a_saved_copy_keeps_its_uids_as_numbers() {
    let host = with_users(PASSWD);
    let plain = stdout_of(
        sockscope()
            .args(["top", "--by", "uid", "--format", "plain", "--proc-root"])
            .arg(host.path().join("proc")),
    );
    assert!(plain.starts_with("65534 4 "), "{plain}");
}

/// Live, through sock_diag, where `--state` is filtered in the kernel: a listener the kernel
/// picked inside the ephemeral range stays a port of its own.
#[test]
fn a_live_listener_in_the_ephemeral_range_is_not_folded() {
    let Some(listener) = fresh_listener(Ipv4Addr::LOCALHOST.into()) else {
        skip("no loopback listener");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let range = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let bounds: Vec<u16> = range
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    if bounds.len() != 2 || !(bounds[0]..=bounds[1]).contains(&port) {
        skip(format!(
            "port {port} is outside ip_local_port_range ({range:?})"
        ));
        return;
    }
    let _held: Vec<(TcpStream, TcpStream)> = (0..3)
        .map(|_| {
            let c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (s, _) = listener.accept().unwrap();
            (c, s)
        })
        .collect();
    let plain = stdout_of(sockscope().args([
        "top",
        "--by",
        "local-port",
        "--state",
        "established",
        "--port",
        &port.to_string(),
        "--format",
        "plain",
    ]));
    let folded = format!("{}-{} 3 50.0 ESTABLISHED=3", bounds[0], bounds[1]);
    let service = format!("{port} 3 50.0 ESTABLISHED=3");
    assert!(
        plain.lines().any(|l| l == folded) && plain.lines().any(|l| l == service),
        "{plain}"
    );
}
