//! The run's one walk of `/proc/*/fd`: started beside the dump when the plan says so, finished
//! for the findings' sockets (and the plan's other states), or handed back under way for
//! every matching socket (`list -p`, `top --by process`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use crate::collect::Source;
use crate::collect::fdwalk::{self, FdTable};
use crate::collect::names::Namer;
use crate::error::Error;
use crate::report::{Attribution, Owners};

/// A walk of `/proc/*/fd` under way beside the rest of the work. Dropping it stops it.
pub struct Walk {
    walk: fdwalk::Walk,
    source: Source,
    host_root: PathBuf,
}

/// Who holds the matching sockets, found by a walk handed back under way.
#[derive(Debug, Default)]
pub struct Holding {
    pub owners: Owners,
    pub attribution: Attribution,
    /// pid → container or pod name of the holders, when asked for: sockets a container holds
    /// in a namespace it shares with the host.
    pub containers: HashMap<u32, String>,
}

impl Walk {
    pub(super) fn start(source: &Source, host_root: &std::path::Path) -> Walk {
        Walk {
            walk: fdwalk::Walk::start(source.root()),
            source: source.clone(),
            host_root: host_root.to_path_buf(),
        }
    }

    fn finish(self) -> Result<FdTable, Error> {
        let root = self.source.root().to_path_buf();
        self.walk
            .finish()
            .map_err(|source| Error::Read { path: root, source })
    }

    /// Who holds the sockets of the inodes `wanted` gives in ascending order, and how far
    /// attribution got for `inodes` (every matching socket's, in any order, 0 for those no
    /// process can hold); with `containers`, the holders' containers too. Nothing is described
    /// when no matching socket can have a holder.
    pub fn holding(
        self,
        wanted: impl Iterator<Item = u64>,
        inodes: impl Iterator<Item = u64> + Clone,
        containers: bool,
    ) -> Result<Holding, Error> {
        let source = self.source.clone();
        let host_root = self.host_root.clone();
        let owners = if inodes.clone().any(|i| i != 0) {
            // Inode 0 is a socket no process can hold.
            self.finish()?.owners(wanted.filter(|&i| i != 0))
        } else {
            Owners::default()
        };
        let attribution = Attribution::of_inodes(inodes, &owners);
        let containers = if containers {
            let mut namer = Namer::new(source.root(), &host_root);
            owners
                .processes()
                .iter()
                .filter_map(|p| Some((p.pid, namer.container_of(p.pid)?)))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(Holding {
            owners,
            attribution,
            containers,
        })
    }
}

/// Who holds `wanted`: from the walk beside the dump when there is one, else from a walk of
/// its own that keeps only those inodes, until `deadline`. Nothing is walked for an empty set
/// (a walk beside is then dropped, which stops it).
pub(super) fn owners_of(
    source: &Source,
    beside: Option<Walk>,
    wanted: &HashSet<u64>,
    deadline: Option<Instant>,
) -> Result<Owners, Error> {
    if wanted.is_empty() {
        return Ok(Owners::default());
    }
    match beside {
        Some(walk) => {
            let mut sorted: Vec<u64> = wanted.iter().copied().collect();
            sorted.sort_unstable();
            Ok(walk.finish()?.owners(sorted.into_iter()))
        }
        None => fdwalk::owners_of(source.root(), wanted, deadline).map_err(|e| Error::Read {
            path: source.root().to_path_buf(),
            source: e,
        }),
    }
}
