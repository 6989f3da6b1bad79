//! Names for network namespaces, read from files only (no daemon socket, no API server): the
//! container a member process is in (its `/proc/PID/cgroup`), the container's and pod's names
//! from the runtime's state, `/run/netns` names, `host`; for what cannot be named, a sample
//! process.

use std::path::{Path, PathBuf};

use super::bounded;
use super::cgroup::{self, Placement};
use super::netns::Namespace;
use super::runtimes::{REGISTRY, Runtimes, kubelet};
use crate::report::{ContainerRef, NetnsKind, NetnsLabel, PodRef};

/// How many member processes are asked for their cgroup before a namespace is left unnamed.
const CGROUP_TRIES: usize = 3;

/// A `/proc/PID/cgroup` longer than this is not the kernel's.
const CGROUP_TEXT: u64 = 1 << 20;

/// Nor a `comm` longer than this (the kernel's is 16 bytes).
const COMM_TEXT: u64 = 4 << 10;

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

    /// The container of one process, from its cgroup. `/proc/PID/cgroup` is the kernel's
    /// text whoever owns the process, so its owner is not checked; it is opened without
    /// blocking all the same (a `--proc-root` copy may hold anything).
    pub fn placement(&self, pid: u32) -> Option<Placement> {
        let path = self.proc_root.join(pid.to_string()).join("cgroup");
        let text = bounded::read_text(&path, CGROUP_TEXT).ok()?;
        cgroup::parse(&text).filter(|p| self.made_by_trusted(p))
    }

    /// Whether the cgroup that places a process is one a trusted user made. The names of
    /// cgroups are whoever made them: with a delegated subtree (every systemd user session on
    /// cgroup v2) a user can make `…/user@1000.service/docker-<id>.scope`, put a process of
    /// their own in it, and have it named after a real container. Its directory under the
    /// host's `/sys/fs/cgroup` is walked as any trusted file. A host root without
    /// `/sys/fs/cgroup` (a copy of a host, a fixture) has nothing to check against.
    ///
    /// In a container with a cgroup namespace of its own, the cgroups of other containers
    /// show as `/../…`, relative to a directory sockscope cannot see: there only systemd's
    /// delegation to users (`user@UID.service`) can be recognised, by its name.
    fn made_by_trusted(&self, p: &Placement) -> bool {
        if p.path.split('/').any(|c| c == "..") {
            return !p
                .path
                .split('/')
                .any(|c| c.starts_with("user@") && c.ends_with(".service"));
        }
        let fs = self.runtimes.fs();
        match fs.directory(Path::new("/sys/fs/cgroup")) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) => return false,
            Ok(()) => {}
        }
        p.directories()
            .iter()
            .any(|dir| fs.directory(Path::new(dir)).is_ok())
    }

    /// The runtime's names for a container, and its pod's. A bare id (cgroupfs driver) is
    /// asked of the runtimes that take them, in registry order: whichever knows it.
    fn container(&mut self, p: &Placement) -> (NetnsKind, ContainerRef, Option<PodRef>) {
        let r = &mut self.runtimes;
        let (runtime, known) = match p.runtime {
            Some(runtime) => (Some(runtime), r.read(runtime, &p.id)),
            None => REGISTRY
                .iter()
                .filter(|runtime| runtime.bare_ids)
                .find_map(|&runtime| Some((runtime, r.read(runtime, &p.id)?)))
                .map_or((None, None), |(runtime, known)| {
                    (Some(runtime), Some(known))
                }),
        };
        let kind = runtime.map_or(NetnsKind::Unknown, |r| NetnsKind::Container(r.word));
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
                && let Some((namespace, name)) = kubelet::pod(&mut self.runtimes, uid)
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
        bounded::open_regular(&self.proc_root.join(pid.to_string()).join("comm"), true)
            .and_then(|file| bounded::read_capped(file, COMM_TEXT))
            .map(|c| super::process::comm_text(c.trim_ascii_end()))
            .unwrap_or_default()
    }
}
