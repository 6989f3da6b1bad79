//! Builders and helpers shared by every integration test module: defined once, here.

pub mod scenario;

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The binary, run from the crate root so fixture paths (and what the output says of them)
/// are the same on every checkout.
pub fn sockscope() -> Command {
    let mut cmd = Command::cargo_bin("sockscope").expect("binary built by cargo test");
    cmd.current_dir(root()).env_remove("NO_COLOR");
    cmd
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture directory, relative to the crate root.
pub fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures").join(name)
}

/// Scenarios whose every line is well-formed.
pub const CLEAN_SCENARIOS: &[&str] = &["loopback-mix", "ipv4-only", "empty", "odd-states"];

pub fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.output().expect("sockscope runs");
    assert!(
        output.status.success(),
        "sockscope failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Snapshot settings: timings, clocks, the temp dir `root` (as `[ROOT]`) and process uids (the
/// temp dir's owner, different for root and other users) vary between runs.
pub fn snapshot_settings(root: Option<&Path>) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    if let Some(root) = root {
        let escaped: String = root
            .display()
            .to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '/' {
                    c.to_string()
                } else {
                    format!("\\{c}")
                }
            })
            .collect();
        s.add_filter(&escaped, "[ROOT]");
    }
    s.add_filter(r"in \d+\.\d ms", "in [DURATION] ms");
    s.add_filter(
        r#""duration_ms": [0-9.e-]+"#,
        r#""duration_ms": "[DURATION]""#,
    );
    s.add_filter(
        r#""collected_at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ""#,
        r#""collected_at": "[TIME]""#,
    );
    s.add_filter(r#"("comm": "[^"]*",\s+"uid": )\d+"#, "$1[UID]");
    // `sudo` is suggested only to an ordinary user: the tests run as root and as one.
    s.add_filter(r"\bsudo ", "");
    s.set_prepend_module_to_snapshot(false);
    s
}

/// A listener on a port no socket of this namespace mentions, so `--port` sees only ours.
pub fn fresh_listener(ip: std::net::IpAddr) -> Option<TcpListener> {
    for _ in 0..50 {
        let listener = match TcpListener::bind(SocketAddr::new(ip, 0)) {
            Ok(l) => l,
            Err(_) => return None,
        };
        let port = listener.local_addr().unwrap().port();
        let needle = format!(":{port:04X} ");
        let busy = ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .filter(|l| l.contains(&needle))
                .count()
                > 1
        });
        if !busy {
            return Some(listener);
        }
    }
    None
}

/// `n` connections to a fresh loopback port whose clients have shut down writing: this process
/// holds them in CLOSE_WAIT (server side) and FIN_WAIT2 (client side). Keep the result alive.
pub fn hold_close_wait(n: usize) -> (TcpListener, Vec<(TcpStream, TcpStream)>) {
    let listener = fresh_listener(Ipv4Addr::LOCALHOST.into()).expect("a loopback listener");
    let held = close_wait_on(&listener, n);
    (listener, held)
}

/// `n` more connections to `listener` held in CLOSE_WAIT / FIN_WAIT2, as [`hold_close_wait`].
pub fn close_wait_on(listener: &TcpListener, n: usize) -> Vec<(TcpStream, TcpStream)> {
    let addr = listener.local_addr().unwrap();
    (0..n)
        .map(|_| {
            let client = TcpStream::connect(addr).unwrap();
            let (server, _) = listener.accept().unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            // CLOSE_WAIT once the server has the FIN: it then reads the end of the stream.
            assert_eq!((&server).read(&mut [0u8; 1]).unwrap(), 0);
            (client, server)
        })
        .collect()
}

/// Whether this test runs as root (the owner of its own /proc entry).
pub fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Whether CI asked that nothing be skipped: `SOCKSCOPE_REQUIRE_LIVE=1`.
pub fn require_live() -> bool {
    std::env::var_os("SOCKSCOPE_REQUIRE_LIVE").is_some_and(|v| v == "1")
}

/// Says why a test, or part of one, cannot run here, and lets it pass: the suite passes as an
/// ordinary user and without optional tools. Under `SOCKSCOPE_REQUIRE_LIVE=1` (CI, as root,
/// where everything can run) a skip fails the test instead: there it would mean a check had
/// silently stopped checking. Every skip in the suite goes through here.
#[track_caller]
pub fn skip(reason: impl std::fmt::Display) {
    assert!(
        !require_live(),
        "SOCKSCOPE_REQUIRE_LIVE=1 and this test would be skipped: {reason}"
    );
    println!("skipped: {reason}");
}

/// Whether `tool` is on the PATH. As root with apt-get (CI), a missing tool is first installed
/// from Debian's `package`, so a cross-check against it runs instead of being skipped.
pub fn have_tool(tool: &str, package: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    if is_root() && on_path("apt-get") {
        install(tool, package);
    }
    on_path(tool)
}

fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            fs::metadata(dir.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// `apt-get install PACKAGE` for `tool`, one at a time across the suite's threads (dpkg takes
/// a lock), with `apt-get update` first when the lists do not know it (a fresh machine has none).
fn install(tool: &str, package: &str) {
    static DPKG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = DPKG.lock().unwrap_or_else(|e| e.into_inner());
    if on_path(tool) {
        return; // another test installed it meanwhile
    }
    let apt = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(["-qq", "-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let get = || apt(&["install", "-y", "--no-install-recommends", package]);
    println!("installing Debian's {package} with apt-get");
    let installed = get() || (apt(&["update"]) && get());
    if !installed {
        println!("apt-get could not install {package}");
    }
}

/// A link to (or copy of) the binary in a directory anyone can enter, for running it as another
/// user: the checkout may be where that user cannot reach it (under /root). Keep the directory.
pub fn reachable_binary() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = assert_cmd::cargo::cargo_bin("sockscope");
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let reachable = dir.path().join("sockscope");
    if fs::hard_link(&bin, &reachable).is_err() {
        fs::copy(&bin, &reachable).unwrap();
    }
    (dir, reachable)
}

/// A process under a fake /proc root: `fd/N` links, a `stat` line of the kernel's shape (start
/// time 1000 + pid) and a `limits` file.
pub fn fake_process(
    proc_root: &Path,
    pid: u32,
    comm: &str,
    fds: &[(u32, impl AsRef<str>)],
) -> PathBuf {
    let dir = proc_root.join(pid.to_string());
    fs::create_dir_all(dir.join("fd")).unwrap();
    for (fd, target) in fds {
        symlink(target.as_ref(), dir.join("fd").join(fd.to_string())).unwrap();
    }
    // Field 22 is the start time; the rest is a real line's shape.
    let stat = format!(
        "{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 {} 3133440 352 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        1000 + pid
    );
    fs::write(dir.join("stat"), stat).unwrap();
    let limits = fs::read_to_string(root().join("tests/fixtures/limits.txt")).unwrap();
    fs::write(dir.join("limits"), limits).unwrap();
    dir
}

/// The (id, severity) of each finding of a JSON document.
pub fn finding_ids(v: &serde_json::Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// netstat's name for a state as `ss` prints it (`ESTAB` → `ESTABLISHED`).
pub fn netstat_name(ss: &str) -> String {
    match ss {
        "ESTAB" => "ESTABLISHED",
        "SYN-SENT" => "SYN_SENT",
        "SYN-RECV" => "SYN_RECV",
        "FIN-WAIT-1" => "FIN_WAIT1",
        "FIN-WAIT-2" => "FIN_WAIT2",
        "TIME-WAIT" => "TIME_WAIT",
        "UNCONN" => "CLOSE",
        "CLOSE-WAIT" => "CLOSE_WAIT",
        "LAST-ACK" => "LAST_ACK",
        other => other,
    }
    .to_string()
}

/// What one run of `sockscope check` said.
pub struct CheckRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CheckRun {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// `sockscope check ARGS --proc-root ROOT`.
pub fn run_check(proc_root: &Path, args: &[&str]) -> CheckRun {
    let out = sockscope()
        .arg("check")
        .args(args)
        .arg("--proc-root")
        .arg(proc_root)
        .output()
        .unwrap();
    CheckRun {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs the binary as `nobody` when we are root (so other users' fds are unreadable), or as
/// ourselves otherwise. As root it runs a link to the binary in a directory anyone can enter:
/// the checkout may be where `nobody` cannot reach it (under /root). `None` when setpriv, which
/// drops root, is missing.
pub fn unprivileged(args: &[&str]) -> Option<std::process::Output> {
    use std::process::Command;
    let bin = assert_cmd::cargo::cargo_bin("sockscope");
    if !is_root() {
        return Some(
            Command::new(&bin)
                .current_dir("/")
                .args(args)
                .output()
                .unwrap(),
        );
    }
    if !have_tool("setpriv", "util-linux") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let reachable = dir.path().join("sockscope");
    if fs::hard_link(&bin, &reachable).is_err() {
        fs::copy(&bin, &reachable).unwrap();
    }
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&reachable)
        .current_dir("/")
        .args(args)
        .output()
        .unwrap();
    Some(output)
}

/// The metric names `promtool check metrics` rejects for naming their own type (its
/// `metric name should not include type 'counter'`): a family whose name holds `_counter_` or
/// ends in `_counter` (and the same for gauge, histogram, summary). The full lint runs in
/// tests/prometheus.sh, with the real promtool.
pub fn names_with_their_type(exposition: &str) -> Vec<String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, kind)| {
            let name = name.to_lowercase();
            name.contains(&format!("_{kind}_")) || name.ends_with(&format!("_{kind}"))
        })
        .map(|(name, _)| name.to_string())
        .collect()
}
