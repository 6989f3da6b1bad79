//! `--otlp-endpoint`: bad URLs are refused with the documented codes (check: 3, serve: 2), a
//! push reaches a receiver on loopback as one protobuf POST to /v1/metrics, and a push the
//! receiver refuses is UNKNOWN, naming the URL and the answer. (tests/otlp.sh decodes the
//! pushes with the official OTLP bindings.)

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use crate::util::{fixture, sockscope};

/// A one-request HTTP receiver answering `status`; returns (its URL, the request it got).
fn receiver(status: &'static str) -> (String, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        // Head, then as many body bytes as Content-Length says.
        loop {
            let n = conn.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_lowercase();
            if let Some(end) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if got.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let answer =
            format!("HTTP/1.1 {status}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope");
        conn.write_all(answer.as_bytes()).unwrap();
        got
    });
    (url, handle)
}

#[test]
fn check_pushes_one_protobuf_post_to_v1_metrics() {
    let (url, got) = receiver("200 OK");
    sockscope()
        .args(["check", "--proc-root"])
        .arg(fixture("loopback-mix"))
        .args(["--otlp-endpoint", &url])
        .assert()
        .code(0);
    let request = String::from_utf8_lossy(&got.join().unwrap()).into_owned();
    assert!(
        request.starts_with("POST /v1/metrics HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{request}"
    );
    for name in [
        "system.network.connection.count",
        "network.connection.state",
        "sockscope.finding",
        "host.name",
    ] {
        assert!(request.contains(name), "{name} not in the push");
    }
}

#[test]
fn a_refused_push_is_unknown_and_says_why() {
    let (url, got) = receiver("500 Internal Server Error");
    let out = sockscope()
        .args(["check", "--format", "nagios", "--proc-root"])
        .arg(fixture("loopback-mix"))
        .args(["--otlp-endpoint", &format!("{url}/custom/path")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("SOCKSCOPE UNKNOWN")
            && text.contains(&format!(
                "OTLP push to {url}/custom/path failed: HTTP 500: nope"
            )),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&got.join().unwrap()).starts_with("POST /custom/path "));
}

#[test]
fn bad_endpoints_and_intervals_are_refused_before_anything_runs() {
    for (url, why) in [
        ("ftp://collector:4318", "not an http:// or https:// URL"),
        ("collector:4318", "not an http:// or https:// URL"),
        ("http://", "names no host"),
        ("http://:4318/v1/metrics", "names no host"),
        ("http://collector:4318/a b", "contains a space"),
    ] {
        let expected = format!("--otlp-endpoint '{url}': {why}");
        sockscope()
            .args(["check", "--otlp-endpoint", url])
            .assert()
            .code(3)
            .stdout(predicates::str::contains(expected.clone()));
        sockscope()
            .args(["serve", "--listen", "127.0.0.1:0", "--otlp-endpoint", url])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(expected));
    }
    sockscope()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--otlp-endpoint",
            "http://c:4318",
            "--otlp-interval",
            "100ms",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--otlp-interval must be at least 1s",
        ));
    sockscope()
        .args(["serve", "--otlp-interval", "5s"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--otlp-endpoint"));
}
