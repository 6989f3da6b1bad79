//! Names for network namespaces, read from files only (no daemon socket, no API server): the
//! container a member process is in (its `/proc/PID/cgroup`), the container's and pod's names
//! from the runtime's state, `/run/netns` names, `host`; for what cannot be named, a sample
//! process.

use std::fs;
use std::path::{Path, PathBuf};

use super::cgroup::{self, Placement, Runtime};
use super::netns::Namespace;
use super::runtimes::{Runtimes, read_small};
use crate::report::{ContainerRef, NetnsKind, NetnsLabel, PodRef};

/// How many member processes are asked for their cgroup before a namespace is left unnamed.
const CGROUP_TRIES: usize = 3;

/// Names namespaces; reads each runtime state file at most once per run.
#[derive(Debug)]
pub struct Namer {
    proc_root: PathBuf,
    runtimes: Runtimes,
}

impl Namer {
    pub fn new(proc_root: &Path, host_root: &Path) -> Namer {
        Namer {
            proc_root: proc_root.to_path_buf(),
            runtimes: Runtimes::new(proc_root, host_root),
        }
    }

    pub fn label(&mut self, ns: &Namespace) -> NetnsLabel {
        let mut label = NetnsLabel {
            inode: ns.inode,
            kind: if ns.host {
                NetnsKind::Host
            } else if ns.names.is_empty() {
                NetnsKind::Unknown
            } else {
                NetnsKind::Named
            },
            container: None,
            pod: None,
            names: ns.names.clone(),
            sample: ns.pids.first().map(|&pid| (pid, self.comm(pid))),
        };
        if ns.host {
            return label;
        }
        let placed = ns
            .pids
            .iter()
            .take(CGROUP_TRIES)
            .find_map(|&pid| self.placement(pid));
        if let Some(p) = placed {
            let (kind, container, pod) = self.container(&p);
            label.kind = kind;
            label.container = Some(container);
            label.pod = pod;
        }
        label
    }

    /// What a process's container is called (`shop/api-7d9f` for a pod's), whichever
    /// namespace it uses: containers on the host's network (`--network host`, hostNetwork
    /// pods) are found this way.
    pub fn container_of(&mut self, pid: u32) -> Option<String> {
        let placed = self.placement(pid)?;
        let (_, container, pod) = self.container(&placed);
        Some(pod.map_or_else(|| container.display(), |p| p.display()))
    }

    /// The container of one process, from its cgroup.
    pub fn placement(&self, pid: u32) -> Option<Placement> {
        let text = read_small(&self.proc_root.join(pid.to_string()).join("cgroup"))?;
        cgroup::parse(&text)
    }

    /// The runtime's names for a container, and its pod's.
    fn container(&mut self, p: &Placement) -> (NetnsKind, ContainerRef, Option<PodRef>) {
        let r = &mut self.runtimes;
        let (kind, known) = match p.runtime {
            Runtime::Docker => (NetnsKind::Docker, r.docker(&p.id)),
            Runtime::Podman => (NetnsKind::Podman, r.storage(&p.id)),
            Runtime::Containerd => (NetnsKind::Containerd, r.bundle("containerd", &p.id)),
            Runtime::Crio => (
                NetnsKind::Crio,
                r.bundle("crio", &p.id).or_else(|| r.storage(&p.id)),
            ),
            // A bare id (cgroupfs driver): whichever runtime knows it.
            Runtime::Unknown => {
                if let Some(k) = r.docker(&p.id) {
                    (NetnsKind::Docker, Some(k))
                } else if let Some(k) = r.bundle("containerd", &p.id) {
                    (NetnsKind::Containerd, Some(k))
                } else if let Some(k) = r.bundle("crio", &p.id) {
                    (NetnsKind::Crio, Some(k))
                } else {
                    (NetnsKind::Unknown, None)
                }
            }
        };
        let known = known.unwrap_or_default();
        let mut pod = known.pod.map(|(namespace, name, uid)| PodRef {
            namespace,
            name,
            uid: uid.or_else(|| p.pod_uid.clone()).unwrap_or_default(),
        });
        if let Some(uid) = &p.pod_uid {
            let pod = pod.get_or_insert_with(|| PodRef {
                namespace: None,
                name: None,
                uid: uid.clone(),
            });
            if pod.name.is_none()
                && let Some((namespace, name)) = self.runtimes.pod(uid)
            {
                pod.namespace = Some(namespace);
                pod.name = Some(name);
            }
        }
        let container = ContainerRef {
            runtime: kind.word(),
            id: p.id.clone(),
            name: known.name,
        };
        (kind, container, pod)
    }

    fn comm(&self, pid: u32) -> String {
        fs::read_to_string(self.proc_root.join(pid.to_string()).join("comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default()
    }
}
