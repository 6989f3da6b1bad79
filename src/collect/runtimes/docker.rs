//! Docker: `docker-<id>.scope` (systemd driver) or `/docker/<id>` (cgroupfs), and
//! `<data-root>/containers/<id>/config.v2.json`, wherever dockerd's command line or
//! `daemon.json` moved the data root.
//!
//! Anyone can call a process `dockerd` (prctl PR_SET_NAME) and give it `--data-root` of their
//! own: only a dockerd whose every uid (real, effective, saved, filesystem) is trusted is
//! listened to, and its data root is then read through [`HostFs`] like any other path.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::fields::{self, Kubernetes, MAX_STATE, NAME, Text};
use super::{Form, Known, Runtime, Runtimes, daemons};

pub static DOCKER: Runtime = Runtime {
    word: "docker",
    cgroups: &[Form::Unit("docker-"), Form::Parent("docker")],
    bare_ids: true,
    read,
};

/// A path (`/srv/docker`) is no longer than this.
const PATH: usize = 4096;

/// `daemon.json`, read whole.
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
    for cmdline in daemons::cmdlines(&r.proc_root, r.fs.trust(), "dockerd") {
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
