//! Connections over time (issue 25) on real sockets: loopback churn of known shape in
//! throwaway namespaces (as root), read back through `serve`'s counters and the summary's
//! `--follow` JSON; and what an unprivileged user gets. Skipped, with the reason printed, where
//! that cannot run (a failure under `SOCKSCOPE_REQUIRE_LIVE=1`).

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::{have_tool, skip, unprivileged};

/// A throwaway namespace with loopback up, deleted (with its sockets and rules) when dropped.
struct Netns(String);

impl Netns {
    fn make(tag: &str) -> Option<Netns> {
        let name = format!("ssflows-{tag}-{}", std::process::id());
        match crate::netns::make(&name) {
            Ok(()) => Some(Netns(name)),
            Err(why) => {
                skip(why);
                None
            }
        }
    }

    fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[cfg(feature = "serve")]
mod served {
    use std::fs::File;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::time::Duration;

    use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

    use super::*;
    use crate::serve::{Server, parse, scrape_until, value};

    impl Netns {
        /// Runs `work` on a thread that entered the namespace: the sockets it opens are there.
        fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
            let ns = File::open(format!("/run/netns/{}", self.0)).unwrap();
            std::thread::scope(|s| {
                s.spawn(|| {
                    move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))
                        .unwrap();
                    work()
                })
                .join()
                .unwrap()
            })
        }
    }

    /// `n` connections to `to`, each held for `hold` (at most `batch` open at once), closed by the
    /// client first. Returns each batch's size and how long it took from its first connect to its
    /// last close: no connection of it lived longer.
    fn connections(
        listener: &TcpListener,
        to: SocketAddr,
        n: usize,
        hold: Duration,
        batch: usize,
    ) -> Vec<(usize, Duration)> {
        let mut spans = Vec::new();
        let mut left = n;
        while left > 0 {
            let now = left.min(batch);
            let started = std::time::Instant::now();
            let pairs: Vec<(TcpStream, TcpStream)> = (0..now)
                .map(|_| {
                    let client = TcpStream::connect(to).unwrap();
                    let (server, _) = listener.accept().unwrap();
                    (client, server)
                })
                .collect();
            std::thread::sleep(hold);
            for (client, server) in pairs {
                drop(client);
                drop(server);
            }
            spans.push((now, started.elapsed()));
            left -= now;
        }
        spans
    }

    fn serve_in(ns: &Netns, extra: &[&str]) -> Server {
        let mut args = vec![
            "--netns",
            &ns.0,
            "--min-interval",
            "0s",
            "--max-series",
            "1000",
        ];
        args.extend_from_slice(extra);
        let server = Server::start(&args);
        assert!(server.warnings.is_empty(), "{:?}", server.warnings);
        server
    }

    fn count(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        value(s, name, labels).unwrap_or(0.0)
    }

    /// Every sample of a histogram's buckets: (le, cumulative count).
    fn buckets(s: &prometheus_parse::Scrape) -> Vec<(String, f64)> {
        s.samples
            .iter()
            .filter(|x| x.metric == "sockscope_connection_lifetime_seconds")
            .flat_map(|x| match &x.value {
                prometheus_parse::Value::Histogram(h) => h
                    .iter()
                    .map(|b| (format!("{}", b.less_than), b.count))
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// 2,000 connections of four known lifetimes (at once, 40 ms, 250 ms, 2.5 s; 500 each),
    /// both ends counted: each lifetime falls in its own bucket, 1,000 closes each, and the
    /// closes by port say both ends, nothing lost.
    #[test]
    fn two_thousand_connections_of_known_lifetimes() {
        let Some(ns) = Netns::make("life") else {
            return;
        };
        let server = serve_in(&ns, &[]);
        // (hold, batch, the bucket it must land in): each batch's first connection also lives
        // while the rest of it opens.
        let groups = [
            (0, 1, "0.01", 10),
            (40, 100, "0.1", 100),
            (250, 250, "0.5", 500),
            (2500, 500, "5", 5000),
        ];
        let spans: Vec<Vec<(usize, Duration)>> = ns.run(|| {
            // A service port outside ip_local_port_range: accepted ends are told apart at once.
            let listener = TcpListener::bind("127.0.0.1:80").unwrap();
            let to = listener.local_addr().unwrap();
            groups
                .iter()
                .map(|&(ms, batch, _, _)| {
                    connections(&listener, to, 500, Duration::from_millis(ms), batch)
                })
                .collect()
        });
        let body = scrape_until(&server, |s| {
            count(s, "sockscope_connection_lifetime_seconds_count", &[]) >= 4000.0
        });
        let s = parse(&body);
        let closed = |side| {
            count(
                &s,
                "sockscope_connections_closed_total",
                &[("port", "80"), ("side", side)],
            )
        };
        assert_eq!(
            (closed("local"), closed("remote")),
            (2000.0, 2000.0),
            "{body}"
        );
        assert_eq!(count(&s, "sockscope_events_lost_total", &[]), 0.0);
        let cumulative = buckets(&s);
        let at = |le: &str| {
            cumulative
                .iter()
                .find(|(l, _)| l == le)
                .map(|(_, c)| *c)
                .unwrap_or_else(|| panic!("no bucket {le}: {cumulative:?}"))
        };
        // Every close of groups up to i lands at or under group i's bound, but for the
        // connections of batches that took longer than that bound (a busy machine can pause
        // this test between connect and close), both ends of which may land above it.
        for (i, &(_, _, le, bound_ms)) in groups.iter().enumerate() {
            let late: usize = spans[..=i]
                .iter()
                .flatten()
                .filter(|(_, span)| span.as_millis() > bound_ms)
                .map(|(n, _)| 2 * n)
                .sum();
            let want = 1000.0 * (i + 1) as f64;
            let got = at(le);
            assert!(
                got <= want && got >= want - late as f64,
                "le={le}: {got}, want {want} ({late} closes of slow batches may be above): {cumulative:?}"
            );
        }
        assert_eq!(
            count(&s, "sockscope_connection_lifetime_seconds_count", &[]),
            4000.0
        );
    }

    /// Connects to a port nobody listens on (refused) and into a black hole (iptables DROP in
    /// the throwaway namespace only, given up after 300 ms): all failures, none closed.
    #[test]
    fn failed_connects_refused_and_black_holed() {
        if !have_tool("iptables", "iptables") {
            return skip("iptables is not installed");
        }
        let Some(ns) = Netns::make("fail") else {
            return;
        };
        let dropped = ns
            .exec("iptables")
            .args(["-A", "OUTPUT", "-p", "tcp", "--dport", "82", "-j", "DROP"])
            .status()
            .is_ok_and(|s| s.success());
        if !dropped {
            return skip("iptables cannot add a rule in a new namespace here");
        }
        let server = serve_in(&ns, &[]);
        ns.run(|| {
            let refused: SocketAddr = "127.0.0.1:81".parse().unwrap();
            let hole: SocketAddr = "127.0.0.1:82".parse().unwrap();
            for _ in 0..50 {
                assert!(TcpStream::connect(refused).is_err());
            }
            for _ in 0..20 {
                let e = TcpStream::connect_timeout(&hole, Duration::from_millis(300)).unwrap_err();
                assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
            }
        });
        let failures = |s: &prometheus_parse::Scrape| -> f64 {
            s.samples
                .iter()
                .filter(|x| x.metric == "sockscope_connect_failures_total")
                .map(|x| match x.value {
                    prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                    _ => 0.0,
                })
                .sum()
        };
        let body = scrape_until(&server, |s| failures(s) >= 70.0);
        let s = parse(&body);
        assert_eq!(failures(&s), 70.0, "{body}");
        // A refused connect's port is cleared by the kernel, unless a census caught the connect
        // under way (rarely, on a loaded machine); one given up on keeps it.
        let failed = |port| {
            count(
                &s,
                "sockscope_connect_failures_total",
                &[("port", port), ("side", "remote")],
            )
        };
        assert_eq!(
            (failed("0") + failed("81"), failed("82")),
            (50.0, 20.0),
            "{body}"
        );
        assert!(
            failed("0") >= 40.0,
            "most refused connects are too quick for a census: {body}"
        );
        let closed: f64 = s
            .samples
            .iter()
            .filter(|x| x.metric == "sockscope_connections_closed_total")
            .map(|x| match x.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum();
        assert_eq!(closed, 0.0, "{body}");
    }

    /// A receive buffer far too small for a burst of 2,000 connections: the kernel drops
    /// events, and every one it dropped is counted, so closes + lost is both ends of each.
    #[test]
    fn lost_events_with_a_tiny_buffer_are_counted() {
        let Some(ns) = Netns::make("lost") else {
            return;
        };
        let server = serve_in(&ns, &["--flow-buffer", "1KiB"]);
        // The listener stays open until the counts are read: its own event would be one more.
        let _listener = ns.run(|| {
            let listener = TcpListener::bind("127.0.0.1:80").unwrap();
            let to = listener.local_addr().unwrap();
            connections(&listener, to, 2000, Duration::ZERO, 1000);
            listener
        });
        let seen = |s: &prometheus_parse::Scrape| {
            let closed = |side| {
                count(
                    s,
                    "sockscope_connections_closed_total",
                    &[("port", "80"), ("side", side)],
                )
            };
            (
                closed("local") + closed("remote"),
                count(s, "sockscope_events_lost_total", &[]),
            )
        };
        let body = scrape_until(&server, |s| {
            let (closed, lost) = seen(s);
            closed + lost >= 4000.0
        });
        let (closed, lost) = seen(&parse(&body));
        println!("1 KiB buffer, 2,000 connections: {closed} closes counted, {lost} events lost");
        assert!(lost > 0.0, "nothing lost with a 1 KiB buffer: {body}");
        assert_eq!(closed + lost, 4000.0, "{body}");
    }
}

/// Three processes in one namespace, each listening on its own port and connecting to it at
/// its own rate (20, 50 and 100 a second, paced to absolute deadlines): `--follow 8s` gives
/// each process (its accepted ends, joined through its listener) and each destination (the
/// connecting ends) its rate within 2%.
#[test]
fn three_processes_at_known_rates() {
    if !have_tool("python3", "python3") {
        return skip("python3 is not installed");
    }
    let Some(ns) = Netns::make("rates") else {
        return;
    };
    const PACED: &str = r#"
import socket, sys, time
port, rate = int(sys.argv[1]), float(sys.argv[2])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(128)
print("ready", flush=True)
start = time.monotonic(); i = 0
while True:
    i += 1
    c = socket.create_connection(("127.0.0.1", port)); a, _ = l.accept()
    c.close(); a.close()
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"#;
    let rates = [(1001u16, 20.0), (1002, 50.0), (1003, 100.0)];
    struct Killed(Vec<Child>);
    impl Drop for Killed {
        fn drop(&mut self) {
            for c in &mut self.0 {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    let mut workers = Killed(Vec::new());
    for (port, rate) in rates {
        let mut child = ns
            .exec("python3")
            .args(["-B", "-c", PACED, &port.to_string(), &rate.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        workers.0.push(child);
    }
    let out = Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
        .args(["--netns", &ns.0, "--follow", "8s", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let flows = &v["flows"];
    assert_eq!(flows["following"], true, "{stderr}");
    assert_eq!(flows["lost"], 0);
    for (i, (port, rate)) in rates.iter().enumerate() {
        let pid = workers.0[i].id();
        let by_process = flows["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["pid"] == pid)
            .unwrap_or_else(|| panic!("no row for pid {pid}: {flows}"));
        let destination = format!("127.0.0.1:{port}");
        let by_destination = flows["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["destination"] == destination.as_str())
            .unwrap_or_else(|| panic!("no row for {destination}: {flows}"));
        for (what, row) in [("process", by_process), ("destination", by_destination)] {
            let measured = row["closed_per_second"].as_f64().unwrap();
            let off = (measured - rate).abs() / rate;
            println!("{what} at {rate}/s: measured {measured}/s");
            assert!(
                off <= 0.02,
                "{what} at {rate}/s measured {measured}/s ({:.1}% off): {row}",
                off * 100.0
            );
        }
    }
}

/// As an ordinary user (`nobody` when the suite runs as root): the snapshot commands work as
/// ever, and following either works (the kernel lets any user subscribe to sock_diag's destroy
/// groups) or is refused and said exactly once, never per refresh.
#[test]
fn unprivileged_following_works_or_is_said_once() {
    for args in [
        &["--follow", "1s", "--json"][..],
        &["check", "--follow", "1s", "--format", "json"][..],
        &["watch", "--format", "plain", "--count", "3", "-n", "0.2"][..],
    ] {
        let Some(out) = unprivileged(args) else {
            return skip("setpriv is not installed to drop root");
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let code = out.status.code();
        if args[0] == "check" {
            assert!(matches!(code, Some(0..=2)), "{args:?}: {code:?} {stderr}");
        } else {
            assert_eq!(code, Some(0), "{args:?}: {stderr}");
        }
        let said = stderr.matches("not following").count();
        assert!(said <= 1, "{args:?} said it {said} times: {stderr}");
        if args[0] == "watch" {
            assert_eq!(stdout.lines().count(), 3, "{stdout}");
            // Each record says the rates while following, and nothing of them otherwise.
            let rated = stdout.lines().filter(|l| l.contains(" closed=")).count();
            assert_eq!(rated, if said == 1 { 0 } else { 3 }, "{stdout}");
            continue;
        }
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert!(v["states"]["ESTABLISHED"].is_u64(), "{v}");
        let flows = &v["flows"];
        if said == 1 {
            assert_eq!(flows["following"], false, "{args:?}: {flows}");
            assert!(flows["not_following"].as_str().is_some(), "{flows}");
        } else {
            assert_eq!(flows["following"], true, "{args:?}: {stderr} {flows}");
        }
    }
}
