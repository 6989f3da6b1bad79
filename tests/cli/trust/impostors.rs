//! Real processes that pretend, on this machine: a `dockerd` another user runs with a data
//! root of their own, and a process of another user's in a cgroup named after a real
//! container. Root only.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{Reaped, config_v2, first_line, give_to_nobody, nobody, system_python};
use crate::hostile::HANG;
use crate::util::{have_tool, is_root, skip, sockscope};

/// A cgroup made for one test, on cgroup v2 or the first v1 hierarchy that takes processes;
/// removed when dropped (after its processes are gone).
struct Cgroup {
    /// The hierarchy's root, where the processes go back.
    base: PathBuf,
    /// The leaf, then its parent.
    dirs: Vec<PathBuf>,
}

impl Cgroup {
    /// `…/sockscope-trust-PID-N/LEAF`, holding process `pid`.
    fn holding(pid: u32, leaf: &str) -> Result<Cgroup, String> {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let base = ["", "pids", "cpu", "memory", "systemd"]
            .into_iter()
            .map(|h| Path::new("/sys/fs/cgroup").join(h))
            .find(|d| d.join("cgroup.procs").exists())
            .ok_or("no cgroup hierarchy under /sys/fs/cgroup")?;
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let top = base.join(format!("sockscope-trust-{}-{n}", std::process::id()));
        let mut made = Cgroup {
            base,
            dirs: Vec::new(),
        };
        for dir in [top.clone(), top.join(leaf)] {
            fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            made.dirs.insert(0, dir);
        }
        fs::write(made.dirs[0].join("cgroup.procs"), pid.to_string())
            .map_err(|e| format!("moving {pid} into a cgroup: {e}"))?;
        Ok(made)
    }
}

impl Drop for Cgroup {
    /// Moves what is still inside back to the root of the hierarchy: a cgroup with a process
    /// cannot be removed, whichever is dropped first.
    fn drop(&mut self) {
        if let Ok(procs) = fs::read_to_string(self.dirs[0].join("cgroup.procs")) {
            for pid in procs.lines() {
                let _ = fs::write(self.base.join("cgroup.procs"), pid);
            }
        }
        for dir in &self.dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Waits until `check` holds, polling; false after 10 s.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// A process that calls itself `dockerd` (prctl PR_SET_NAME) with `--data-root DIR` on its
/// command line, run as `nobody` when `as_nobody`.
fn impostor(python: &str, data_root: &Path, as_nobody: bool) -> Reaped {
    const DOCKERD: &str = "import ctypes, time\n\
        ctypes.CDLL(None).prctl(15, b'dockerd', 0, 0, 0)\n\
        print('ready', flush=True)\n\
        time.sleep(600)";
    let mut cmd = if as_nobody {
        let (uid, gid) = nobody();
        let mut c = Process::new("setpriv");
        c.arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups")
            .arg(python);
        c
    } else {
        Process::new(python)
    };
    let mut child = Reaped(
        cmd.args(["-c", DOCKERD, "--data-root"])
            .arg(data_root)
            .current_dir("/")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    assert_eq!(first_line(&mut child.0), "ready");
    let comm = format!("/proc/{}/comm", child.0.id());
    assert_eq!(fs::read_to_string(comm).unwrap(), "dockerd\n");
    child
}

/// `sockscope --all-netns` on this machine: the JSON namespace of container `id`, and the text.
fn live_sweep(id: &str) -> (Value, String) {
    let run = |args: &[&str]| {
        let out = sockscope()
            .args(["--all-netns", "--no-processes"])
            .args(args)
            .timeout(HANG)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let doc: Value = serde_json::from_str(&run(&["--json"])).unwrap();
    let ns = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .chain(
            doc["collection"]["namespaces"]["unopened"]
                .as_array()
                .unwrap(),
        )
        .find(|n| n["container"]["id"] == id)
        .unwrap_or_else(|| panic!("container {id} in {doc}"))
        .clone();
    (ns, run(&[]))
}

#[test]
fn a_dockerd_run_by_another_user_does_not_name_containers() {
    if !is_root() {
        return skip("needs root (cgroups, setpriv, another user's process)");
    }
    let Some(python) = system_python() else {
        return skip("no /usr/bin/python3");
    };
    if !have_tool("setpriv", "util-linux") || !have_tool("unshare", "util-linux") {
        return skip("setpriv or unshare is not installed (util-linux)");
    }
    // A "container": a process in its own network namespace and a Docker-shaped cgroup.
    let id = format!("{:032x}{:032x}", std::process::id(), 0x5eed_u32);
    let container = Reaped(
        Process::new("unshare")
            .args(["--net", "sleep", "600"])
            .spawn()
            .unwrap(),
    );
    let pid = container.0.id();
    let ours = fs::read_link("/proc/self/ns/net").unwrap();
    assert!(eventually(
        || fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l != ours)
    ));
    let _cgroup = match Cgroup::holding(pid, &format!("docker-{id}.scope")) {
        Ok(c) => c,
        Err(why) => return skip(why),
    };
    let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cgroup.contains(&format!("docker-{id}.scope")), "{cgroup}");

    // nobody plants a config naming that container, and a "dockerd" pointing at it.
    let planted = tempfile::Builder::new()
        .prefix("sockscope-planted")
        .tempdir_in("/tmp")
        .unwrap();
    fs::set_permissions(planted.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let config = planted
        .path()
        .join(format!("containers/{id}/config.v2.json"));
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(
        &config,
        r#"{"Name":"/payments-api","Config":{"Labels":{"io.kubernetes.pod.namespace":"kube-system","io.kubernetes.pod.name":"coredns-legit"}}}"#,
    )
    .unwrap();
    give_to_nobody(planted.path());
    let fake = impostor(python, planted.path(), true);
    let (ns, text) = live_sweep(&id);
    drop(fake);
    assert_eq!(ns["kind"], "docker", "{ns}");
    assert_eq!(ns["container"]["name"], Value::Null, "{ns}");
    assert_eq!(ns["pod"], Value::Null, "{ns}");
    assert!(
        !text.contains("coredns-legit") && !text.contains("payments-api"),
        "{text}"
    );

    // The same from a dockerd root runs, with root's files: trusted.
    let trusted = tempfile::tempdir_in("/tmp").unwrap();
    let config = trusted
        .path()
        .join(format!("containers/{id}/config.v2.json"));
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(&config, config_v2("root-says")).unwrap();
    let real = impostor(python, trusted.path(), false);
    let (ns, _) = live_sweep(&id);
    drop(real);
    assert_eq!(ns["container"]["name"], "root-says", "{ns}");
}

#[test]
fn a_cgroup_another_user_made_places_no_container() {
    if !is_root() {
        return skip("needs root (cgroups, another user's cgroup)");
    }
    let Some(python) = system_python() else {
        return skip("no /usr/bin/python3");
    };
    if !have_tool("unshare", "util-linux") {
        return skip("unshare is not installed (util-linux)");
    }
    // A real container's id, with root's config and a dockerd root runs: a name to borrow.
    let id = format!("{:032x}{:032x}", std::process::id(), 0xde1e_u32);
    let data = tempfile::tempdir_in("/tmp").unwrap();
    let config = data.path().join(format!("containers/{id}/config.v2.json"));
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(&config, config_v2("victim")).unwrap();
    let _dockerd = impostor(python, data.path(), false);
    // A user's process in a cgroup of that name, in a subtree delegated to them (as systemd
    // does for user@UID.service): the directories are theirs.
    let process = Reaped(
        Process::new("unshare")
            .args(["--net", "sleep", "600"])
            .spawn()
            .unwrap(),
    );
    let pid = process.0.id();
    let ours = fs::read_link("/proc/self/ns/net").unwrap();
    assert!(eventually(
        || fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l != ours)
    ));
    let cgroup = match Cgroup::holding(pid, &format!("docker-{id}.scope")) {
        Ok(c) => c,
        Err(why) => return skip(why),
    };
    let (uid, gid) = nobody();
    for dir in &cgroup.dirs {
        std::os::unix::fs::lchown(dir, Some(uid), Some(gid)).unwrap();
    }
    let out = sockscope()
        .args(["--all-netns", "--no-processes", "--json"])
        .timeout(HANG)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("victim"), "{text}");
    let placed = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["collection"]["pid"] == pid || n["container"]["id"] == id.as_str());
    assert!(
        placed.is_none_or(|n| n["container"].is_null()),
        "{placed:?}"
    );
}
