//! What a user can plant must not change what root reports about namespaces, nor make it hang
//! or balloon: a `dockerd` of their own pointing at their own container names, a cgroup named
//! after a real container, files and directories they own or can write in the runtimes' state,
//! huge or swapped-out state files, links out of `--host-root`, files that are not network
//! namespaces, and processes that hop between namespaces while they are read. Real processes
//! where the attack is one (an impostor `dockerd` run as `nobody`, a loop swapping a FIFO in, a
//! namespace hopper); host roots built here for the rest.

mod impostors;
mod netns;
mod runtimes;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};

use serde_json::Value;

use crate::hostile::HANG;
use crate::util::{have_tool, sockscope};

const HDR4: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const HDR6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

/// A container id (64 hex digits) made of one repeated byte, as the fixtures' are.
fn cid(byte: &str) -> String {
    byte.repeat(32)
}

/// A host root built for one test: `proc/PID` entries of the kernel's shape (a `net:[N]`
/// link, `comm`, `cgroup`, empty socket tables) and whatever runtime state the test writes,
/// owned by whoever runs the test.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let host = Host {
            dir: tempfile::tempdir().unwrap(),
        };
        host.process(1, 4026531840, "0::/init.scope\n");
        host
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// A process alone in namespace `inode`, in cgroup `cgroup`.
    fn process(&self, pid: u32, inode: u64, cgroup: &str) {
        let dir = self.path(&format!("proc/{pid}"));
        fs::create_dir_all(dir.join("ns")).unwrap();
        fs::create_dir_all(dir.join("net")).unwrap();
        symlink(format!("net:[{inode}]"), dir.join("ns/net")).unwrap();
        fs::write(dir.join("comm"), "app\n").unwrap();
        fs::write(dir.join("cgroup"), cgroup).unwrap();
        fs::write(dir.join("net/tcp"), HDR4).unwrap();
        fs::write(dir.join("net/tcp6"), HDR6).unwrap();
    }

    /// A Docker container (systemd driver) run by process `pid` in namespace `inode`.
    fn docker(&self, pid: u32, inode: u64, id: &str) {
        self.process(pid, inode, &format!("0::/system.slice/docker-{id}.scope\n"));
    }

    /// Writes `rel` (making its directories).
    fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        path
    }

    /// `sockscope --all-netns --json --host-root ROOT`, which must finish within [`HANG`].
    fn sweep(&self) -> Value {
        let out = sockscope()
            .args(["--all-netns", "--json", "--no-processes", "--host-root"])
            .arg(self.root())
            .timeout(HANG)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// What the sweep calls each namespace: inode → (container name, pod).
    fn names(&self) -> HashMap<u64, (Option<String>, Option<String>)> {
        names_in(&self.sweep())
    }
}

/// inode → (container name, `NAMESPACE/POD`) of every namespace of a sweep's JSON.
fn names_in(doc: &Value) -> HashMap<u64, (Option<String>, Option<String>)> {
    doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let pod = n["pod"]["name"]
                .as_str()
                .map(|name| format!("{}/{name}", n["pod"]["namespace"].as_str().unwrap_or("?")));
            (
                n["netns"]["inode"].as_u64().unwrap(),
                (n["container"]["name"].as_str().map(str::to_string), pod),
            )
        })
        .collect()
}

fn config_v2(name: &str) -> String {
    format!(r#"{{"ID":"x","Name":"/{name}","Config":{{"Labels":{{}}}}}}"#)
}

/// Starts `python3 -c CODE ARGS…`, with stdout piped.
fn python(code: &str, args: &[&std::ffi::OsStr]) -> Option<Child> {
    if !have_tool("python3", "python3") {
        return None;
    }
    Process::new("python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .ok()
}

/// Kills and reaps a child when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the first line a child prints.
fn first_line(child: &mut Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim_end().to_string()
}

/// A python3 that any user can run (not a shim under root's home), or `None`.
fn system_python() -> Option<&'static str> {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// `nobody`'s uid and gid, from `/etc/passwd`.
fn nobody() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("a nobody user");
    let f: Vec<&str> = line.split(':').collect();
    (f[2].parse().unwrap(), f[3].parse().unwrap())
}

/// Hands `path` and everything under it to `nobody`, links included (not followed).
fn give_to_nobody(path: &Path) {
    let (uid, gid) = nobody();
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for e in fs::read_dir(path).unwrap() {
            give_to_nobody(&e.unwrap().path());
        }
    }
}
