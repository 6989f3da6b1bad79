//! Who holds the sockets: the processes found behind socket inodes, what the walk of
//! `/proc/*/fd` could and could not see, and how far attribution got. Data only; the walk is
//! `collect::owners`, the wording `render::attribution`.

use std::collections::HashMap;

use crate::model::Socket;

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
    /// fd links that disappeared or could not be read while being listed.
    pub fds_unreadable: u64,
    /// The `hidepid=` option of the /proc mount, if any: other users' processes are hidden.
    pub hidepid: Option<String>,
    /// The walk ran as root: what it could not read, a security policy shields (advising root
    /// would be wrong).
    pub as_root: bool,
}

/// inode → the processes holding it.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    processes: Vec<Process>,
    by_inode: HashMap<u64, Vec<usize>>,
    pub stats: WalkStats,
}

impl Owners {
    /// The processes holding `inode` (several after fork or fd passing), in pid order.
    pub fn of(&self, inode: u64) -> impl Iterator<Item = &Process> + '_ {
        self.by_inode
            .get(&inode)
            .into_iter()
            .flatten()
            .map(|&i| &self.processes[i])
    }

    /// Records a process holding `inodes` (one entry per process, however many fds it holds a
    /// socket under).
    pub fn insert(&mut self, process: Process, inodes: impl IntoIterator<Item = u64>) {
        let index = self.processes.len();
        self.processes.push(process);
        for inode in inodes {
            let holders = self.by_inode.entry(inode).or_default();
            if holders.last() != Some(&index) {
                holders.push(index);
            }
        }
    }

    pub fn processes(&self) -> &[Process] {
        &self.processes
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
    pub fn of<'a>(sockets: impl IntoIterator<Item = &'a Socket>, owners: &Owners) -> Attribution {
        Attribution::of_inodes(sockets.into_iter().map(|s| s.inode), owners)
    }

    /// As [`Attribution::of`], for sockets known by inode only (0: no process can hold it).
    pub fn of_inodes(inodes: impl IntoIterator<Item = u64>, owners: &Owners) -> Attribution {
        let mut a = Attribution {
            walk: owners.stats.clone(),
            ..Attribution::default()
        };
        for inode in inodes {
            a.sockets += 1;
            match owners.by_inode.get(&inode) {
                _ if inode == 0 => a.no_process += 1,
                Some(holders) => {
                    a.attributed += 1;
                    if holders.len() > 1 {
                        a.shared += 1;
                    }
                }
                None => a.unknown += 1,
            }
        }
        a
    }
}
