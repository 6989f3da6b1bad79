//! Findings of real sockets in a throwaway namespace: which culprit their next steps follow,
//! and how those steps reach the namespace, the same in every format.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command as Process, Stdio};

use serde_json::Value;

use super::{Member, inside, paste, rows, setup, ss_counts, steps_of};
use crate::util::{close_wait_on, have_tool, skip, sockscope, stdout_of};

/// A connection pool: 30 connections to the "database" on 127.0.0.1:5432, held until killed.
const POOL: &str = "import socket, time
pool = [socket.create_connection(('127.0.0.1', 5432)) for _ in range(30)]
print(len(pool), flush=True)
time.sleep(600)
";

/// Waits (up to 20 s) until namespace `name` has `n` sockets in CLOSE_WAIT.
fn close_wait_reaches(name: &str, n: u64) {
    let reached = (0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        ss_counts(name).is_some_and(|c| c.get("CLOSE_WAIT") == Some(&n))
    });
    assert!(reached, "{n} CLOSE_WAIT in {name}: {:?}", ss_counts(name));
}

/// The text of close_wait_excess's counts, from `sockscope --netns NAME --json`.
fn close_wait_text(doc: &Value) -> String {
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "close_wait_excess")
        .unwrap_or_else(|| panic!("no close_wait_excess: {doc:#}"));
    f["evidence"][0]["text"].as_str().unwrap().to_string()
}

/// A pool whose server closed its connections leaves CLOSE_WAIT on 30 ephemeral local ports:
/// it is described and followed by the server's endpoint (`dport = :5432`), not by one of its
/// ports. Beside a server-side leak (accepted connections on :8080 never closed), the next
/// steps follow one culprit, the larger: its `ss` filter and its holder, never a mix.
#[test]
fn a_client_side_leak_is_followed_by_the_server_endpoint() {
    if !have_tool("python3", "python3") {
        return skip("python3 is not installed");
    }
    let made = match setup("pool", &[(0, 0)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let name = made.names[0].as_str();
    let db = inside(name, || TcpListener::bind("127.0.0.1:5432").unwrap());
    let mut pool = Member(
        Process::new("ip")
            .args(["netns", "exec", name, "python3", "-B", "-c", POOL])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(pool.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "30", "the pool connected");
    // The database closes every connection; the pool keeps them.
    for _ in 0..30 {
        drop(db.accept().unwrap());
    }
    let server = inside(name, || TcpListener::bind("127.0.0.1:8080").unwrap());
    let mut leak = inside(name, || close_wait_on(&server, 20));
    close_wait_reaches(name, 50);
    let (pool_pid, me) = (pool.0.id(), std::process::id());
    let run = || -> Value {
        serde_json::from_str(&stdout_of(sockscope().args(["--netns", name, "--json"]))).unwrap()
    };

    let doc = run();
    let text = close_wait_text(&doc);
    assert!(
        text.contains(" Most are toward 127.0.0.1:5432 (30), ")
            && text.contains("; then on local port 8080 (20)"),
        "{text}"
    );
    let steps = steps_of(&doc, "close_wait_excess", name);
    assert_eq!(
        steps[0],
        format!("ip netns exec {name} ss -tnp state close-wait '( dport = :5432 )'"),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with(&format!("lsof -nP -p {pool_pid} ")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .all(|s| !s.contains("sport") && !s.contains(&format!("-p {me} "))),
        "{steps:?}"
    );
    let found = paste(&steps[0]);
    assert_eq!(rows(&found), 30, "`{}` printed:\n{found}", steps[0]);

    // The server's leak grows past the pool: its port and its holder.
    leak.extend(inside(name, || close_wait_on(&server, 20)));
    close_wait_reaches(name, 70);
    let doc = run();
    let text = close_wait_text(&doc);
    assert!(
        text.contains(" Most are on local port 8080 (40), and from 127.0.0.1 (40); then toward 127.0.0.1:5432 (30), "),
        "{text}"
    );
    let steps = steps_of(&doc, "close_wait_excess", name);
    assert_eq!(
        steps[0],
        format!("ip netns exec {name} ss -tnp state close-wait '( sport = :8080 )'"),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with(&format!("lsof -nP -p {me} ")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .all(|s| !s.contains("dport") && !s.contains(&format!("-p {pool_pid} "))),
        "{steps:?}"
    );
    let found = paste(&steps[0]);
    assert_eq!(rows(&found), 40, "`{}` printed:\n{found}", steps[0]);
    drop(leak);
}

/// A step that runs sockscope gets the namespace's option right after `sockscope`, before its
/// subcommand, so a pipe or a comment after it is left as it is; text, JSON (summary and a
/// sweep) and watch's records show the same command, and pasted it reads that namespace.
#[test]
fn a_sockscope_step_names_the_namespace_right_after_sockscope() {
    let made = match setup("rx", &[(0, 0)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let name = made.names[0].as_str();
    // 10,000 bytes nobody reads, over a 1,000-byte threshold: rx_backlog, whose steps are
    // `sockscope list --sort rx -p | head` and nstat.
    let (_listener, _client, _server, port) = inside(name, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(&[7; 10_000]).unwrap();
        (listener, client, server, port)
    });
    let queued = (0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        paste(&format!("ip netns exec {name} ss -Htn")).contains("10000 ")
    });
    assert!(queued, "10000 bytes unread in {name}");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sockscope.toml");
    std::fs::write(&config, "[rules.rx_backlog]\nwarn_bytes = 1000\n").unwrap();
    let config = config.to_str().unwrap();
    let json = |args: &[&str]| -> Value {
        serde_json::from_str(&stdout_of(
            sockscope().args(args).args(["--config", config]),
        ))
        .unwrap()
    };
    let want = [
        format!("sockscope --netns {name} list --sort rx -p | head"),
        format!(
            "ip netns exec {name} nstat -az TcpExtTCPRcvQDrop TcpExtTCPWantZeroWindowAdv TcpExtTCPToZeroWindowAdv"
        ),
    ];
    for args in [
        &["--netns", name, "--json"][..],
        &["--all-netns", "--json"],
        &["watch", "--netns", name, "--format", "json", "--count", "1"],
    ] {
        let doc = json(args);
        assert_eq!(steps_of(&doc, "rx_backlog", name), want, "{args:?}");
    }
    let text = stdout_of(sockscope().args(["--netns", name, "--config", config]));
    for step in &want {
        assert!(text.contains(step.as_str()), "{step} in:\n{text}");
    }
    // Pasted (with this build for `sockscope`), it lists the namespace's socket, unread bytes
    // first.
    let bin = assert_cmd::cargo::cargo_bin("sockscope");
    let found = paste(&want[0].replacen("sockscope", bin.to_str().unwrap(), 1));
    let first = found.lines().nth(1).unwrap_or_default();
    assert!(
        first.contains(&format!(":{port}")) && first.contains("10000"),
        "`{}` printed:\n{found}",
        want[0]
    );
}
