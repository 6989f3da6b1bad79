//! Docker: `docker-<id>.scope` (systemd driver) or `/docker/<id>` (cgroupfs), and
//! `<data-root>/containers/<id>/config.v2.json`, wherever dockerd's command line or
//! `daemon.json` moved the data root.
//!
//! Anyone can call a process `dockerd` (prctl PR_SET_NAME) and give it `--data-root` of their
//! own: only a dockerd whose every uid (real, effective, saved, filesystem) is trusted is
//! listened to, and its data root is then read through [`HostFs`] like any other path.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use serde::Deserialize;

use super::fields::{self, Kubernetes, MAX_STATE, NAME, Text};
use super::{Form, Known, Runtime, Runtimes};
use crate::collect::bounded;
use crate::collect::hostfs::Trust;

pub static DOCKER: Runtime = Runtime {
    word: "docker",
    cgroups: &[Form::Unit("docker-"), Form::Parent("docker")],
    bare_ids: true,
    read,
};

/// A path (`/srv/docker`) is no longer than this.
const PATH: usize = 4096;

/// A command line longer than this is not dockerd's.
const MAX_CMDLINE: u64 = 1 << 20;

/// `daemon.json` and the small `/proc` files.
const MAX_SMALL: u64 = 1 << 20;

/// Where dockerd keeps its state, found once per run.
#[derive(Default)]
struct DataRoots(Option<Vec<PathBuf>>);

/// What sockscope takes from `config.v2.json`.
#[derive(Deserialize)]
struct Config {
    #[serde(rename = "Name", default)]
    name: Text<NAME>,
    #[serde(rename = "Config", default)]
    config: Option<Inner>,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(rename = "Labels", default)]
    labels: Option<Kubernetes>,
}

/// What sockscope takes from `/etc/docker/daemon.json`.
#[derive(Deserialize)]
struct Daemon {
    #[serde(rename = "data-root", default)]
    data_root: Text<PATH>,
    #[serde(default)]
    graph: Text<PATH>,
}

/// `<data-root>/containers/<id>/config.v2.json`: the name and the pod labels.
fn read(r: &mut Runtimes, id: &str) -> Option<Known> {
    data_roots(r).iter().find_map(|root| {
        let path = root.join("containers").join(id).join("config.v2.json");
        let config: Config = fields::read_json(&r.fs, &path, MAX_STATE)?;
        let labels = config.config.and_then(|c| c.labels).unwrap_or_default();
        Some(Known {
            name: config.name.0.map(|n| n.trim_start_matches('/').to_string()),
            pod: labels.pod(),
        })
    })
}

/// Where dockerd keeps its state: `--data-root` (or the old `-g`) of a running dockerd,
/// `data-root` in `/etc/docker/daemon.json`, and `/var/lib/docker`.
fn data_roots(r: &mut Runtimes) -> Vec<PathBuf> {
    if let Some(roots) = &r.memo::<DataRoots>().0 {
        return roots.clone();
    }
    let mut roots = Vec::new();
    for cmdline in dockerd_cmdlines(&r.proc_root, r.fs.trust()) {
        roots.extend(data_root_args(&cmdline).map(PathBuf::from));
    }
    let daemon =
        r.fs.read(Path::new("/etc/docker/daemon.json"), MAX_SMALL)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Daemon>(&bytes).ok());
    if let Some(root) = daemon.and_then(|d| d.data_root.0.or(d.graph.0)) {
        roots.push(PathBuf::from(root));
    }
    roots.push(PathBuf::from("/var/lib/docker"));
    roots.dedup();
    r.memo::<DataRoots>().0 = Some(roots.clone());
    roots
}

/// The values of `--data-root DIR`, `--data-root=DIR` and the old `--graph`/`-g`.
fn data_root_args(cmdline: &[String]) -> impl Iterator<Item = String> + '_ {
    let mut args = cmdline.iter();
    std::iter::from_fn(move || {
        while let Some(arg) = args.next() {
            match arg.split_once('=') {
                Some(("--data-root" | "--graph" | "-g", v)) => return Some(v.to_string()),
                _ if arg == "--data-root" || arg == "--graph" || arg == "-g" => {
                    return args.next().cloned();
                }
                _ => {}
            }
        }
        None
    })
}

/// The command lines of the running dockerd processes that run as a trusted user. Each
/// process's directory is opened once and its files read relative to it: a process that exits
/// meanwhile makes the reads fail instead of reaching another process given its pid.
fn dockerd_cmdlines(proc_root: &Path, trust: Trust) -> Vec<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| {
            let dir = rustix::fs::open(
                e.path(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            let comm = read_at(&dir, "comm").ok()?;
            if comm.trim_ascii_end() != b"dockerd" {
                return None;
            }
            let cmdline = read_at(&dir, "cmdline").ok()?;
            // After the command line: a process can only lose privileges, so one trusted now
            // was trusted when its command line was read.
            let status = read_at(&dir, "status").ok()?;
            runs_as_trusted(&status, trust).then(|| {
                cmdline
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
        })
        .collect()
}

/// A `/proc/PID` file, read without blocking and capped.
fn read_at(dir: &OwnedFd, name: &str) -> io::Result<Vec<u8>> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let limit = if name == "cmdline" {
        MAX_CMDLINE
    } else {
        MAX_SMALL
    };
    bounded::read_capped(file, limit)
}

/// Whether every uid on the `Uid:` line of `/proc/PID/status` (real, effective, saved,
/// filesystem) is trusted. The owner of `/proc/PID` would not do: a process that makes itself
/// non-dumpable has its `/proc/PID` owned by root.
fn runs_as_trusted(status: &[u8], trust: Trust) -> bool {
    let text = String::from_utf8_lossy(status);
    let Some(uids) = text.lines().find_map(|l| l.strip_prefix("Uid:")) else {
        return false;
    };
    let uids: Vec<Option<u32>> = uids.split_whitespace().map(|u| u.parse().ok()).collect();
    uids.len() == 4 && uids.iter().all(|u| u.is_some_and(|u| trust.user(u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        let cmdline: Vec<String> = line.split(' ').map(str::to_string).collect();
        data_root_args(&cmdline).collect()
    }

    #[test]
    fn data_roots_come_from_every_spelling() {
        assert_eq!(args("dockerd --data-root /srv/docker"), ["/srv/docker"]);
        assert_eq!(
            args("dockerd --data-root=/a -g /b --graph=/c"),
            ["/a", "/b", "/c"]
        );
        assert!(args("dockerd --debug").is_empty());
    }

    #[test]
    fn only_a_dockerd_whose_every_uid_is_trusted_counts() {
        let trust = Trust::current();
        let status = |uids: &str| format!("Name:\tdockerd\nUid:\t{uids}\nGid:\t0\t0\t0\t0\n");
        assert!(runs_as_trusted(status("0\t0\t0\t0").as_bytes(), trust));
        // A setuid exec keeps the real uid: still another user's process (unless this test
        // itself runs as that user).
        let as_nobody = rustix::process::geteuid().as_raw() == 65534;
        assert_eq!(
            runs_as_trusted(status("65534\t0\t0\t0").as_bytes(), trust),
            as_nobody
        );
        assert!(!runs_as_trusted(status("0\t0\t0").as_bytes(), trust));
        assert!(!runs_as_trusted(b"Name:\tdockerd\n", trust));
    }

    #[test]
    fn a_planted_config_costs_no_memory_and_keeps_only_its_fields() {
        let huge = format!(
            r#"{{"Config": {{"Env": [{}], "Labels": {{"io.kubernetes.pod.name": "p", "x": "{}"}}}}, "Name": "/web"}}"#,
            vec!["\"A=1\""; 10_000].join(","),
            "y".repeat(100_000)
        );
        let c: Config = serde_json::from_str(&huge).unwrap();
        assert_eq!(c.name.0.as_deref(), Some("/web"));
        let labels = c.config.and_then(|c| c.labels).unwrap();
        assert_eq!(labels.pod(), Some((None, Some("p".into()), None)));
        // `[0,0,…]` is no config.
        assert!(serde_json::from_str::<Config>("[0,0,0,0]").is_err());
    }
}
