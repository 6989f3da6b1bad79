//! The walk of `/proc/*/fd`: every process's fd directory listed once, every fd link read once
//! (`getdents64` and one `readlinkat` per fd, relative to the open fd directory, as the C floor
//! in `benches/fdwalk_count.c` does), and the socket inodes found recorded compactly with their
//! holder: 16 bytes per held socket, no string per socket.
//!
//! The walk needs no list of wanted inodes: it can run on a second thread while the sockets
//! are dumped, and be asked afterwards who holds the ones that matched
//! ([`FdTable::owners`]). Only those processes are described (stat, status, limits), and the
//! pid-reuse check of `owners::describe` runs then.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use rustix::fs::{Dir, Mode, OFlags, openat, readlinkat_raw};
use rustix::io::Errno;

use super::owners::{Gap, describe, hidepid, out_of_fds, socket_inode};
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
    /// In walk order: grouped by process, processes in pid order.
    held: Vec<Held>,
    pub stats: WalkStats,
}

/// Walks `root/*/fd` in pid order, recording every socket fd whose inode `keep` accepts.
pub fn walk(root: &Path, keep: &dyn Fn(u64) -> bool) -> io::Result<FdTable> {
    walk_until(root, keep, &AtomicBool::new(false))
}

/// The walk on a thread of its own, started before the sockets are dumped. Dropping it stops
/// the walk at the next process (nothing turned out to need owners, or the dump failed).
pub struct Beside {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<FdTable>>>,
    /// Where to walk when no thread could be started (a low `ulimit -u`): then the walk runs
    /// in [`Beside::finish`], after the dump, as it would without overlap.
    root: PathBuf,
}

impl Beside {
    /// Starts walking `root/*/fd`, recording every socket fd.
    pub fn start(root: &Path) -> Beside {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let owned = root.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("fd walk".into())
            .spawn(move || walk_until(&owned, &|_| true, &flag))
            .ok();
        Beside {
            stop,
            thread,
            root: root.to_path_buf(),
        }
    }

    /// Waits for the walk to finish.
    pub fn finish(mut self) -> io::Result<FdTable> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(table)) => table,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => walk(&self.root, &|_| true),
        }
    }
}

impl Drop for Beside {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn walk_until(root: &Path, keep: &dyn Fn(u64) -> bool, stop: &AtomicBool) -> io::Result<FdTable> {
    let mut table = FdTable {
        root: root.to_path_buf(),
        ..FdTable::default()
    };
    table.stats.hidepid = hidepid(root);
    table.stats.as_root = rustix::process::geteuid().is_root();
    let root_fd = openat(
        rustix::fs::CWD,
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut pids: Vec<u32> = Vec::new();
    let mut dir = Dir::read_from(&root_fd)?;
    while let Some(entry) = dir.read() {
        let entry = entry?;
        if let Some(pid) = entry.file_name().to_str().ok().and_then(|n| n.parse().ok()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    let mut path = String::new();
    let mut link = [std::mem::MaybeUninit::<u8>::uninit(); 64];
    for pid in pids {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        table.stats.processes_scanned += 1;
        path.clear();
        path.push_str(&pid.to_string());
        path.push_str("/fd");
        let opened = if super::injected("emfile") {
            Err(Errno::MFILE)
        } else {
            openat(
                &root_fd,
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
            match readlinkat_raw(dir.fd()?, name, &mut link) {
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
    Ok(table)
}

fn denied(e: Errno) -> bool {
    e == Errno::ACCESS || e == Errno::PERM
}

impl FdTable {
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
        // Per walked process: one wanted socket it holds, read again to catch pid reuse.
        let mut sample: Vec<Option<(u64, u32)>> = vec![None; self.processes.len()];
        for h in &held {
            sample[h.process as usize].get_or_insert((h.inode, h.fd));
        }
        // Per walked process: its index among the described ones (both in pid order).
        let mut described: Vec<Option<u32>> = vec![None; self.processes.len()];
        let mut processes = Vec::new();
        for (at, (walked, sample)) in self.processes.iter().zip(&sample).enumerate() {
            let Some(sample) = *sample else {
                continue;
            };
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
    fn a_missing_fd_directory_is_a_vanished_process() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("78")).unwrap();
        let table = walk(dir.path(), &|_| true).unwrap();
        assert_eq!(table.stats.processes_vanished, 1);
        assert!(table.owners(0..u64::MAX).processes().is_empty());
    }
}
