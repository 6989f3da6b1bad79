//! Who holds the sockets: the processes found behind socket inodes, what the walk of
//! `/proc/*/fd` could and could not see, and how far attribution got. Data only; the walk is
//! `collect::owners`, the wording `render::attribution`.

/// A process that holds at least one wanted socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// The kernel's `comm` (up to 15 bytes), exactly as the process set it: may hold control
    /// characters, so escape it before printing to a terminal.
    pub comm: String,
    pub uid: u32,
    /// Clock ticks after boot (stat field 22): with the pid, identifies the process across pid
    /// reuse.
    pub starttime: u64,
    /// Open file descriptors of any kind.
    pub fd_count: u64,
    /// `RLIMIT_NOFILE` soft limit; `None` when unlimited or unreadable.
    pub nofile_soft: Option<u64>,
}

#[cfg(test)]
impl Process {
    /// A process for unit tests: `comm` holding sockets, everything else zero or unknown.
    pub(crate) fn for_test(pid: u32, comm: &str) -> Process {
        Process {
            pid,
            comm: comm.into(),
            uid: 0,
            starttime: 0,
            fd_count: 0,
            nofile_soft: None,
        }
    }
}

/// What the walk could and could not see; reported with every attributed result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkStats {
    pub processes_scanned: u64,
    /// `/proc/PID/fd` (or the links in it) unreadable: another user's process without
    /// CAP_SYS_PTRACE, or one a security policy shields.
    pub processes_unreadable: u64,
    /// Gone between listing `/proc` and reading it.
    pub processes_vanished: u64,
    /// Not read because the walk itself ran out of file descriptors (EMFILE/ENFILE: a low
    /// `ulimit -n`), which must not be blamed on the processes.
    pub processes_out_of_fds: u64,
    /// Not looked at: the walk stopped at its deadline (`check --timeout`).
    pub processes_not_walked: u64,
    /// fd links that disappeared or could not be read while being listed.
    pub fds_unreadable: u64,
    /// The `hidepid=` option of the /proc mount, if any: other users' processes are hidden.
    pub hidepid: Option<String>,
    /// The walk ran as root: what it could not read, a security policy shields (advising root
    /// would be wrong).
    pub as_root: bool,
}

/// inode → the processes holding it. Compact: one sorted (inode, process index) pair per holding
/// (16 bytes), not a map of vectors, so a million attributed sockets cost 16 MiB.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    processes: Vec<Process>,
    /// Sorted by inode, then process index (pid order); no duplicates.
    holders: Vec<(u64, u32)>,
    /// The inode of every [`BLOCK`]th holding: a lookup searches this small, cached index,
    /// then one block, instead of missing the cache at every step through all the holdings
    /// (`list -p` looks up rows in address order, so at random places).
    index: Vec<u64>,
    pub stats: WalkStats,
}

const BLOCK: usize = 64;

impl Owners {
    /// `holders` pairs an inode with an index into `processes` (given in pid order); a process
    /// may hold a socket under several fds: it is named once.
    pub fn new(processes: Vec<Process>, mut holders: Vec<(u64, u32)>, stats: WalkStats) -> Owners {
        holders.sort_unstable();
        holders.dedup();
        let index = holders.iter().step_by(BLOCK).map(|&(i, _)| i).collect();
        Owners {
            processes,
            holders,
            index,
            stats,
        }
    }

    /// Where the holdings of `inode` start (or would).
    fn start_of(&self, inode: u64) -> usize {
        // index[j] >= inode first at j: the first holding >= inode is after block j - 1's
        // first entry and at most block j's first.
        let j = self.index.partition_point(|&i| i < inode);
        let from = j.saturating_sub(1) * BLOCK;
        let to = (j * BLOCK + 1).min(self.holders.len());
        from + self.holders[from..to.max(from)].partition_point(|&(i, _)| i < inode)
    }

    /// The holdings of `inode`, which start at `start`.
    fn run_at(&self, start: usize, inode: u64) -> &[(u64, u32)] {
        let len = self.holders[start..]
            .iter()
            .take_while(|&&(i, _)| i == inode)
            .count();
        &self.holders[start..start + len]
    }

    fn holders_of(&self, inode: u64) -> &[(u64, u32)] {
        self.run_at(self.start_of(inode), inode)
    }

    /// The processes holding `inode` (several after fork or fd passing), in pid order.
    pub fn of(&self, inode: u64) -> impl Iterator<Item = &Process> + '_ {
        self.holders_of(inode)
            .iter()
            .map(|&(_, i)| &self.processes[i as usize])
    }

    /// Lookups for inodes that come mostly in ascending order: each steps on from the last,
    /// as a merge does, instead of searching.
    pub fn lookup(&self) -> Lookup<'_> {
        Lookup {
            owners: self,
            at: 0,
        }
    }

    pub fn processes(&self) -> &[Process] {
        &self.processes
    }
}

/// See [`Owners::lookup`].
pub struct Lookup<'a> {
    owners: &'a Owners,
    /// Every holding before it is for a smaller inode than the last one looked up.
    at: usize,
}

/// How many holdings a lookup steps over before it searches instead.
const STEPS: usize = 8;

impl<'a> Lookup<'a> {
    fn holders_of(&mut self, inode: u64) -> &'a [(u64, u32)] {
        let owners = self.owners;
        let holders = &owners.holders;
        let behind = self.at > 0 && holders[self.at - 1].0 >= inode;
        let near = holders[self.at..]
            .iter()
            .take(STEPS)
            .position(|&(i, _)| i >= inode);
        let start = match near {
            _ if behind => owners.start_of(inode),
            Some(step) => self.at + step,
            None if holders.len() - self.at < STEPS => holders.len(),
            None => owners.start_of(inode),
        };
        self.at = start;
        owners.run_at(start, inode)
    }

    /// The indices into [`Owners::processes`] of the holders of `inode`, in pid order.
    pub fn indices_of(&mut self, inode: u64) -> impl Iterator<Item = u32> + 'a {
        self.holders_of(inode).iter().map(|&(_, i)| i)
    }
}

/// How far attribution got for a set of sockets: what a reader needs to trust the owner columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub sockets: u64,
    pub attributed: u64,
    /// Inode 0: orphaned after close(), a TIME_WAIT or request mini-socket, or an accepted
    /// connection still in the accept queue. No process can own these.
    pub no_process: u64,
    /// A real socket whose holder was not found (unreadable or hidden processes, or a race).
    pub unknown: u64,
    /// Held by more than one process (fork, fd passing).
    pub shared: u64,
    pub walk: WalkStats,
}

impl Attribution {
    /// How far attribution got for the sockets of these inodes (0: no process can hold it).
    pub fn of_inodes(inodes: impl IntoIterator<Item = u64>, owners: &Owners) -> Attribution {
        let mut a = Attribution {
            walk: owners.stats.clone(),
            ..Attribution::default()
        };
        let mut lookup = owners.lookup();
        for inode in inodes {
            a.sockets += 1;
            match lookup.holders_of(inode).len() {
                _ if inode == 0 => a.no_process += 1,
                0 => a.unknown += 1,
                n => {
                    a.attributed += 1;
                    if n > 1 {
                        a.shared += 1;
                    }
                }
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_holding_is_found_across_block_boundaries() {
        let process = |pid| Process::for_test(pid, "p");
        // Inodes 10, 12, ..., each held once, and every 7th also by the second process.
        let mut holders = Vec::new();
        for k in 0..1000u64 {
            holders.push((10 + 2 * k, 0));
            if k % 7 == 0 {
                holders.push((10 + 2 * k, 1));
            }
        }
        let owners = Owners::new(vec![process(1), process(2)], holders, WalkStats::default());
        for k in 0..1000u64 {
            let pids: Vec<u32> = owners.of(10 + 2 * k).map(|p| p.pid).collect();
            assert_eq!(pids, if k % 7 == 0 { vec![1, 2] } else { vec![1] }, "k {k}");
            assert_eq!(owners.of(11 + 2 * k).count(), 0);
        }
        assert_eq!(owners.of(0).count(), 0);
        assert_eq!(Owners::default().of(5).count(), 0);
    }

    #[test]
    fn lookups_in_any_order_find_what_searches_find() {
        let process = |pid| Process::for_test(pid, "p");
        let mut holders = Vec::new();
        for k in 0..500u64 {
            // Gaps of every size, so some lookups step and some search.
            let inode = 10 + k * k % 97 + k * 13;
            holders.push((inode, 0));
            if k % 5 == 0 {
                holders.push((inode, 1));
            }
        }
        let owners = Owners::new(vec![process(1), process(2)], holders, WalkStats::default());
        let ascending: Vec<u64> = (0..8000).collect();
        let mixed: Vec<u64> = (0..8000u64).map(|k| (k * 7919) % 8000).collect();
        let repeated: Vec<u64> = (0..8000u64).map(|k| k / 3).collect();
        for order in [ascending, mixed, repeated] {
            let mut lookup = owners.lookup();
            for inode in order {
                let stepped: Vec<u32> = lookup.indices_of(inode).collect();
                let searched: Vec<u32> = owners.holders_of(inode).iter().map(|h| h.1).collect();
                assert_eq!(stepped, searched, "inode {inode}");
            }
        }
        assert_eq!(Owners::default().lookup().indices_of(3).count(), 0);
    }
}
