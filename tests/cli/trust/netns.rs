//! Files that are not network namespaces are never read as one, and a namespace that moved
//! between listing and entering is not read as the one listed.

use std::fs;
use std::path::Path;
use std::process::{Command as Process, Stdio};

use serde_json::Value;

use super::{Host, Reaped, first_line, system_python};
use crate::hostile::{HANG, mkfifo};
use crate::util::{have_tool, is_root, skip, sockscope};

#[test]
fn a_fifo_in_run_netns_under_the_host_root_does_not_hang() {
    let host = Host::new();
    fs::create_dir_all(host.path("run/netns")).unwrap();
    mkfifo(&host.path("run/netns/evil"));
    fs::write(host.path("run/netns/leftover"), "").unwrap();
    let doc = host.sweep();
    let listed: Vec<&Value> = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .chain(
            doc["collection"]["namespaces"]["unopened"]
                .as_array()
                .unwrap(),
        )
        .filter(|n| n["names"].as_array().is_some_and(|a| !a.is_empty()))
        .collect();
    assert!(listed.is_empty(), "not namespaces: {listed:?}");
}

/// `sockscope check --netns SELECTOR`: (exit code, stdout + stderr).
fn check_netns(selector: &str, cwd: &Path) -> (i32, String) {
    let out = sockscope()
        .current_dir(cwd)
        .args(["check", "--netns", selector])
        .timeout(HANG)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_file_that_is_not_a_network_namespace_is_never_read_as_one() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("fifo"));
    fs::write(dir.path().join("plain"), "").unwrap();
    for (selector, says) in [
        (
            "/proc/self/ns/mnt",
            "a mount namespace, not a network namespace",
        ),
        ("/dev/zero", "a character device, not a network namespace"),
        ("./fifo", "a FIFO, not a network namespace"),
        ("./plain", "not a network namespace"),
    ] {
        let (code, text) = check_netns(selector, dir.path());
        assert_eq!(code, 3, "{selector}: {text}");
        assert!(text.contains(selector), "{selector}: {text}");
        assert!(text.contains(says), "{selector}: {text}");
    }
}

#[test]
fn an_unmounted_ip_netns_leftover_is_unknown_not_ok() {
    if !is_root() {
        return skip("needs root (ip netns add)");
    }
    if !have_tool("ip", "iproute2") {
        return skip("ip is not installed (iproute2)");
    }
    let name = format!("sockscope-trust-{}", std::process::id());
    let path = format!("/run/netns/{name}");
    let made = Process::new("ip")
        .args(["netns", "add", &name])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        return skip("`ip netns add` failed");
    }
    let unmounted = Process::new("umount")
        .arg(&path)
        .status()
        .is_ok_and(|s| s.success());
    let (code, text) = check_netns(&path, Path::new("/"));
    let _ = fs::remove_file(&path);
    assert!(unmounted, "umount {path}");
    assert_eq!(code, 3, "{text}");
    assert!(text.contains(&path), "{text}");
    assert!(text.contains("not a network namespace"), "{text}");
}

/// Enters the namespace file argv[1] and its own, in turn, forever (setns on the main thread:
/// what `/proc/PID/ns/net` shows).
const HOPPER: &str = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
own = os.open("/proc/self/ns/net", os.O_RDONLY)
other = os.open(sys.argv[1], os.O_RDONLY)
print(os.readlink("/proc/self/ns/net"), flush=True)
while True:
    libc.setns(other, 0x40000000)
    libc.setns(own, 0x40000000)
"#;

/// Listens on argv[1] sockets, then sleeps.
const LISTENER: &str = r#"
import socket, sys, time
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen()
    held.append(s)
print("ready", flush=True)
time.sleep(600)
"#;

#[test]
fn a_process_hopping_namespaces_is_never_read_as_another() {
    if !is_root() {
        return skip("needs root (ip netns add, setns)");
    }
    if !have_tool("ip", "iproute2") || !have_tool("unshare", "util-linux") {
        return skip("ip or unshare is not installed");
    }
    let Some(python) = system_python() else {
        return skip("no /usr/bin/python3");
    };
    let name = format!("sockscope-hop-{}", std::process::id());
    struct Netns(String);
    impl Drop for Netns {
        fn drop(&mut self) {
            let _ = Process::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    if !Process::new("ip")
        .args(["netns", "add", &name])
        .status()
        .is_ok_and(|s| s.success())
    {
        return skip("`ip netns add` failed");
    }
    let _netns = Netns(name.clone());
    let busy = format!("/run/netns/{name}");
    let mut listener = Reaped(
        Process::new("ip")
            .args(["netns", "exec", &name, python, "-c", LISTENER, "87"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    assert_eq!(first_line(&mut listener.0), "ready");
    let mut hopper = Reaped(
        Process::new("unshare")
            .args(["--net", python, "-c", HOPPER, &busy])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let empty: u64 = first_line(&mut hopper.0)
        .strip_prefix("net:[")
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse().ok())
        .expect("the hopper's own namespace");
    let (mut read, mut refused) = (0, 0);
    for _ in 0..40 {
        let out = sockscope()
            .args(["--all-netns", "--json", "--no-processes"])
            .timeout(HANG)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        for n in doc["namespaces"].as_array().unwrap() {
            if n["netns"]["inode"] == empty {
                read += 1;
                assert_eq!(n["total"], 0, "the empty namespace read as another: {n}");
            }
        }
        for u in doc["collection"]["namespaces"]["unopened"]
            .as_array()
            .unwrap()
        {
            if u["netns"]["inode"] == empty {
                refused += 1;
                let why = u["reason"].as_str().unwrap();
                assert!(why.contains("net:["), "{why}");
            }
        }
    }
    println!("the hopper's namespace: read {read} times, refused {refused} times");
}
