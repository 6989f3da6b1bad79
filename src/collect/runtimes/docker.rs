//! Docker: `docker-<id>.scope` (systemd driver) or `/docker/<id>` (cgroupfs), and
//! `<data-root>/containers/<id>/config.v2.json`, wherever dockerd's command line or
//! `daemon.json` moved the data root.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use super::{Form, Known, Runtime, Runtimes, pod_from, read_small};

pub static DOCKER: Runtime = Runtime {
    word: "docker",
    cgroups: &[Form::Unit("docker-"), Form::Parent("docker")],
    bare_ids: true,
    read,
};

/// Where dockerd keeps its state, found once per run.
#[derive(Default)]
struct DataRoots(Option<Vec<PathBuf>>);

/// `<data-root>/containers/<id>/config.v2.json`: the name and the pod labels.
fn read(r: &mut Runtimes, id: &str) -> Option<Known> {
    data_roots(r).iter().find_map(|root| {
        let text = read_small(&root.join("containers").join(id).join("config.v2.json"))?;
        let v: Value = serde_json::from_str(&text).ok()?;
        let name = v["Name"]
            .as_str()
            .map(|n| n.trim_start_matches('/').to_string());
        let labels = &v["Config"]["Labels"];
        Some(Known {
            name,
            pod: pod_from(
                labels,
                "io.kubernetes.pod.namespace",
                "io.kubernetes.pod.name",
                "io.kubernetes.pod.uid",
            ),
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
    for cmdline in dockerd_cmdlines(r) {
        let mut args = cmdline.iter();
        while let Some(arg) = args.next() {
            let value = match arg.split_once('=') {
                Some(("--data-root" | "--graph" | "-g", v)) => Some(v.to_string()),
                _ if arg == "--data-root" || arg == "--graph" || arg == "-g" => {
                    args.next().cloned()
                }
                _ => None,
            };
            if let Some(v) = value {
                roots.push(r.host(&v));
            }
        }
    }
    if let Some(text) = read_small(&r.host("etc/docker/daemon.json"))
        && let Ok(v) = serde_json::from_str::<Value>(&text)
        && let Some(root) = v["data-root"].as_str().or(v["graph"].as_str())
    {
        roots.push(r.host(root));
    }
    roots.push(r.host("var/lib/docker"));
    roots.dedup();
    r.memo::<DataRoots>().0 = Some(roots.clone());
    roots
}

/// The command lines of the running dockerd processes (one `comm` read per process, once).
fn dockerd_cmdlines(r: &Runtimes) -> Vec<Vec<String>> {
    let Ok(entries) = fs::read_dir(&r.proc_root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter(|e| fs::read(e.path().join("comm")).is_ok_and(|c| c.trim_ascii_end() == b"dockerd"))
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|raw| {
            raw.split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .collect()
}
