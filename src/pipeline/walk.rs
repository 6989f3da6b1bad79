//! Owners for every matching socket (`list -p`, `top --by process`): the walk of `/proc/*/fd`
//! beside the dump, and the containers of the processes it found.

use std::io::Write;

use super::{Analysis, Plan, Scope, analyse_each};
use crate::collect::Source;
use crate::collect::fdwalk::{Beside, FdTable};
use crate::diagnose::Settings;
use crate::error::Error;
use crate::model::Socket;
use crate::report::{Attribution, NetnsLabel, Owners};

/// As [`analyse_each`]; with `holders`, also the walk of every process's fds, on a second
/// thread while the sockets stream by: the dump (kernel time in this thread) and the walk
/// (kernel time in the other) overlap instead of adding up. `each` keeps what it needs of the
/// matching sockets; the walk goes on while the caller sorts them, and [`Walk::owners`] then
/// says who holds them.
pub fn analyse_with_holders(
    scope: &Scope,
    plan: &Plan,
    settings: &Settings,
    holders: bool,
    each: &mut dyn FnMut(Option<&NetnsLabel>, &Socket),
    err: &mut dyn Write,
) -> Result<(Analysis, Option<Walk>), Error> {
    let walk = holders.then(|| Walk {
        beside: Beside::start(scope.source.root()),
        source: scope.source.clone(),
    });
    let analysis = analyse_each(scope, plan, settings, each, err)?;
    Ok((analysis, walk))
}

/// A walk of `/proc/*/fd` under way beside the rest of the work.
pub struct Walk {
    beside: Beside,
    source: Source,
}

impl Walk {
    /// Who holds the sockets of the inodes `wanted` gives in ascending order, and how far
    /// attribution got for `inodes` (every matching socket's, in any order, 0 for those no
    /// process can hold). Nothing is described when no matching socket can have a holder.
    pub fn owners(
        self,
        wanted: impl Iterator<Item = u64>,
        inodes: impl Iterator<Item = u64> + Clone,
    ) -> Result<(Owners, Attribution), Error> {
        let owners = if inodes.clone().any(|i| i != 0) {
            // Inode 0 is a socket no process can hold.
            finish_walk(&self.source, self.beside)?.owners(wanted.filter(|&i| i != 0))
        } else {
            Owners::default()
        };
        let attribution = Attribution::of_inodes(inodes, &owners);
        Ok((owners, attribution))
    }
}

pub(super) fn finish_walk(source: &Source, walk: Beside) -> Result<FdTable, Error> {
    walk.finish().map_err(|e| Error::Read {
        path: source.root().to_path_buf(),
        source: e,
    })
}

/// The containers of these processes (pid → container or pod name), for sockets a container
/// holds in a namespace it shares with the host.
pub fn containers_of(
    scope: &Scope,
    pids: impl IntoIterator<Item = u32>,
) -> std::collections::HashMap<u32, String> {
    let mut namer = crate::collect::names::Namer::new(scope.source.root(), &scope.host_root);
    pids.into_iter()
        .filter_map(|pid| Some((pid, namer.container_of(pid)?)))
        .collect()
}
