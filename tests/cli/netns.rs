//! `--all-netns` and `--netns` on real namespaces: as root, `ip netns add` namespaces holding
//! loopback sockets in known states, counted exactly per namespace and matched with
//! `ip netns exec NAME ss -tan`. Skipped, with the reason printed, where that cannot run.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::Command as Process;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
use serde_json::Value;

use crate::util::{have_tool, is_root, skip, sockscope, stdout_of, unprivileged};

/// Namespaces made for one test, deleted (with their sockets) when dropped.
struct Namespaces {
    names: Vec<String>,
    held: Vec<Held>,
}

struct Held {
    _listener: TcpListener,
    _pairs: Vec<(TcpStream, TcpStream)>,
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        self.held.clear();
        for name in &self.names {
            let _ = Process::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    Process::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes a namespace with loopback up, or says why not.
pub(crate) fn make(name: &str) -> Result<(), String> {
    if !is_root() {
        return Err("needs root (ip netns add)".into());
    }
    if !have_tool("ip", "iproute2") {
        return Err("ip is not installed (iproute2)".into());
    }
    // A namespace of this name left by a killed run; usually there is none.
    let _ = Process::new("ip")
        .args(["netns", "del", name])
        .stderr(std::process::Stdio::null())
        .status();
    if !ip(&["netns", "add", name]) {
        return Err("`ip netns add` failed".into());
    }
    if !ip(&["netns", "exec", name, "ip", "link", "set", "lo", "up"]) {
        return Err("cannot bring up loopback in the new namespace".into());
    }
    Ok(())
}

/// Inside namespace `name`: a listener with `established` open connections and `close_wait`
/// connections whose clients shut down writing (CLOSE_WAIT here, FIN_WAIT2 there).
fn sockets_in(name: &str, established: usize, close_wait: usize) -> Held {
    let ns = File::open(format!("/run/netns/{name}")).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let pairs = (0..established + close_wait)
                .map(|i| {
                    let client = TcpStream::connect(addr).unwrap();
                    let (server, _) = listener.accept().unwrap();
                    if i >= established {
                        client.shutdown(Shutdown::Write).unwrap();
                        // The FIN has arrived once the server reads the end of the stream.
                        assert_eq!((&server).read(&mut [0u8; 1]).unwrap(), 0);
                    }
                    (client, server)
                })
                .collect();
            Held {
                _listener: listener,
                _pairs: pairs,
            }
        })
        .join()
        .unwrap()
    })
}

/// `ss -tan` in the namespace, counted by state as netstat names them.
fn ss_counts(name: &str) -> Option<BTreeMap<String, u64>> {
    let out = Process::new("ip")
        .args(["netns", "exec", name, "ss", "-tan"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
        let state = match line.split_whitespace().next()? {
            "ESTAB" => "ESTABLISHED",
            "LISTEN" => "LISTEN",
            "CLOSE-WAIT" => "CLOSE_WAIT",
            "FIN-WAIT-2" => "FIN_WAIT2",
            "TIME-WAIT" => "TIME_WAIT",
            other => other,
        };
        *counts.entry(state.to_string()).or_insert(0) += 1;
    }
    Some(counts)
}

/// Waits (up to 2 s) until the FINs sent have been acknowledged: a client that shut down
/// writing is FIN_WAIT1 until then, and FIN_WAIT2 after, which is what the tests count.
fn settle(name: &str) {
    for _ in 0..100 {
        match ss_counts(name) {
            Some(counts) if counts.contains_key("FIN-WAIT-1") => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => return,
        }
    }
}

fn nonzero(states: &Value) -> BTreeMap<String, u64> {
    states
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)).filter(|(_, n)| *n > 0))
        .collect()
}

fn setup(tag: &str, shapes: &[(usize, usize)]) -> Result<Namespaces, String> {
    let mut made = Namespaces {
        names: Vec::new(),
        held: Vec::new(),
    };
    for (i, &(established, close_wait)) in shapes.iter().enumerate() {
        let name = format!("sockscope-t{}-{tag}{i}", std::process::id());
        made.names.push(name.clone());
        make(&name)?;
        made.held.push(sockets_in(&name, established, close_wait));
        settle(&name);
    }
    Ok(made)
}

#[test]
fn every_namespace_is_counted_exactly_and_named() {
    let made = match setup("all", &[(3, 0), (1, 30), (0, 0)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let json = stdout_of(sockscope().args(["--all-netns", "--json"]));
    let doc: Value = serde_json::from_str(&json).unwrap();
    let namespaces = doc["namespaces"].as_array().unwrap();
    let mut total = 0;
    for n in namespaces {
        total += n["total"].as_u64().unwrap();
    }
    assert_eq!(doc["total"].as_u64().unwrap(), total, "host-wide total");
    let expected = [
        // (LISTEN, ESTABLISHED, CLOSE_WAIT, FIN_WAIT2)
        [
            (1, "LISTEN"),
            (6, "ESTABLISHED"),
            (0, "CLOSE_WAIT"),
            (0, "FIN_WAIT2"),
        ],
        [
            (1, "LISTEN"),
            (2, "ESTABLISHED"),
            (30, "CLOSE_WAIT"),
            (30, "FIN_WAIT2"),
        ],
        [
            (1, "LISTEN"),
            (0, "ESTABLISHED"),
            (0, "CLOSE_WAIT"),
            (0, "FIN_WAIT2"),
        ],
    ];
    for (name, want) in made.names.iter().zip(expected) {
        let n = namespaces
            .iter()
            .find(|n| n["names"][0] == name.as_str())
            .unwrap_or_else(|| panic!("{name} in {json}"));
        assert_eq!(n["kind"], "named");
        let got = nonzero(&n["states"]);
        let want: BTreeMap<String, u64> = want
            .iter()
            .filter(|(c, _)| *c > 0)
            .map(|(c, s)| (s.to_string(), *c))
            .collect();
        assert_eq!(got, want, "{name}");
        match ss_counts(name) {
            Some(ss) => assert_eq!(got, ss, "{name} against ss -tan"),
            None => skip(format!(
                "the ss comparison in {name}: `ip netns exec {name} ss -tan` failed"
            )),
        }
    }
    // The leak is found in the namespace that has it, and only there.
    let leak = &made.names[1];
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["id"] == "close_wait_excess" && f["namespace"] == leak.as_str()),
        "{json}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["namespace"] == made.names[0].as_str()),
        "{json}"
    );
    let text = stdout_of(sockscope().arg("--all-netns"));
    assert!(text.contains(&format!("in netns {leak}")), "{text}");
}

#[test]
fn one_namespace_by_name_or_path() {
    let made = match setup("one", &[(2, 1)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let name = &made.names[0];
    let path = format!("/run/netns/{name}");
    for selector in [name.as_str(), path.as_str()] {
        let plain = stdout_of(sockscope().args(["--netns", selector, "--format", "plain"]));
        let mut lines: Vec<&str> = plain.lines().collect();
        lines.sort();
        assert_eq!(
            lines,
            ["CLOSE_WAIT 1", "ESTABLISHED 4", "FIN_WAIT2 1", "LISTEN 1"],
            "{selector}"
        );
    }
    let out = sockscope()
        .args(["--netns", "no-such-namespace-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--netns 'no-such-namespace-here'"));

    // Asked for by name and not read (an ordinary user may not enter it): never "OK, 0
    // sockets", but UNKNOWN, saying why.
    let Some(out) = unprivileged(&["check", "--netns", &path, "--format", "nagios"]) else {
        return skip("cannot run sockscope as nobody here: setpriv is not installed");
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.starts_with(&format!(
            "SOCKSCOPE UNKNOWN - cannot read network namespace {name}: "
        )),
        "{text}"
    );
    // A namespace file it may not even look at (root's pid 1) is no unknown name: why it
    // could not be read is said.
    if is_root() {
        let args = ["check", "--netns", "/proc/1/ns/net", "--format", "nagios"];
        if let Some(out) = unprivileged(&args) {
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(3), "{text}");
            assert!(
                text.starts_with("SOCKSCOPE UNKNOWN - cannot read '/proc/1/ns/net': "),
                "{text}"
            );
        }
    }
    let Some(out) = unprivileged(&["--netns", &path, "--format", "plain"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(2), "the summary fails too");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot read network namespace {name}: ")),
        "plain says on stderr what it could not read: {err}"
    );
}

/// An ordinary user's sweep cannot enter the namespaces root made: check names each one it
/// could not read, in a NOTE with why; without a limit of its own (none by default for an
/// ordinary user) that alone is not UNKNOWN, and with `--max-unread 0` it is at least that.
/// The summary never says "no problems" of what it did not read, and plain output says on
/// stderr what it could not read.
#[test]
fn an_ordinary_users_sweep_names_the_namespaces_it_could_not_read() {
    let made = match setup("unread", &[(1, 0)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let name = &made.names[0];
    // Ten are named one by one, the rest counted: other tests may have made more meanwhile.
    let named = |line: &str| line.contains(name.as_str()) || line.contains(" more");
    let args = ["check", "--all-netns", "--format", "nagios"];
    let Some(out) = unprivileged(&args) else {
        return skip("cannot run sockscope as nobody here: setpriv is not installed");
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let note = text
        .lines()
        .find(|l| l.starts_with("NOTE: ") && l.contains("could not be read: "))
        .unwrap_or_else(|| panic!("no NOTE: {text}"));
    assert!(named(note), "{text}");
    assert!(
        !note.contains(name.as_str())
            || text.contains(&format!(
                "\n  netns {name}: cannot enter the network namespace"
            )),
        "{text}"
    );
    assert!(
        text.lines()
            .next()
            .unwrap_or_default()
            .contains(" network namespaces not read |"),
        "the status line says it too: {text}"
    );
    assert!(
        !text.starts_with("SOCKSCOPE UNKNOWN"),
        "no limit by default: {text}"
    );
    let Some(out) = unprivileged(&[&args[..], &["--max-unread", "0"]].concat()) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // UNKNOWN, or the WARNING/CRITICAL of a problem on the host, which ranks above it.
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("(more than --max-unread 0): "), "{text}");

    // The summary: "no problems" only of what was read.
    let Some(out) = unprivileged(&["--all-netns"]) else {
        return;
    };
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(table.contains(" could not be read:\n"), "{table}");
    assert!(!table.contains("No problems found ("), "{table}");
    assert!(
        !table.contains("No problems found") || table.contains("; nothing was checked in the "),
        "{table}"
    );
    // Plain output keeps stdout for awk and says on stderr what it could not read.
    let Some(out) = unprivileged(&["--all-netns", "--format", "plain"]) else {
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let warning = err
        .lines()
        .find(|l| l.starts_with("sockscope: warning: ") && l.contains(" could not be read: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(named(warning), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .all(|l| l.split(' ').count() == 2),
        "only STATE COUNT lines on stdout"
    );
}
