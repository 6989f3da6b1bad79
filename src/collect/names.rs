//! Names for network namespaces, read from files only (no daemon socket, no API server): the
//! host's own, `/run/netns` names, and a sample process for what cannot be named otherwise.

use std::fs;
use std::path::{Path, PathBuf};

use super::netns::Namespace;
use crate::report::{NetnsKind, NetnsLabel};

/// Names namespaces; reads each runtime state file at most once per run.
#[derive(Debug)]
pub struct Namer {
    proc_root: PathBuf,
}

impl Namer {
    pub fn new(proc_root: &Path, _host_root: &Path) -> Namer {
        Namer {
            proc_root: proc_root.to_path_buf(),
        }
    }

    pub fn label(&mut self, ns: &Namespace) -> NetnsLabel {
        let kind = if ns.host {
            NetnsKind::Host
        } else if !ns.names.is_empty() {
            NetnsKind::Named
        } else {
            NetnsKind::Unknown
        };
        NetnsLabel {
            inode: ns.inode,
            kind,
            container: None,
            pod: None,
            names: ns.names.clone(),
            sample: ns.pids.first().map(|&pid| (pid, self.comm(pid))),
        }
    }

    fn comm(&self, pid: u32) -> String {
        fs::read_to_string(self.proc_root.join(pid.to_string()).join("comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default()
    }
}
