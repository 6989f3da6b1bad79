//! The walk of `/proc/*/fd`: every process's fd directory listed once, every fd link read once
//! (`getdents64` and one `readlinkat` per fd, relative to the open fd directory, as the C floor
//! in `benches/fdwalk_count.c` does), and the socket inodes found recorded compactly with their
//! holder: 16 bytes per held socket, no string per socket.
//!
//! The walk needs no list of wanted inodes: it can run on a second thread while the sockets
//! are dumped (and on both threads once the dump is done), and be asked afterwards who holds
//! the ones that matched ([`FdTable::owners`]). Only those processes are described (stat,
//! uid, limits), and the pid-reuse check of `owners::describe` runs then.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use rustix::fs::{Dir, Mode, OFlags, openat, readlinkat_raw};
use rustix::io::Errno;

use super::owners::{Gap, SAMPLES, describe, hidepid, out_of_fds, socket_inode};
use crate::report::{Owners, WalkStats};

/// A process whose fd directory was listed.
#[derive(Debug, Clone, Copy)]
struct Walked {
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
    processes: Vec<Walked>,
    /// In walk order: grouped by process (each walker's share in the order it took them).
    held: Vec<Held>,
    pub stats: WalkStats,
}

/// Walks `root/*/fd` in pid order, recording every socket fd whose inode `keep` accepts.
pub fn walk(root: &Path, keep: &dyn Fn(u64) -> bool) -> io::Result<FdTable> {
    let queue = Queue::open(root)?;
    Ok(FdTable::merge(root, vec![walk_share(&queue, keep)]))
}

/// The processes to walk, shared by the walkers: each takes the next pid until none is left.
struct Queue {
    root_fd: OwnedFd,
    pids: Vec<u32>,
    next: AtomicUsize,
    stop: AtomicBool,
}

impl Queue {
    /// Lists the processes under `root`.
    fn open(root: &Path) -> io::Result<Queue> {
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
        })
    }

    fn take(&self) -> Option<u32> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        self.pids
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .copied()
    }
}

/// The walk on a thread of its own, started before the sockets are dumped; the thread that
/// waits for it in [`Beside::finish`] walks the processes still left beside it, so the dump and
/// the walk overlap and the rest of the walk uses both cores. Dropping it stops the walk at the
/// next process (nothing turned out to need owners, or the dump failed).
pub struct Beside {
    root: PathBuf,
    queue: Result<Arc<Queue>, Option<io::Error>>,
    thread: Option<JoinHandle<FdTable>>,
}

impl Beside {
    /// Starts walking `root/*/fd`, recording every socket fd.
    pub fn start(root: &Path) -> Beside {
        let queue = Queue::open(root).map(Arc::new).map_err(Some);
        // No thread (a low `ulimit -u`): the whole walk runs in `finish`, after the dump.
        let thread = queue.as_ref().ok().and_then(|queue| {
            let queue = Arc::clone(queue);
            std::thread::Builder::new()
                .name("fd walk".into())
                .spawn(move || walk_share(&queue, &|_| true))
                .ok()
        });
        Beside {
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
        let mut parts = vec![walk_share(&queue, &|_| true)];
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(table)) => parts.push(table),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {}
        }
        Ok(FdTable::merge(&self.root, parts))
    }
}

impl Drop for Beside {
    fn drop(&mut self) {
        if let Ok(queue) = &self.queue {
            queue.stop.store(true, Ordering::Relaxed);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Walks the processes this thread takes from `queue`.
fn walk_share(queue: &Queue, keep: &dyn Fn(u64) -> bool) -> FdTable {
    let mut table = FdTable::default();
    let mut path = String::new();
    let mut link = [std::mem::MaybeUninit::<u8>::uninit(); 64];
    while let Some(pid) = queue.take() {
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
            // A process with a million fds is not finished when nothing needs owners any more.
            if fd_count % 1024 == 0 && queue.stop.load(Ordering::Relaxed) {
                break;
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
            table.processes.push(Walked { pid, fd_count });
        }
    }
    table
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
            stats.fds_unreadable += part.stats.fds_unreadable;
            table.processes.extend(part.processes);
            table.held.reserve_exact(part.held.len());
            table.held.extend(part.held.into_iter().map(|h| Held {
                process: h.process + offset,
                ..h
            }));
        }
        if !table.processes.is_sorted_by_key(|p| p.pid) {
            let mut order: Vec<u32> =
                (0..u32::try_from(table.processes.len()).unwrap_or(u32::MAX)).collect();
            order.sort_unstable_by_key(|&i| table.processes[i as usize].pid);
            let mut renumber = vec![0u32; order.len()];
            for (new, &old) in order.iter().enumerate() {
                renumber[old as usize] = u32::try_from(new).unwrap_or(u32::MAX);
            }
            table.processes = order.iter().map(|&i| table.processes[i as usize]).collect();
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
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn records_socket_links_it_keeps_and_counts_every_fd() {
        let dir = tempfile::tempdir().unwrap();
        let fd = dir.path().join("77/fd");
        fs::create_dir_all(&fd).unwrap();
        fs::create_dir_all(dir.path().join("self")).unwrap();
        symlink("socket:[10]", fd.join("3")).unwrap();
        symlink("pipe:[11]", fd.join("4")).unwrap();
        symlink("socket:[12]", fd.join("5")).unwrap();
        let table = walk(dir.path(), &|inode| inode != 12).unwrap();
        assert_eq!(table.stats.processes_scanned, 1);
        assert_eq!(table.processes.len(), 1);
        assert_eq!(table.processes[0].pid, 77);
        assert_eq!(table.processes[0].fd_count, 3);
        let held: Vec<(u64, u32)> = table.held.iter().map(|h| (h.inode, h.fd)).collect();
        assert_eq!(held, vec![(10, 3)]);
    }

    #[test]
    fn two_walkers_find_what_one_finds_in_pid_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("self")).unwrap();
        for pid in 1..=40u64 {
            let fd = dir.path().join(format!("{pid}/fd"));
            fs::create_dir_all(&fd).unwrap();
            for n in 0..pid % 4 {
                symlink(
                    format!("socket:[{}]", pid * 100 + n),
                    fd.join(n.to_string()),
                )
                .unwrap();
            }
        }
        let one = walk(dir.path(), &|_| true).unwrap();
        let both = Beside::start(dir.path()).finish().unwrap();
        let pids = |t: &FdTable| t.processes.iter().map(|p| p.pid).collect::<Vec<_>>();
        let held = |t: &FdTable| {
            let mut held: Vec<(u64, u32)> = t
                .held
                .iter()
                .map(|h| (h.inode, t.processes[h.process as usize].pid))
                .collect();
            held.sort_unstable();
            held
        };
        assert_eq!(pids(&both), pids(&one));
        assert!(pids(&one).is_sorted() && pids(&one).len() == 30);
        assert_eq!(held(&both), held(&one));
        assert_eq!(both.stats.processes_scanned, 40);
        // Shares merged out of pid order come back in pid order.
        let mut shares = [one, FdTable::default()];
        shares[1].processes = shares[0].processes.split_off(10);
        shares[1].held = shares[0]
            .held
            .split_off(shares[0].held.iter().position(|h| h.process >= 10).unwrap());
        for h in &mut shares[1].held {
            h.process -= 10;
        }
        let [first, second] = shares;
        let merged = FdTable::merge(dir.path(), vec![second, first]);
        assert_eq!(pids(&merged), pids(&both));
        assert_eq!(held(&merged), held(&both));
    }

    /// A process directory with a stat line, holding `links` (fd, target).
    fn process(root: &Path, pid: u32, links: &[(u32, &str)]) {
        let dir = root.join(pid.to_string());
        fs::create_dir_all(dir.join("fd")).unwrap();
        fs::write(
            dir.join("stat"),
            format!("{pid} (server) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0"),
        )
        .unwrap();
        for (fd, target) in links {
            symlink(target, dir.join("fd").join(fd.to_string())).unwrap();
        }
    }

    #[test]
    fn a_process_whose_first_socket_closed_since_the_walk_is_still_named() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("self")).unwrap();
        process(dir.path(), 10, &[(3, "socket:[5]"), (4, "socket:[6]")]);
        process(dir.path(), 11, &[(3, "socket:[7]")]);
        let table = walk(dir.path(), &|_| true).unwrap();
        // After the walk: 10 closed socket 5, and 11 exited and its pid went to another
        // process whose fd 3 is something else.
        fs::remove_file(dir.path().join("10/fd/3")).unwrap();
        fs::remove_file(dir.path().join("11/fd/3")).unwrap();
        symlink("pipe:[99]", dir.path().join("11/fd/3")).unwrap();
        let owners = table.owners([5, 6, 7].into_iter());
        let pids = |inode| owners.of(inode).map(|p| p.pid).collect::<Vec<_>>();
        assert_eq!(pids(6), vec![10]);
        assert_eq!(pids(5), vec![10], "still the same process");
        assert_eq!(pids(7), Vec::<u32>::new());
        assert_eq!(owners.stats.processes_vanished, 1);
    }

    #[test]
    fn a_pid_is_walked_once_whatever_its_directory_is_called() {
        let dir = tempfile::tempdir().unwrap();
        process(dir.path(), 5, &[(3, "socket:[8]")]);
        fs::create_dir_all(dir.path().join("05/fd")).unwrap();
        symlink("socket:[8]", dir.path().join("05/fd/3")).unwrap();
        fs::create_dir_all(dir.path().join("+5/fd")).unwrap();
        let table = walk(dir.path(), &|_| true).unwrap();
        assert_eq!(table.stats.processes_scanned, 1);
        assert_eq!(table.owners([8].into_iter()).of(8).count(), 1);
    }

    #[test]
    fn a_missing_fd_directory_is_a_vanished_process() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("78")).unwrap();
        let table = walk(dir.path(), &|_| true).unwrap();
        assert_eq!(table.stats.processes_vanished, 1);
        assert!(table.owners(0..u64::MAX).processes().is_empty());
    }
}
