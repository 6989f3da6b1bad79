//! Container and pod names from the runtimes' own state files, read relative to the host root
//! and at most once each per run: Docker's `config.v2.json` (in its data root, wherever
//! dockerd's command line or `daemon.json` moved it), the containers-storage
//! `containers.json` of Podman and CRI-O (`graphroot` of `storage.conf`), the OCI bundle
//! annotations of containerd and CRI-O, and the kubelet's `/var/log/pods/<ns>_<pod>_<uid>`.
//! Never a daemon socket or an API server.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A state file larger than this is not a container's: it is not read.
const MAX_STATE: u64 = 16 << 20;

/// What the state files say of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub name: Option<String>,
    /// (namespace, name, uid) of its pod.
    pub pod: Option<(Option<String>, Option<String>, Option<String>)>,
}

/// The runtimes' state on one host, read lazily and cached.
#[derive(Debug)]
pub struct Runtimes {
    host_root: PathBuf,
    proc_root: PathBuf,
    docker_roots: Option<Vec<PathBuf>>,
    storage: Option<HashMap<String, Known>>,
    pods: Option<HashMap<String, (String, String)>>,
    seen: HashMap<(&'static str, String), Option<Known>>,
}

/// Reads a regular file, bounded; `None` for anything else (a FIFO would block).
pub fn read_small(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_STATE {
        return None;
    }
    let mut text = String::new();
    fs::File::open(path)
        .ok()?
        .take(MAX_STATE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

impl Runtimes {
    pub fn new(proc_root: &Path, host_root: &Path) -> Runtimes {
        Runtimes {
            host_root: host_root.to_path_buf(),
            proc_root: proc_root.to_path_buf(),
            docker_roots: None,
            storage: None,
            pods: None,
            seen: HashMap::new(),
        }
    }

    /// A path of the host (`/var/lib/docker`) under the host root.
    fn host(&self, path: &str) -> PathBuf {
        self.host_root.join(path.trim_start_matches('/'))
    }

    /// Docker: `<data-root>/containers/<id>/config.v2.json`.
    pub fn docker(&mut self, id: &str) -> Option<Known> {
        let key = ("docker", id.to_string());
        if let Some(known) = self.seen.get(&key) {
            return known.clone();
        }
        let roots = self.docker_roots().to_vec();
        let known = roots.iter().find_map(|root| {
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
        });
        self.seen.insert(key, known.clone());
        known
    }

    /// Where dockerd keeps its state: `--data-root` (or the old `-g`) of a running dockerd,
    /// `data-root` in `/etc/docker/daemon.json`, and `/var/lib/docker`.
    fn docker_roots(&mut self) -> &[PathBuf] {
        if self.docker_roots.is_none() {
            let mut roots = Vec::new();
            for cmdline in self.dockerd_cmdlines() {
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
                        roots.push(self.host(&v));
                    }
                }
            }
            if let Some(text) = read_small(&self.host("etc/docker/daemon.json"))
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && let Some(root) = v["data-root"].as_str().or(v["graph"].as_str())
            {
                roots.push(self.host(root));
            }
            roots.push(self.host("var/lib/docker"));
            roots.dedup();
            self.docker_roots = Some(roots);
        }
        self.docker_roots.as_deref().unwrap_or_default()
    }

    /// The command lines of the running dockerd processes (one `comm` read per process, once).
    fn dockerd_cmdlines(&self) -> Vec<Vec<String>> {
        let Ok(entries) = fs::read_dir(&self.proc_root) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
            })
            .filter(|e| {
                fs::read(e.path().join("comm")).is_ok_and(|c| c.trim_ascii_end() == b"dockerd")
            })
            .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
            .map(|raw| {
                raw.split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect()
    }

    /// Podman and CRI-O: containers-storage's `containers.json`, read whole once.
    pub fn storage(&mut self, id: &str) -> Option<Known> {
        if self.storage.is_none() {
            let mut all = HashMap::new();
            let mut roots = Vec::new();
            if let Some(text) = read_small(&self.host("etc/containers/storage.conf")) {
                roots.extend(graphroot(&text).map(|r| self.host(&r)));
            }
            roots.push(self.host("var/lib/containers/storage"));
            roots.dedup();
            for root in roots {
                let path = root.join("overlay-containers/containers.json");
                let Some(text) = read_small(&path) else {
                    continue;
                };
                let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                for c in list {
                    let Some(cid) = c["id"].as_str() else {
                        continue;
                    };
                    let meta: Value = c["metadata"]
                        .as_str()
                        .and_then(|m| serde_json::from_str(m).ok())
                        .unwrap_or(Value::Null);
                    let name = c["names"][0].as_str().map(str::to_string);
                    let pod = meta["pod-name"].as_str().map(|pod| {
                        (
                            meta["namespace"].as_str().map(str::to_string),
                            Some(pod.to_string()),
                            meta["pod-id"].as_str().map(str::to_string),
                        )
                    });
                    all.entry(cid.to_string()).or_insert(Known { name, pod });
                }
            }
            self.storage = Some(all);
        }
        self.storage.as_ref()?.get(id).cloned()
    }

    /// containerd (`/run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/config.json`) and
    /// CRI-O (`…/overlay-containers/<id>/userdata/config.json`) bundles: their annotations.
    pub fn bundle(&mut self, runtime: &'static str, id: &str) -> Option<Known> {
        let key = (runtime, id.to_string());
        if let Some(known) = self.seen.get(&key) {
            return known.clone();
        }
        let mut candidates = Vec::new();
        if runtime == "containerd" {
            let tasks = self.host("run/containerd/io.containerd.runtime.v2.task");
            if let Ok(namespaces) = fs::read_dir(&tasks) {
                for ns in namespaces.flatten() {
                    candidates.push(ns.path().join(id).join("config.json"));
                }
            }
        } else {
            for root in ["run/containers/storage", "var/lib/containers/storage"] {
                candidates.push(
                    self.host(root)
                        .join("overlay-containers")
                        .join(id)
                        .join("userdata/config.json"),
                );
            }
        }
        let known = candidates.iter().find_map(|path| {
            let v: Value = serde_json::from_str(&read_small(path)?).ok()?;
            let a = &v["annotations"];
            let pick = |keys: &[&str]| keys.iter().find_map(|k| a[*k].as_str()).map(str::to_string);
            Some(Known {
                name: pick(&[
                    "io.kubernetes.cri.container-name",
                    "io.kubernetes.container.name",
                ]),
                pod: pod_from(
                    a,
                    "io.kubernetes.cri.sandbox-namespace",
                    "io.kubernetes.cri.sandbox-name",
                    "io.kubernetes.cri.sandbox-uid",
                )
                .or_else(|| {
                    pod_from(
                        a,
                        "io.kubernetes.pod.namespace",
                        "io.kubernetes.pod.name",
                        "io.kubernetes.pod.uid",
                    )
                }),
            })
        });
        self.seen.insert(key, known.clone());
        known
    }

    /// The kubelet's log directories, `<namespace>_<pod>_<uid>`, listed once: pod uid →
    /// (namespace, name).
    pub fn pod(&mut self, uid: &str) -> Option<(String, String)> {
        if self.pods.is_none() {
            let mut pods = HashMap::new();
            if let Ok(entries) = fs::read_dir(self.host("var/log/pods")) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if let Some((rest, uid)) = name.rsplit_once('_')
                        && let Some((ns, pod)) = rest.split_once('_')
                    {
                        pods.insert(uid.to_string(), (ns.to_string(), pod.to_string()));
                    }
                }
            }
            self.pods = Some(pods);
        }
        self.pods.as_ref()?.get(uid).cloned()
    }
}

type PodTriple = (Option<String>, Option<String>, Option<String>);

fn pod_from(v: &Value, ns: &str, name: &str, uid: &str) -> Option<PodTriple> {
    let get = |k: &str| v[k].as_str().map(str::to_string);
    let pod = (get(ns), get(name), get(uid));
    (pod.1.is_some() || pod.2.is_some()).then_some(pod)
}

/// `graphroot = "/data/containers"` under `[storage]` in storage.conf.
fn graphroot(text: &str) -> Option<String> {
    let v: toml::Value = toml::from_str(text).ok()?;
    v.get("storage")?
        .get("graphroot")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphroot_is_read_from_storage_conf() {
        let conf = "[storage]\ndriver = \"overlay\"\ngraphroot = \"/data/containers\"\n";
        assert_eq!(graphroot(conf).as_deref(), Some("/data/containers"));
        assert_eq!(graphroot("not toml ["), None);
    }

    #[test]
    fn special_files_are_not_read() {
        assert_eq!(read_small(Path::new("/dev/zero")), None);
        assert_eq!(read_small(Path::new("/nonexistent")), None);
    }
}
