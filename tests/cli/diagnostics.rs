//! Every diagnostic rule on /proc trees built at test time: one scenario that triggers it (golden
//! table and JSON) and one just under its threshold that does not. Then bad context input, and
//! end-to-end runs on real sockets.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::scenario::*;
use crate::util::{finding_ids as ids, sockscope, stdout_of};

/// The trigger fires exactly `id` at `severity` (golden table and findings JSON); the near miss
/// fires nothing.
fn check(id: &str, severity: &str, trigger: Scenario, near_miss: Scenario) {
    let (table, v, dir) = trigger.run(&[]);
    assert_eq!(
        ids(&v),
        vec![(id.to_string(), severity.to_string())],
        "{table}"
    );
    crate::util::snapshot_settings(Some(dir.path())).bind(|| {
        insta::assert_snapshot!(format!("rule_{id}__table"), table);
        insta::assert_json_snapshot!(format!("rule_{id}__json"), v["findings"]);
    });
    let (table, v, _dir) = near_miss.run(&[]);
    assert_eq!(ids(&v), vec![], "near miss for {id} fired:\n{table}");
}

pub(crate) fn est(i: usize) -> (String, String, Sock) {
    (
        "10.0.0.1:8080".to_string(),
        format!("10.0.1.{}:{}", i % 200, 40000 + i),
        sock(ESTABLISHED),
    )
}

fn close_wait(n: usize) -> Scenario {
    Scenario::new()
        .many(100, est)
        .owned_by(4242, "java", n, |i| {
            let mut s = sock(CLOSE_WAIT);
            s.rx = u32::from(i % 5 != 0);
            ("10.0.0.1:8080".into(), format!("10.0.0.5:{}", 50000 + i), s)
        })
}

#[test]
fn close_wait_excess() {
    check(
        "close_wait_excess",
        "warning",
        close_wait(25),
        close_wait(19),
    );
    let (_, v, _) = close_wait(210).run(&[]);
    assert_eq!(
        ids(&v),
        vec![("close_wait_excess".into(), "critical".into())]
    );
    let culprits = v["findings"][0]["culprits"].as_array().unwrap();
    assert!(
        culprits.iter().any(|c| c["kind"] == "process"
            && c["pid"] == 4242
            && c["comm"] == "java"
            && c["count"] == 210),
        "{culprits:?}"
    );
    // Without process lookup the finding still names port and peer, and says so.
    let (table, v, _) = close_wait(25).run(&["--no-processes"]);
    assert!(!v["findings"][0]["culprits"].to_string().contains("process"));
    assert!(
        table.contains("processes not looked up (--no-processes)"),
        "{table}"
    );
}

/// `[rules.X] enabled = false` silences the rule everywhere it runs: `check` exits 0 and
/// neither `check` nor the summary reports it, even with thresholds it would cross.
#[test]
fn a_disabled_rule_raises_nothing() {
    let dir = close_wait(25).write();
    let config = dir.path().join("config.toml");
    let run = |args: &[&str]| {
        let out = sockscope()
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--proc-root")
            .arg(dir.path())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), ids(&v))
    };
    let fired = vec![("close_wait_excess".to_string(), "critical".to_string())];
    std::fs::write(&config, "[rules.close_wait_excess]\nwarn = 1\ncrit = 2\n").unwrap();
    assert_eq!(run(&["check", "--format", "json"]), (2, fired.clone()));
    assert_eq!(run(&["--json"]), (0, fired));
    std::fs::write(
        &config,
        "[rules.close_wait_excess]\nwarn = 1\ncrit = 2\nenabled = false\n",
    )
    .unwrap();
    assert_eq!(run(&["check", "--format", "json"]), (0, vec![]));
    assert_eq!(run(&["--json"]), (0, vec![]));
}

fn ports(n: usize) -> Scenario {
    Scenario::new()
        .set("ipv4/ip_local_port_range", "40000 40099")
        .many(n, |i| {
            let mut s = sock(TIME_WAIT);
            s.form = Form::Mini;
            s.timer = 3;
            s.owned = false;
            (format!("10.0.0.1:{}", 40000 + i), "10.0.0.5:5432".into(), s)
        })
}

#[test]
fn ephemeral_port_pressure() {
    check("ephemeral_port_pressure", "warning", ports(60), ports(49));
    let (_, v, _) = ports(85).run(&[]);
    assert_eq!(
        ids(&v),
        vec![("ephemeral_port_pressure".into(), "critical".into())]
    );
}

#[test]
fn time_wait_buckets() {
    let s = |tw| {
        Scenario::new()
            .set("ipv4/tcp_max_tw_buckets", "40000")
            .sockstat(0, tw, 5)
    };
    check("time_wait_buckets", "warning", s(34000), s(31900));
}

fn syn_flood(n: usize) -> Scenario {
    Scenario::new().many(n, |i| {
        let mut s = sock(SYN_RECV);
        s.form = Form::Mini;
        s.timer = 1;
        s.owned = false;
        s.retrans = u32::from(i % 2 == 0);
        (
            "10.0.0.1:443".into(),
            format!("198.51.100.{}:{}", i % 250, 30000 + i),
            s,
        )
    })
}

#[test]
fn syn_recv_flood() {
    // Half of 255 handshakes resent is a problem only on a listener without much traffic.
    let busy = Scenario::new()
        .many(1, |_| {
            ("10.0.0.1:443".into(), "0.0.0.0:0".into(), sock(LISTEN))
        })
        .many(2000, |i| {
            (
                "10.0.0.1:443".into(),
                format!("10.0.2.{}:{}", i % 200, 40000 + i),
                sock(ESTABLISHED),
            )
        });
    let mut near_miss = syn_flood(255);
    near_miss.v4.splice(0..0, busy.v4);
    check("syn_recv_flood", "warning", syn_flood(300), near_miss);
}

fn queue(n: u32) -> Scenario {
    Scenario::new().owned_by(900, "api", 1, move |_| {
        let mut s = sock(LISTEN);
        s.rx = n;
        ("10.0.0.1:8080".into(), "0.0.0.0:0".into(), s)
    })
}

#[test]
fn accept_queue_overflow() {
    check("accept_queue_overflow", "warning", queue(150), queue(99));
    // A queue at somaxconn is certainly full; the small somaxconn itself is worth an info note.
    let (_, v, _) = queue(129).set("core/somaxconn", "128").run(&[]);
    assert_eq!(
        ids(&v),
        vec![
            ("accept_queue_overflow".into(), "critical".into()),
            ("risky_settings".into(), "info".into())
        ]
    );
}

fn syn_sent(n: usize) -> Scenario {
    Scenario::new().owned_by(77, "worker", n, |i| {
        let mut s = sock(SYN_SENT);
        s.tx = 1;
        s.timer = 1;
        s.retrans = 2;
        (format!("10.0.0.1:{}", 41000 + i), "10.0.0.9:5432".into(), s)
    })
}

#[test]
fn syn_sent_stuck() {
    check("syn_sent_stuck", "warning", syn_sent(6), syn_sent(4));
}

fn orphans_in(state: u8, n: usize, retrans: u32) -> Scenario {
    Scenario::new().many(n, move |i| {
        let mut s = sock(state);
        s.owned = false;
        s.retrans = retrans;
        s.timer = 1;
        s.tx = 1;
        ("10.0.0.1:8080".into(), format!("10.0.0.7:{}", 42000 + i), s)
    })
}

#[test]
fn fin_wait1_excess() {
    check(
        "fin_wait1_excess",
        "warning",
        orphans_in(FIN_WAIT1, 55, 0),
        orphans_in(FIN_WAIT1, 49, 4).many(1000, est),
    );
}

#[test]
fn last_ack_excess() {
    check(
        "last_ack_excess",
        "warning",
        orphans_in(LAST_ACK, 50, 0),
        orphans_in(LAST_ACK, 49, 2).many(1000, est),
    );
}

#[test]
fn closing_excess() {
    check(
        "closing_excess",
        "warning",
        orphans_in(CLOSING, 10, 0),
        orphans_in(CLOSING, 9, 0),
    );
}

fn fin_wait2(n: usize) -> Scenario {
    Scenario::new().many(n, |i| {
        let mut s = sock(FIN_WAIT2);
        s.form = Form::Mini;
        s.timer = 3;
        s.owned = false;
        (format!("10.0.0.1:{}", 33000 + i), "10.0.0.7:80".into(), s)
    })
}

#[test]
fn fin_wait2_excess() {
    check(
        "fin_wait2_excess",
        "warning",
        fin_wait2(1000),
        fin_wait2(999),
    );
}

#[test]
fn orphans_near_limit() {
    let s = |orphan| Scenario::new().sockstat(orphan, 0, 5);
    check("orphans_near_limit", "warning", s(40000), s(32000));
}

#[test]
fn tcp_memory_pressure() {
    let s = |mem| {
        Scenario::new()
            .set("ipv4/tcp_mem", "100 200 300")
            .sockstat(0, 0, mem)
    };
    check("tcp_memory_pressure", "warning", s(210), s(199));
}

fn reader(rx: u32) -> Scenario {
    Scenario::new().owned_by(321, "consumer", 1, move |_| {
        let mut s = sock(ESTABLISHED);
        s.rx = rx;
        ("10.0.0.1:9092".into(), "10.0.0.8:50000".into(), s)
    })
}

#[test]
fn rx_backlog() {
    check(
        "rx_backlog",
        "warning",
        reader(2 << 20),
        reader((1 << 20) - 1),
    );
}

fn sender(retrans: u32) -> Scenario {
    Scenario::new().many(1, move |_| {
        let mut s = sock(ESTABLISHED);
        s.tx = 65536;
        s.timer = 1;
        s.retrans = retrans;
        ("10.0.0.1:50000".into(), "203.0.113.9:443".into(), s)
    })
}

#[test]
fn tx_backlog() {
    check("tx_backlog", "warning", sender(6), sender(4));
    let (_, v, _) = sender(12).run(&[]);
    assert_eq!(ids(&v), vec![("tx_backlog".into(), "critical".into())]);
}

#[test]
fn conntrack_near_limit() {
    let s = |count| {
        let mut s = Scenario::new();
        s.conntrack = Some((count, 1000));
        s
    };
    check("conntrack_near_limit", "warning", s(800), s(749));
}

#[test]
fn risky_settings() {
    check(
        "risky_settings",
        "info",
        Scenario::new().set("ipv4/tcp_syncookies", "0"),
        Scenario::new(),
    );
    // A small TIME_WAIT limit (a fresh namespace's default) is noted only once it is in use.
    let small = |tw| {
        Scenario::new()
            .set("ipv4/tcp_max_tw_buckets", "16384")
            .sockstat(0, tw, 5)
    };
    let (_, v, _) = small(100).run(&[]);
    assert_eq!(ids(&v), vec![]);
    let (_, v, _) = small(5000).run(&[]);
    assert_eq!(ids(&v), vec![("risky_settings".into(), "info".into())]);
}

#[test]
fn a_quiet_machine_has_no_findings() {
    let (table, v, _) = Scenario::new().many(500, est).run(&[]);
    assert_eq!(ids(&v), vec![]);
    assert!(table.contains("No problems found (16 checks)."), "{table}");
    assert_eq!(v["collection"]["diagnostics"]["processes"], "not_needed");
}

#[test]
fn missing_or_malformed_context_skips_rules_and_raises_nothing() {
    // tcp_mem with two fields, an empty port range, a directory instead of tcp_max_orphans, no
    // sockstat: the rules that need them say why, and nothing fires on a guess.
    let scenario = close_wait(0)
        .set("ipv4/tcp_mem", "100 200")
        .set("ipv4/ip_local_port_range", "")
        .sockstat(999_999, 999_999, 999_999);
    let dir = scenario.write();
    fs::remove_file(dir.path().join("sys/net/ipv4/tcp_max_orphans")).unwrap();
    fs::create_dir(dir.path().join("sys/net/ipv4/tcp_max_orphans")).unwrap();
    fs::write(dir.path().join("net/sockstat"), "TCP: inuse x orphan\n").unwrap();
    fs::write(
        dir.path().join("net/netstat"),
        "TcpExt: A B\nTcpExt: 1 nonsense\nGarbage\n",
    )
    .unwrap();
    let out = sockscope()
        .args(["--json", "--proc-root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&v), vec![]);
    let skipped = v["collection"]["diagnostics"]["rules_skipped"].to_string();
    for id in [
        "ephemeral_port_pressure",
        "orphans_near_limit",
        "tcp_memory_pressure",
    ] {
        assert!(skipped.contains(id), "{id} not skipped: {skipped}");
    }
    assert!(
        skipped.contains("is a directory") || skipped.contains("sockstat unknown"),
        "{skipped}"
    );
    let missing = v["collection"]["diagnostics"]["context_missing"].to_string();
    assert!(missing.contains("tcp_max_orphans"), "{missing}");
}

/// Runs this test binary again as a helper process (see `helper_close_wait_server`).
fn helper(name: &str, env: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            &format!("diagnostics::{name}"),
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Not a test: the child process of `a_child_leaking_close_wait_is_named`. It listens, accepts,
/// and never closes; it exits when its stdin closes.
#[test]
#[ignore = "helper process, run by another test"]
fn helper_close_wait_server() {
    if std::env::var_os("SOCKSCOPE_HELPER_CW").is_none() {
        return;
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    println!("port {}", listener.local_addr().unwrap().port());
    std::io::stdout().flush().unwrap();
    let mut held = Vec::new();
    let mut line = String::new();
    let count: usize = {
        std::io::stdin().read_line(&mut line).unwrap();
        line.trim().parse().unwrap()
    };
    for _ in 0..count {
        held.push(listener.accept().unwrap().0);
    }
    println!("accepted");
    std::io::stdout().flush().unwrap();
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
}

fn established_now() -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .map(|f| {
            fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .filter(|l| l.split_whitespace().nth(3) == Some("01"))
                .count()
        })
        .sum()
}

#[test]
fn a_child_leaking_close_wait_is_named() {
    let mut child = helper("helper_close_wait_server", "SOCKSCOPE_HELPER_CW");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let port: u16 = loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "helper exited");
        // libtest prints "test NAME ... " first, on the same line.
        if let Some((_, p)) = line.split_once("port ") {
            break p.trim().parse().unwrap();
        }
    };
    // Enough to cross 5% of ESTABLISHED on whatever machine this runs on.
    let n = 25.max(established_now() / 10 + 5);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{n}").unwrap();
    let clients: Vec<TcpStream> = (0..n)
        .map(|_| TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap())
        .collect();
    loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "helper exited");
        if line.contains("accepted") {
            break;
        }
    }
    drop(clients); // the peer closes: the helper's sockets go to CLOSE_WAIT
    std::thread::sleep(Duration::from_millis(100));
    let json = stdout_of(sockscope().args(["--json", "--port", &port.to_string()]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "close_wait_excess")
        .unwrap_or_else(|| panic!("no close_wait_excess in {json}"))
        .clone();
    let culprits = finding["culprits"].as_array().unwrap();
    assert!(
        culprits
            .iter()
            .any(|c| c["kind"] == "process" && c["pid"] == child.id() && c["count"] == n),
        "{culprits:?}"
    );
    assert!(
        culprits
            .iter()
            .any(|c| c["kind"] == "local_port" && c["port"] == port),
        "{culprits:?}"
    );
    drop(stdin);
    let _ = child.wait();
}

#[test]
fn a_listener_that_never_accepts_is_named() {
    // Backlog 128 (below somaxconn on any current kernel): 129 connections fill the queue.
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let clients: Vec<TcpStream> = (0..129)
        .map(|_| TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap())
        .collect();
    let json = stdout_of(sockscope().args(["--json", "--port", &port.to_string()]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "accept_queue_overflow")
        .unwrap_or_else(|| panic!("no accept_queue_overflow in {json}"))
        .clone();
    assert_eq!(finding["evidence"][0]["queued"], 129);
    let culprits = finding["culprits"].as_array().unwrap();
    assert!(
        culprits
            .iter()
            .any(|c| c["kind"] == "local_port" && c["port"] == port),
        "{culprits:?}"
    );
    assert!(
        culprits
            .iter()
            .any(|c| c["kind"] == "process" && c["pid"] == std::process::id()),
        "{culprits:?}"
    );
    drop(clients);
}
