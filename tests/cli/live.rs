//! End to end on real sockets: the test opens loopback connections in known states and checks
//! the binary's counts for its own ports, exactly. Other sockets on the machine cannot disturb
//! this: every check filters on a listener port that no other socket used when it was chosen.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{fresh_listener, have_tool, netstat_name, skip, sockscope, stdout_of};

/// Sockets in known states around one listener. Dropping it closes them.
struct Scene {
    port: u16,
    _keep: Vec<TcpStream>,
    _listener: TcpListener,
}

/// Per port: LISTEN 1, ESTABLISHED 4 (2 pairs), CLOSE_WAIT 5 and FIN_WAIT2 5 (3 clients closed,
/// 2 clients shut down for writing), TIME_WAIT 1 (client closed first, then the server).
fn build_scene(ip: std::net::IpAddr) -> Option<Scene> {
    let listener = fresh_listener(ip)?;
    let addr = listener.local_addr().unwrap();
    let mut keep = Vec::new();
    let pair = || {
        let client = TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    };
    for _ in 0..2 {
        let (c, s) = pair();
        keep.extend([c, s]);
    }
    for _ in 0..3 {
        let (c, s) = pair();
        drop(c); // client: orphaned FIN_WAIT2; server: CLOSE_WAIT
        keep.push(s);
    }
    for _ in 0..2 {
        let (c, s) = pair();
        c.shutdown(Shutdown::Write).unwrap(); // client: FIN_WAIT2 with its fd; server: CLOSE_WAIT
        keep.extend([c, s]);
    }
    let (c, s) = pair();
    drop(c);
    std::thread::sleep(Duration::from_millis(20));
    drop(s); // server: LAST_ACK then closed; client: TIME_WAIT
    Some(Scene {
        port: addr.port(),
        _keep: keep,
        _listener: listener,
    })
}

fn expected() -> BTreeMap<String, u64> {
    [
        ("LISTEN", 1),
        ("ESTABLISHED", 4),
        ("CLOSE_WAIT", 5),
        ("FIN_WAIT2", 5),
        ("TIME_WAIT", 1),
    ]
    .into_iter()
    .map(|(s, n)| (s.to_string(), n))
    .collect()
}

fn plain_counts(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (state, n) = l.rsplit_once(' ')?;
            Some((state.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// Loopback state changes are quick but not instant: retry briefly before judging.
fn eventually<T: PartialEq + std::fmt::Debug>(want: &T, mut got: impl FnMut() -> T) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let value = got();
        if &value == want || Instant::now() > deadline {
            assert_eq!(&value, want);
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn family_flag(scene_ip: std::net::IpAddr) -> &'static str {
    if scene_ip.is_ipv4() { "-4" } else { "-6" }
}

fn check_scene(ip: std::net::IpAddr) {
    let Some(scene) = build_scene(ip) else {
        return skip(format!(
            "cannot listen on {ip} (no loopback for this family)"
        ));
    };
    let port = scene.port.to_string();
    eventually(&expected(), || {
        plain_counts(&stdout_of(
            sockscope().args(["--format", "plain", "--port", &port]),
        ))
    });

    let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
    let other = if ip.is_ipv4() { "ipv6" } else { "ipv4" };
    let json = stdout_of(sockscope().args(["--json", "--port", &port]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for (state, n) in expected() {
        assert_eq!(v["states"][&state], n, "{state} in {json}");
        assert_eq!(v["families"][family][&state], n, "{state} in {json}");
        assert_eq!(v["families"][other][&state], 0, "{state} in {json}");
    }
    assert_eq!(v["total"], 16);

    // Filters compose: one state, one side of the connection, one family.
    let only = plain_counts(&stdout_of(sockscope().args([
        "--format",
        "plain",
        "--state",
        "close-wait",
        "--sport",
        &port,
        family_flag(ip),
    ])));
    assert_eq!(only, BTreeMap::from([("CLOSE_WAIT".to_string(), 5)]));
    let connected = plain_counts(&stdout_of(sockscope().args([
        "--format",
        "plain",
        "--state",
        "connected",
        "--port",
        &port,
    ])));
    assert_eq!(connected.get("LISTEN"), None);
    assert_eq!(connected.values().sum::<u64>(), 15);

    compare_with_ss(&port);
    compare_with_netstat(&port);
    compare_list_with_ss(&port);
    compare_sources(&port);
}

/// The two sources agree exactly, state by state and family by family.
fn compare_sources(port: &str) {
    let counts = |source: &str| {
        let json = stdout_of(sockscope().args([
            "--json",
            "--no-processes",
            "--source",
            source,
            "--port",
            port,
        ]));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["collection"]["source"], source, "{json}");
        (v["families"].clone(), v["states"].clone())
    };
    let proc = counts("proc");
    if sockscope()
        .args(["--source", "netlink"])
        .output()
        .unwrap()
        .status
        .success()
    {
        assert_eq!(counts("netlink"), proc, "netlink and /proc disagree");
    } else {
        skip("the netlink comparison: sock_diag is not available here");
    }
}

/// `sockscope list` (netlink, the default) and `ss -tan` with the same filter agree row for row:
/// state, queues (a listener's Send-Q is its backlog in both), addresses.
fn compare_list_with_ss(port: &str) {
    let filter = format!("( sport = :{port} or dport = :{port} )");
    if !have_tool("ss", "iproute2") {
        return skip("the ss row comparison: ss is not installed");
    }
    let out = Command::new("ss")
        .args(["-tanH", &filter])
        .output()
        .unwrap();
    let unmap = |addr: &str| -> String {
        // ss shows IPv4 peers of dual-stack sockets as [::ffff:a.b.c.d]; we show a.b.c.d.
        match addr
            .strip_prefix("[::ffff:")
            .and_then(|a| a.split_once(']'))
        {
            Some((v4, port)) => format!("{v4}{port}"),
            None => addr.to_string(),
        }
    };
    let mut theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let state = netstat_name(f[0]);
            format!("{state} {} {} {} {}", f[1], f[2], unmap(f[3]), unmap(f[4]))
        })
        .collect();
    let mut ours: Vec<String> =
        stdout_of(sockscope().args(["list", "--format", "plain", "--port", port]))
            .lines()
            .map(str::to_string)
            .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs, "sockscope list vs ss -tan '{filter}'");
}

#[test]
fn counts_real_ipv4_sockets_exactly() {
    check_scene(Ipv4Addr::LOCALHOST.into());
}

#[test]
fn counts_real_ipv6_sockets_exactly() {
    check_scene(Ipv6Addr::LOCALHOST.into());
}

/// `ss -tan` over the same port must agree state for state.
fn compare_with_ss(port: &str) {
    let filter = format!("( sport = :{port} or dport = :{port} )");
    if !have_tool("ss", "iproute2") {
        return skip("the ss cross-check: ss is not installed");
    }
    let out = Command::new("ss")
        .args(["-tanH", &filter])
        .output()
        .unwrap();
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(state) = line.split_whitespace().next() {
            *counts.entry(netstat_name(state)).or_insert(0u64) += 1;
        }
    }
    let ours = plain_counts(&stdout_of(
        sockscope().args(["--format", "plain", "--port", port]),
    ));
    assert_eq!(ours, counts, "sockscope vs ss -tan '{filter}'");
}

/// The seed one-liner, restricted to our port, must agree too.
fn compare_with_netstat(port: &str) {
    if !have_tool("netstat", "net-tools") {
        return skip("the netstat cross-check: netstat is not installed");
    }
    let out = Command::new("netstat").arg("-tan").output().unwrap();
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 6 && f[0].starts_with("tcp") {
            let ours = |a: &str| a.rsplit_once(':').is_some_and(|(_, p)| p == port);
            if ours(f[3]) || ours(f[4]) {
                *counts.entry(f[f.len() - 1].to_string()).or_insert(0u64) += 1;
            }
        }
    }
    let ours = plain_counts(&stdout_of(
        sockscope().args(["--format", "plain", "--port", port]),
    ));
    assert_eq!(ours, counts, "sockscope vs netstat -tan");
}

#[test]
fn summary_table_on_the_live_system_renders() {
    let out = stdout_of(&mut sockscope());
    assert!(out.starts_with("TCP sockets in net:["), "{out}");
    for state in ["LISTEN", "ESTABLISHED", "CLOSE_WAIT", "TIME_WAIT", "Total"] {
        assert!(out.contains(state), "{out}");
    }
    let _ = std::io::stdout().flush();
}

/// Where a kernel refuses the one request for both families (`SOCKSCOPE_TEST_FAULT=netlink-both`),
/// the count and the evidence's tcp_info dump ask per family: the same sockets, still through
/// sock_diag, and the CLOSE_WAIT sockets still dated.
#[test]
fn a_refused_both_families_request_is_asked_per_family() {
    if crate::util::sockscope()
        .args(["--format", "plain", "--source", "netlink"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        return skip("netlink sock_diag is not available here");
    }
    let scenes: Vec<Scene> = [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
        .into_iter()
        .filter_map(build_scene)
        .collect();
    if scenes.len() < 2 {
        return skip("no IPv6 loopback here: both families are needed");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[rules.close_wait_excess]\nwarn = 1\nwarn_share_of_established = 0.0\n",
    )
    .unwrap();
    for scene in &scenes {
        let port = scene.port.to_string();
        let list = |fault: Option<&str>| {
            let mut cmd = sockscope();
            cmd.args(["list", "--format", "plain", "--port", &port]);
            if let Some(f) = fault {
                cmd.env("SOCKSCOPE_TEST_FAULT", f);
            }
            let mut rows: Vec<String> = stdout_of(&mut cmd).lines().map(String::from).collect();
            rows.sort();
            rows
        };
        let both = list(None);
        assert!(both.len() >= 12, "the scene's sockets: {both:?}");
        eventually(&both, || list(Some("netlink-both")));

        let doc: serde_json::Value = serde_json::from_str(&stdout_of(
            sockscope()
                .args(["--json", "--no-processes", "--port", &port, "--config"])
                .arg(&config)
                .env("SOCKSCOPE_TEST_FAULT", "netlink-both"),
        ))
        .unwrap();
        assert_eq!(doc["collection"]["source"], "netlink", "{doc:#}");
        let finding = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "close_wait_excess")
            .unwrap_or_else(|| panic!("no close_wait_excess: {doc:#}"));
        let dated = finding["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "ages" && e["state"] == "CLOSE_WAIT")
            .unwrap_or_else(|| panic!("no CLOSE_WAIT ages: {finding:#}"));
        assert_eq!(dated["sockets"], 5, "{dated:#}");
    }
}
