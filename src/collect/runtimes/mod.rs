//! Container runtimes, one entry each ([`Runtime`], in a file of its own): the word that names
//! it in every format, the cgroup path forms that place a process in one of its containers, and
//! the reader of its state files. Adding a runtime is a file here and a line in [`REGISTRY`].
//! The readers share the containers-storage, OCI bundle and kubelet readers, and read relative
//! to the host root, at most once per container per run. Never a daemon socket or an API
//! server.

mod bundle;
mod containerd;
mod crio;
mod docker;
pub mod kubelet;
mod podman;
mod storage;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Every runtime sockscope knows, in the order a bare container id (Kubernetes' cgroupfs
/// driver) is asked of them.
pub static REGISTRY: &[&Runtime] = &[
    &docker::DOCKER,
    &podman::PODMAN,
    &containerd::CONTAINERD,
    &crio::CRIO,
];

/// One container runtime: everything sockscope knows of it.
#[derive(Debug)]
pub struct Runtime {
    /// Its word in every format (`kind`, `container.runtime`): never renamed once shipped.
    pub word: &'static str,
    /// The cgroup path components that name one of its containers.
    pub cgroups: &'static [Form],
    /// Whether a bare id (`/kubepods/<qos>/pod<uid>/<id>`) may be one of its containers.
    pub bare_ids: bool,
    /// What its state files say of container `id`.
    pub read: fn(&mut Runtimes, &str) -> Option<Known>,
}

/// How a cgroup path names a container of a runtime.
#[derive(Debug)]
pub enum Form {
    /// A unit `<prefix><id>` with or without `.scope` (the systemd driver).
    Unit(&'static str),
    /// `<id>` in a directory of this name (the cgroupfs driver: `/docker/<id>`).
    Parent(&'static str),
    /// `<id>` in a directory whose name starts with this (`/libpod_parent/<id>`).
    ParentPrefix(&'static str),
}

impl std::fmt::Debug for Runtimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtimes")
            .field("host_root", &self.host_root)
            .field("proc_root", &self.proc_root)
            .finish_non_exhaustive()
    }
}

/// A state file larger than this is not a container's: it is not read.
const MAX_STATE: u64 = 16 << 20;

/// What the state files say of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    pub name: Option<String>,
    /// (namespace, name, uid) of its pod.
    pub pod: Option<PodTriple>,
}

type PodTriple = (Option<String>, Option<String>, Option<String>);

/// The runtimes' state on one host: what was read, kept for the run.
pub struct Runtimes {
    host_root: PathBuf,
    proc_root: PathBuf,
    /// What each runtime said of each container id.
    seen: HashMap<(&'static str, String), Option<Known>>,
    /// Each reader's own cache, by its type (docker's data roots, containers-storage's list).
    memo: HashMap<TypeId, Box<dyn Any>>,
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
            seen: HashMap::new(),
            memo: HashMap::new(),
        }
    }

    /// What `runtime` says of container `id`, read once per run.
    pub fn read(&mut self, runtime: &'static Runtime, id: &str) -> Option<Known> {
        let key = (runtime.word, id.to_string());
        if let Some(known) = self.seen.get(&key) {
            return known.clone();
        }
        let known = (runtime.read)(self, id);
        self.seen.insert(key, known.clone());
        known
    }

    /// A reader's own cache, made on first use.
    fn memo<T: Default + 'static>(&mut self) -> &mut T {
        let slot = self
            .memo
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        // The slot of TypeId T always holds a T.
        match slot.downcast_mut::<T>() {
            Some(t) => t,
            None => unreachable!("memo slot of another type"),
        }
    }

    /// A path of the host (`/var/lib/docker`) under the host root.
    fn host(&self, path: &str) -> PathBuf {
        self.host_root.join(path.trim_start_matches('/'))
    }
}

/// The pod named by three keys of a JSON object (labels or annotations).
fn pod_from(v: &serde_json::Value, ns: &str, name: &str, uid: &str) -> Option<PodTriple> {
    let get = |k: &str| v[k].as_str().map(str::to_string);
    let pod = (get(ns), get(name), get(uid));
    (pod.1.is_some() || pod.2.is_some()).then_some(pod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_not_read() {
        assert_eq!(read_small(Path::new("/dev/zero")), None);
        assert_eq!(read_small(Path::new("/nonexistent")), None);
    }

    #[test]
    fn every_runtime_has_its_own_word_and_forms() {
        let mut words: Vec<&str> = REGISTRY.iter().map(|r| r.word).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), REGISTRY.len());
        assert!(REGISTRY.iter().all(|r| !r.cgroups.is_empty()));
    }
}
