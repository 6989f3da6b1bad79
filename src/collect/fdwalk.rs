//! The walk of `/proc/*/fd`: every process's fd directory listed once, every fd link read once
//! (`getdents64` and one `readlinkat` per fd, relative to the open fd directory, as the C floor
//! in `benches/fdwalk_count.c` does), and the socket inodes found recorded compactly with their
//! holder: 16 bytes per held socket, no string per socket.
//!
//! The walk needs no list of wanted inodes: it can run on a second thread while the sockets
//! are dumped (and on both threads once the dump is done), and be asked afterwards who holds
//! the ones that matched ([`FdTable::owners`]). Only those processes are described (stat,
//! uid, limits), and the pid-reuse check of `process::describe` runs then.

use std::collections::HashSet;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::fs::{Dir, Mode, OFlags, openat, readlinkat_raw};
use rustix::io::Errno;

use super::process::{Gap, SAMPLES, describe, hidepid, out_of_fds, socket_inode};
use crate::model::sort_renumbering;
use crate::report::{Owners, WalkStats};

/// A process whose fd directory was listed (ordered by pid, its first field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Listed {
    pid: u32,
    /// Open fds of any kind.
    fd_count: u64,
}

/// A socket fd found by the walk.
#[derive(Debug, Clone, Copy)]
struct Held {
    inode: u64,
    /// Index into [`FdTable::processes`].
    process: u32,
    fd: u32,
}

/// What the walk saw: the processes with socket fds, and which socket inode each fd holds.
#[derive(Debug, Default)]
pub struct FdTable {
    root: PathBuf,
    processes: Vec<Listed>,
    /// In walk order: grouped by process (each walker's share in the order it took them).
    held: Vec<Held>,
    pub stats: WalkStats,
}

/// Walks `root/*/fd` in pid order, recording every socket fd whose inode `keep` accepts; stops
/// at `deadline`, counting the processes it did not look at.
pub fn walk(
    root: &Path,
    keep: &dyn Fn(u64) -> bool,
    deadline: Option<Instant>,
) -> io::Result<FdTable> {
    let queue = Queue::open(root, deadline)?;
    let mut table = queue.drain(keep);
    table.stats.processes_not_walked += queue.left();
    Ok(FdTable::merge(root, vec![table]))
}

/// Who holds the `wanted` inodes: a walk on this thread that keeps only those, until
/// `deadline` (what it did not look at is counted in the owners' stats). Nothing is read when
/// `wanted` is empty.
pub fn owners_of(
    root: &Path,
    wanted: &HashSet<u64>,
    deadline: Option<Instant>,
) -> io::Result<Owners> {
    if wanted.is_empty() {
        return Ok(Owners::default());
    }
    let mut sorted: Vec<u64> = wanted.iter().copied().collect();
    sorted.sort_unstable();
    Ok(walk(root, &|inode| wanted.contains(&inode), deadline)?.owners(sorted.into_iter()))
}

/// The processes to walk, shared by the walkers: each takes the next pid until none is left.
struct Queue {
    root_fd: OwnedFd,
    pids: Vec<u32>,
    next: AtomicUsize,
    stop: AtomicBool,
    /// `check --timeout`: no process is taken after this.
    deadline: Option<Instant>,
}

impl Queue {
    /// Lists the processes under `root`.
    fn open(root: &Path, deadline: Option<Instant>) -> io::Result<Queue> {
        let root_fd = openat(
            rustix::fs::CWD,
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut pids: Vec<u32> = Vec::new();
        let mut dir = Dir::read_from(&root_fd)?;
        // A listing error keeps the pids read so far (the rest count as not seen); only
        // canonical pid names count, so `05` or `+5` in a copied tree is not process 5 twice.
        while let Some(Ok(entry)) = dir.read() {
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if let Ok(pid) = name.parse::<u32>()
                && pid.to_string() == name
            {
                pids.push(pid);
            }
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(Queue {
            root_fd,
            pids,
            next: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            deadline,
        })
    }

    fn take(&self) -> Option<u32> {
        if self.stop.load(Ordering::Relaxed) || self.past_deadline() {
            return None;
        }
        self.pids
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .copied()
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Processes no walker took.
    fn left(&self) -> u64 {
        let taken = self.next.load(Ordering::Relaxed).min(self.pids.len());
        (self.pids.len() - taken) as u64
    }
}

/// The walk on a thread of its own, started before the sockets are dumped; the thread that
/// waits for it in [`Walk::finish`] walks the processes still left beside it, so the dump and
/// the walk overlap and the rest of the walk uses both cores. Dropping it stops the walk at the
/// next process (nothing turned out to need owners, or the dump failed).
pub struct Walk {
    root: PathBuf,
    queue: Result<Arc<Queue>, Option<io::Error>>,
    thread: Option<JoinHandle<FdTable>>,
}

impl Walk {
    /// Starts walking `root/*/fd`, recording every socket fd.
    pub fn start(root: &Path) -> Walk {
        let queue = Queue::open(root, None).map(Arc::new).map_err(Some);
        // No thread (a low `ulimit -u`): the whole walk runs in `finish`, after the dump.
        let thread = queue.as_ref().ok().and_then(|queue| {
            let queue = Arc::clone(queue);
            std::thread::Builder::new()
                .name("fd walk".into())
                .spawn(move || queue.drain(&|_| true))
                .ok()
        });
        Walk {
            root: root.to_path_buf(),
            queue,
            thread,
        }
    }

    /// Walks what is left, then waits for the other thread.
    pub fn finish(mut self) -> io::Result<FdTable> {
        let queue = match &mut self.queue {
            Ok(queue) => Arc::clone(queue),
            Err(e) => return Err(e.take().unwrap_or_else(|| io::Error::other("walk failed"))),
        };
        let mut parts = vec![queue.drain(&|_| true)];
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(table)) => parts.push(table),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {}
        }
        Ok(FdTable::merge(&self.root, parts))
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        if let Ok(queue) = &self.queue {
            queue.stop.store(true, Ordering::Relaxed);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Queue {
    /// Walks the processes this thread takes from the queue, until none is left: this walker's
    /// share of the walk.
    fn drain(&self, keep: &dyn Fn(u64) -> bool) -> FdTable {
        let queue = self;
        let mut table = FdTable::default();
        let mut path = String::new();
        let mut link = [std::mem::MaybeUninit::<u8>::uninit(); 64];
        // Test-only: a walk slow enough for `check --timeout` to cut it short.
        let slow = super::injected("slow-walk");
        while let Some(pid) = queue.take() {
            if slow {
                std::thread::sleep(Duration::from_millis(100));
            }
            table.stats.processes_scanned += 1;
            path.clear();
            path.push_str(&pid.to_string());
            path.push_str("/fd");
            let opened = if super::injected("emfile") {
                Err(Errno::MFILE)
            } else {
                openat(
                    &queue.root_fd,
                    path.as_str(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .and_then(Dir::new)
            };
            let mut dir = match opened {
                Ok(dir) => dir,
                Err(e) if denied(e) => {
                    table.stats.processes_unreadable += 1;
                    continue;
                }
                Err(e) if out_of_fds(&e.into()) => {
                    table.stats.processes_out_of_fds += 1;
                    continue;
                }
                Err(_) => {
                    table.stats.processes_vanished += 1;
                    continue;
                }
            };
            let index = u32::try_from(table.processes.len()).unwrap_or(u32::MAX);
            let mut fd_count = 0;
            let mut refused = false;
            while let Some(entry) = dir.read() {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        table.stats.fds_unreadable += 1;
                        refused |= denied(e);
                        continue;
                    }
                };
                let name = entry.file_name();
                if name.to_bytes().first() == Some(&b'.') {
                    continue;
                }
                fd_count += 1;
                // A process with a million fds is not finished when nothing needs owners any
                // more, or past the deadline (then it counts as not looked at).
                if fd_count % 1024 == 0 {
                    if queue.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if queue.past_deadline() {
                        table.stats.processes_not_walked += 1;
                        break;
                    }
                }
                let target = dir.fd().and_then(|fd| readlinkat_raw(fd, name, &mut link));
                match target {
                    Ok((target, _)) => {
                        if let Some(inode) = socket_inode(target)
                            && keep(inode)
                            && let Some(fd) = name.to_str().ok().and_then(|s| s.parse().ok())
                        {
                            table.held.push(Held {
                                inode,
                                process: index,
                                fd,
                            });
                        }
                    }
                    Err(e) => {
                        table.stats.fds_unreadable += 1;
                        refused |= denied(e);
                    }
                }
            }
            if refused {
                table.stats.processes_unreadable += 1;
            }
            if table.held.last().is_some_and(|h| h.process == index) {
                table.processes.push(Listed { pid, fd_count });
            }
        }
        table
    }
}

fn denied(e: Errno) -> bool {
    e == Errno::ACCESS || e == Errno::PERM
}

impl FdTable {
    /// One table from the walkers' shares, its processes in pid order again.
    fn merge(root: &Path, mut parts: Vec<FdTable>) -> FdTable {
        // The largest share is the base and the others are added to it: a million holdings
        // are not copied into a third table.
        parts.sort_by_key(|p| std::cmp::Reverse(p.held.len()));
        let mut parts = parts.into_iter();
        let mut table = parts.next().unwrap_or_default();
        table.root = root.to_path_buf();
        table.stats.hidepid = hidepid(root);
        table.stats.as_root = rustix::process::geteuid().is_root();
        for part in parts {
            let offset = u32::try_from(table.processes.len()).unwrap_or(u32::MAX);
            let stats = &mut table.stats;
            stats.processes_scanned += part.stats.processes_scanned;
            stats.processes_unreadable += part.stats.processes_unreadable;
            stats.processes_vanished += part.stats.processes_vanished;
            stats.processes_out_of_fds += part.stats.processes_out_of_fds;
            stats.processes_not_walked += part.stats.processes_not_walked;
            stats.fds_unreadable += part.stats.fds_unreadable;
            table.processes.extend(part.processes);
            table.held.reserve_exact(part.held.len());
            table.held.extend(part.held.into_iter().map(|h| Held {
                process: h.process + offset,
                ..h
            }));
        }
        if !table.processes.is_sorted_by_key(|p| p.pid) {
            let renumber = sort_renumbering(&mut table.processes);
            for h in &mut table.held {
                h.process = renumber[h.process as usize];
            }
        }
        table
    }

    /// Who holds the sockets whose inodes `wanted` gives, in ascending order (duplicates are
    /// fine): each process holding one is described (and checked against pid reuse); one that
    /// exited or was replaced since the walk counts as vanished.
    ///
    /// The holdings are sorted by inode once and merged with `wanted`: no lookup per holding,
    /// and the owners' own sort then finds them already in order.
    pub fn owners(self, wanted: impl Iterator<Item = u64>) -> Owners {
        let mut stats = self.stats;
        let mut held = self.held;
        held.sort_unstable_by_key(|h| (h.inode, h.process));
        let mut wanted = wanted.peekable();
        held.retain(|h| {
            while wanted.next_if(|&w| w < h.inode).is_some() {}
            wanted.peek() == Some(&h.inode)
        });
        // Per walked process: a few wanted sockets it holds, read again to catch pid reuse.
        let mut samples: Vec<Vec<(u64, u32)>> = vec![Vec::new(); self.processes.len()];
        for h in &held {
            let sample = &mut samples[h.process as usize];
            if sample.len() < SAMPLES {
                sample.push((h.inode, h.fd));
            }
        }
        // Per walked process: its index among the described ones (both in pid order).
        let mut described: Vec<Option<u32>> = vec![None; self.processes.len()];
        let mut processes = Vec::new();
        for (at, (walked, sample)) in self.processes.iter().zip(&samples).enumerate() {
            if sample.is_empty() {
                continue;
            }
            let dir = self.root.join(walked.pid.to_string());
            match describe(&dir, walked.pid, walked.fd_count, sample) {
                Ok(process) => {
                    described[at] = Some(u32::try_from(processes.len()).unwrap_or(u32::MAX));
                    processes.push(process);
                }
                Err(Gap::Vanished) => stats.processes_vanished += 1,
                Err(Gap::Unreadable) => stats.processes_unreadable += 1,
                Err(Gap::OutOfFds) => stats.processes_out_of_fds += 1,
            }
        }
        // Same size as `Held`: collected in place, so a million holdings are never held twice.
        let holders: Vec<(u64, u32)> = held
            .into_iter()
            .filter_map(|h| Some((h.inode, described[h.process as usize]?)))
            .collect();
        Owners::new(processes, holders, stats)
    }
}

#[cfg(test)]
mod tests;
