//! Container runtimes, one entry each ([`Runtime`], in a file of its own): the word that names
//! it in every format, the cgroup path forms that place a process in one of its containers, and
//! the reader of its state files. Adding a runtime is a file here and a line in [`REGISTRY`].
//! The readers share the containers-storage, OCI bundle and kubelet readers, and read relative
//! to the host root, at most once per container per run. Never a daemon socket or an API
//! server.
//!
//! Container names are what root reports, so they come only from what root wrote: files
//! reached through [`HostFs`] (owned by root, in directories only root can write, links
//! resolved inside the host root, never blocking), JSON read into typed fields with a size cap,
//! and, for Docker, the command line of a `dockerd` that runs as root.

mod bundle;
mod conmon;
mod containerd;
mod crio;
mod daemons;
mod docker;
mod fields;
pub mod kubelet;
mod podman;
mod storage;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::hostfs::{HostFs, Trust};

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
            .field("fs", &self.fs)
            .field("proc_root", &self.proc_root)
            .finish_non_exhaustive()
    }
}

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
    /// The host's files, opened only where trusted users decide what they say.
    fs: HostFs,
    proc_root: PathBuf,
    /// What each runtime said of each container id.
    seen: HashMap<(&'static str, String), Option<Known>>,
    /// Each reader's own cache, by its type (docker's data roots, containers-storage's list).
    memo: HashMap<TypeId, Box<dyn Any>>,
}

impl Runtimes {
    pub fn new(proc_root: &Path, host_root: &Path) -> Runtimes {
        Runtimes {
            fs: HostFs::new(host_root, Trust::current()),
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

    /// The host's files, as the readers see them.
    pub fn fs(&self) -> &HostFs {
        &self.fs
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_has_its_own_word_and_forms() {
        let mut words: Vec<&str> = REGISTRY.iter().map(|r| r.word).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), REGISTRY.len());
        assert!(REGISTRY.iter().all(|r| !r.cgroups.is_empty()));
    }
}
