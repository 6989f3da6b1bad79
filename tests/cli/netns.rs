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

mod findings;

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

/// `f` on a thread moved into namespace `name`: the sockets it makes are that namespace's.
fn inside<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> T {
    let ns = File::open(format!("/run/netns/{name}")).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).unwrap();
            f()
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

/// A listener with a backlog of `backlog` inside namespace `name`, and `backlog + 1`
/// connections it never accepts: its accept queue is full (accept_queue_overflow, whose next
/// steps include `nstat`).
fn full_queue_in(name: &str, backlog: i32) -> (TcpListener, Vec<TcpStream>, u16) {
    use rustix::net::{AddressFamily, SocketType, bind, listen, socket};
    let ns = File::open(format!("/run/netns/{name}")).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).unwrap();
            let fd = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
            let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
            bind(&fd, &any).unwrap();
            listen(&fd, backlog).unwrap();
            let listener = TcpListener::from(fd);
            let port = listener.local_addr().unwrap().port();
            let clients = (0..=backlog)
                .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
                .collect();
            (listener, clients, port)
        })
        .join()
        .unwrap()
    })
}

/// The next steps of the finding `id` in namespace `ns` of a JSON document.
fn steps_of(doc: &Value, id: &str, ns: &str) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id && f["namespace"] == ns)
        .unwrap_or_else(|| panic!("no {id} in {ns}: {doc:#}"))["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The rows `ss` printed under its header (`ss … state S` leaves the state column out).
fn rows(ss: &str) -> usize {
    ss.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Recv-Q"))
        .count()
}

/// Runs a suggested step as a person would paste it; its standard output.
fn paste(step: &str) -> String {
    let out = Process::new("sh").args(["-c", step]).output().unwrap();
    assert!(
        out.status.success(),
        "`{step}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A namespace with an iproute2 name is entered with `ip netns exec NAME`, for every command
/// that reads a network namespace (`ss` and `nstat` alike), and every format shows the same
/// command: pasted, it finds the sockets the finding is about.
#[test]
fn next_steps_enter_a_named_namespace_with_ip_netns_exec() {
    let made = match setup("steps", &[(0, 30)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let name = made.names[0].as_str();
    let (_listener, _queued, queue_port) = full_queue_in(name, 4);
    let doc: Value =
        serde_json::from_str(&stdout_of(sockscope().args(["--all-netns", "--json"]))).unwrap();
    let leak = steps_of(&doc, "close_wait_excess", name);
    let ss = leak
        .iter()
        .find(|s| s.contains("ss -tnp state close-wait"))
        .unwrap_or_else(|| panic!("{leak:?}"));
    assert!(
        ss.starts_with(&format!("ip netns exec {name} ss -tnp state close-wait")),
        "{leak:?}"
    );
    let found = paste(ss);
    assert_eq!(rows(&found), 30, "`{ss}` printed:\n{found}");
    let queue = steps_of(&doc, "accept_queue_overflow", name);
    assert_eq!(
        queue[..2],
        [
            format!(
                "ip netns exec {name} ss -lntp '( sport = :{queue_port} )'   # Recv-Q (waiting) against Send-Q (the backlog)"
            ),
            format!("ip netns exec {name} nstat -az TcpExtListenOverflows TcpExtListenDrops"),
        ],
        "{queue:?}"
    );
    // The same commands in the text, in check's JSON and in watch's records.
    let text = stdout_of(sockscope().args(["--all-netns"]));
    for step in leak.iter().chain(&queue) {
        assert!(text.contains(step.as_str()), "{step} in:\n{text}");
    }
    let check = sockscope()
        .args(["check", "--all-netns", "--format", "json"])
        .output()
        .unwrap();
    assert!(matches!(check.status.code(), Some(1 | 2)), "{check:?}");
    let check: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(steps_of(&check, "close_wait_excess", name), leak);
    assert_eq!(steps_of(&check, "accept_queue_overflow", name), queue);
    let watch =
        stdout_of(sockscope().args(["watch", "--all-netns", "--format", "json", "--count", "1"]));
    let record: Value = serde_json::from_str(watch.lines().next().unwrap()).unwrap();
    // A piped record says in which namespace each finding is.
    let plain =
        stdout_of(sockscope().args(["watch", "--all-netns", "--format", "plain", "--count", "1"]));
    assert!(
        plain.contains(&format!("close_wait_excess@{name}")),
        "{plain}"
    );
    assert_eq!(steps_of(&record, "close_wait_excess", name), leak);
    assert_eq!(steps_of(&record, "accept_queue_overflow", name), queue);
}

/// A process started in a namespace and dropped at the end of the test (killed, reaped).
struct Member(std::process::Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A namespace without a name (its `/run/netns` entry removed, its processes keep it) is
/// entered through the process holding the finding's sockets, when it is in there; without
/// owners, through the process that has been in it longest: never one that comes and goes.
#[test]
fn next_steps_enter_an_unnamed_namespace_through_its_holder() {
    if !have_tool("python3", "python3") {
        return skip("python3 is not installed");
    }
    let mut made = match setup("holder", &[(0, 0)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let name = made.names[0].clone();
    let spawn = |args: &[&str]| {
        Member(
            Process::new("ip")
                .args(["netns", "exec", &name])
                .args(args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    // The oldest member, then the server that leaks.
    let sleeper = spawn(&["sleep", "600"]);
    let script = crate::util::root().join("tests/fixtures/servers/never_close.py");
    let server = spawn(&[
        "python3",
        "-B",
        script.to_str().unwrap(),
        "127.0.0.2",
        "8080",
    ]);
    let listening = (0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        paste(&format!("ip netns exec {name} ss -Htln 'sport = :8080'")).contains("8080")
    });
    assert!(listening, "never_close.py does not listen");
    let ns = File::open(format!("/run/netns/{name}")).unwrap();
    let clients: Vec<TcpStream> = std::thread::scope(|s| {
        s.spawn(|| {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).unwrap();
            (0..30)
                .map(|_| {
                    let c = TcpStream::connect("127.0.0.2:8080").unwrap();
                    c.shutdown(Shutdown::Write).unwrap();
                    c
                })
                .collect()
        })
        .join()
        .unwrap()
    });
    let waiting = (0..400).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        ss_counts(&name).is_some_and(|c| c.get("CLOSE_WAIT") == Some(&30))
    });
    assert!(waiting, "30 CLOSE_WAIT in {name}: {:?}", ss_counts(&name));
    // Unnamed from now on: only its processes (and our clients) keep it.
    assert!(ip(&["netns", "del", &name]));
    made.names.clear();
    let (sleep_pid, server_pid) = (sleeper.0.id(), server.0.id());
    let inode = std::fs::read_link(format!("/proc/{sleep_pid}/ns/net")).unwrap();
    let id = inode.to_string_lossy().into_owned();
    let selector = format!("pid:{sleep_pid}");
    let run = |extra: &[&str]| -> Vec<String> {
        let json = stdout_of(
            sockscope()
                .args(["--netns", &selector, "--json"])
                .args(extra),
        );
        steps_of(
            &serde_json::from_str(&json).unwrap(),
            "close_wait_excess",
            &id,
        )
    };
    let ss = "ss -tnp state close-wait '( sport = :8080 )'";
    let named = run(&[]);
    assert_eq!(
        named[0],
        format!("nsenter -t {server_pid} -n {ss}"),
        "{named:?}"
    );
    assert!(
        named[1].starts_with(&format!("lsof -nP -p {server_pid} ")),
        "{named:?}"
    );
    let blind = run(&["--no-processes"]);
    assert_eq!(
        blind[0],
        format!("nsenter -t {sleep_pid} -n {ss}"),
        "{blind:?}"
    );
    for step in [&named[0], &blind[0]] {
        let found = paste(step);
        assert_eq!(rows(&found), 30, "`{step}` printed:\n{found}");
    }
    drop(clients);
}

/// The reason `id` was skipped, from a document's `collection.diagnostics`.
fn skipped_because(doc: &Value, id: &str) -> Option<String> {
    doc["collection"]["diagnostics"]["rules_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["reason"].as_str().unwrap().to_string())
}

/// A namespace's own sysctls are read from inside it: in a sweep, ephemeral-port pressure is
/// judged against that namespace's `ip_local_port_range`, not skipped as with `--pid`. Where
/// it cannot be entered (an ordinary user), the rules say so.
#[test]
fn a_namespace_is_judged_by_its_own_sysctls() {
    let made = match setup("sysctl", &[(0, 0)]) {
        Ok(made) => made,
        Err(why) => return skip(why),
    };
    let name = made.names[0].as_str();
    assert!(ip(&[
        "netns",
        "exec",
        name,
        "sysctl",
        "-qw",
        "net.ipv4.ip_local_port_range=40000 40099",
    ]));
    assert!(ip(&[
        "netns",
        "exec",
        name,
        "sysctl",
        "-qw",
        "net.ipv4.tcp_max_tw_buckets=32",
    ]));
    // 60 of its 100 ephemeral ports toward one destination, and 30 TIME_WAIT (of at most 32)
    // left by connections to another that this side closed first.
    let _held = inside(name, || {
        let db = TcpListener::bind("127.0.0.1:5432").unwrap();
        let pool: Vec<(TcpStream, TcpStream)> = (0..60)
            .map(|_| {
                let c = TcpStream::connect("127.0.0.1:5432").unwrap();
                (c, db.accept().unwrap().0)
            })
            .collect();
        let web = TcpListener::bind("127.0.0.1:5433").unwrap();
        for _ in 0..30 {
            let c = TcpStream::connect("127.0.0.1:5433").unwrap();
            let (s, _) = web.accept().unwrap();
            drop(c);
            assert_eq!((&s).read(&mut [0u8; 1]).unwrap(), 0);
        }
        (db, pool, web)
    });
    let in_time_wait = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        ss_counts(name).is_some_and(|c| c.get("TIME_WAIT") == Some(&30))
    });
    assert!(in_time_wait, "{:?}", ss_counts(name));
    let finding = |doc: &Value, id: &str, selector: &str| -> Value {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id && f["namespace"] == name)
            .unwrap_or_else(|| panic!("{id} in {selector}: {doc:#}"))
            .clone()
    };
    for selector in [
        name.to_string(),
        format!("/run/netns/{name}"),
        "--all-netns".into(),
    ] {
        let args = match selector.as_str() {
            "--all-netns" => vec!["--all-netns", "--json"],
            one => vec!["--netns", one, "--json"],
        };
        let doc: Value = serde_json::from_str(&stdout_of(sockscope().args(&args))).unwrap();
        if selector != "--all-netns" {
            for id in ["ephemeral_port_pressure", "time_wait_buckets"] {
                assert_eq!(skipped_because(&doc, id), None, "{selector}: {doc:#}");
            }
        }
        let ports = finding(&doc, "ephemeral_port_pressure", &selector);
        assert_eq!(
            ports["evidence"][0]["ip_local_port_range"],
            serde_json::json!([40000, 40099]),
            "{selector}: {ports:#}"
        );
        let tw = finding(&doc, "time_wait_buckets", &selector);
        assert_eq!(
            (
                &tw["evidence"][0]["time_wait"],
                &tw["evidence"][0]["tcp_max_tw_buckets"]
            ),
            (&serde_json::json!(30), &serde_json::json!(32)),
            "{selector}: {tw:#}"
        );
    }
    // An ordinary user reads the namespace through its member's /proc/PID/net, and may not
    // enter it: the rules say that, not what --pid says.
    if !have_tool("setpriv", "util-linux") {
        return skip("setpriv is not installed (util-linux)");
    }
    let _member = Member(
        Process::new("ip")
            .args(["netns", "exec", name, "setpriv"])
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sleep",
                "600",
            ])
            .spawn()
            .unwrap(),
    );
    let mut found = None;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let Some(out) = unprivileged(&["--netns", name, "--json"]) else {
            return;
        };
        if out.status.success() {
            found = Some(serde_json::from_slice::<Value>(&out.stdout).unwrap());
            break;
        }
    }
    let doc = found.expect("nobody reads the namespace through its member");
    for id in ["ephemeral_port_pressure", "time_wait_buckets"] {
        let why = skipped_because(&doc, id).unwrap_or_else(|| panic!("{id}: {doc:#}"));
        assert!(!why.contains("--pid"), "{id}: {why}");
        assert!(why.contains("entering this one was refused"), "{id}: {why}");
    }
}
