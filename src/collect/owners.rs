//! Socket owners: which processes hold which socket inodes, found by walking `/proc/*/fd`
//! under the same root as the socket tables. Built once per run, only for the inodes asked for.
//!
//! The walk reads each fd link once (as `ss -p` does) instead of through procfs's `fd()`,
//! which costs four syscalls per fd and silently drops links it cannot read; procfs supplies
//! the per-process facts (stat, uid, limits) for the few processes that match.
//!
//! Processes are not pruned by uid: a socket's uid is whoever created it, and a listener made by
//! root and handed to a service (systemd socket activation, a master that forks and drops
//! privileges) is held by processes of another uid.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::report::{Owners, Process, WalkStats};

/// Walks `root/*/fd` and records who holds each of the `wanted` inodes. Nothing is read when
/// `wanted` is empty.
pub fn find_owners(root: &Path, wanted: &HashSet<u64>) -> io::Result<Owners> {
    let mut owners = Owners::default();
    if wanted.is_empty() {
        return Ok(owners);
    }
    owners.stats.hidepid = hidepid(root);
    owners.stats.as_root = rustix::process::geteuid().is_root();
    let mut pids: Vec<u32> = fs::read_dir(root)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    let mut found: Vec<(u64, u32)> = Vec::new();
    for pid in pids {
        owners.stats.processes_scanned += 1;
        let dir = root.join(pid.to_string());
        found.clear();
        let fd_count = match scan_fds(&dir.join("fd"), wanted, &mut found, &mut owners.stats) {
            Ok((n, denied)) => {
                if denied {
                    owners.stats.processes_unreadable += 1;
                }
                n
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                owners.stats.processes_unreadable += 1;
                continue;
            }
            Err(e) if out_of_fds(&e) => {
                owners.stats.processes_out_of_fds += 1;
                continue;
            }
            Err(_) => {
                owners.stats.processes_vanished += 1;
                continue;
            }
        };
        if found.is_empty() {
            continue;
        }
        match describe(&dir, pid, fd_count, &found) {
            Ok(process) => {
                owners.insert(process, found.iter().map(|&(inode, _)| inode));
            }
            Err(Gone::OutOfFds) => owners.stats.processes_out_of_fds += 1,
            Err(Gone::Exited) => owners.stats.processes_vanished += 1,
        }
    }
    Ok(owners)
}

/// EMFILE or ENFILE: this process (or the system) has no file descriptor left.
fn out_of_fds(e: &io::Error) -> bool {
    let code = e.raw_os_error();
    code == Some(rustix::io::Errno::MFILE.raw_os_error())
        || code == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// Reads one fd directory; returns how many fds it lists, and whether reading some of its links
/// was refused, and pushes (inode, fd) for each wanted socket.
fn scan_fds(
    fd_dir: &Path,
    wanted: &HashSet<u64>,
    found: &mut Vec<(u64, u32)>,
    stats: &mut WalkStats,
) -> io::Result<(u64, bool)> {
    let mut count = 0;
    let mut denied = false;
    let mut link_path = PathBuf::from(fd_dir);
    for entry in fs::read_dir(fd_dir)? {
        let Ok(entry) = entry else {
            stats.fds_unreadable += 1;
            continue;
        };
        count += 1;
        link_path.push(entry.file_name());
        let target = fs::read_link(&link_path);
        link_path.pop();
        match target {
            Ok(target) => {
                if let Some(inode) = socket_inode(target.as_os_str().as_encoded_bytes())
                    && wanted.contains(&inode)
                    && let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse().ok())
                {
                    found.push((inode, fd));
                }
            }
            Err(e) => {
                stats.fds_unreadable += 1;
                denied |= e.kind() == io::ErrorKind::PermissionDenied;
            }
        }
    }
    Ok((count, denied))
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Why a matching process could not be described.
enum Gone {
    /// It exited, or its pid was reused, while we looked.
    Exited,
    /// This process had no file descriptor left to read it with.
    OutOfFds,
}

fn gone(e: procfs::ProcError) -> Gone {
    match e {
        procfs::ProcError::Io(e, _) if out_of_fds(&e) => Gone::OutOfFds,
        _ => Gone::Exited,
    }
}

/// The facts about a matching process; one of its socket fds is read again at the end to make
/// sure it is the same process.
fn describe(dir: &Path, pid: u32, fd_count: u64, found: &[(u64, u32)]) -> Result<Process, Gone> {
    let process = procfs::process::Process::new_with_root(dir.to_path_buf()).map_err(gone)?;
    let stat = process.stat().map_err(gone)?;
    let uid = process.uid().map_err(gone)?;
    let nofile_soft = process
        .limits()
        .ok()
        .and_then(|l| match l.max_open_files.soft_limit {
            procfs::process::LimitValue::Value(v) => Some(v),
            procfs::process::LimitValue::Unlimited => None,
        });
    let &(inode, fd) = found.first().ok_or(Gone::Exited)?;
    let again = fs::read_link(dir.join("fd").join(fd.to_string())).map_err(|_| Gone::Exited)?;
    if socket_inode(again.as_os_str().as_encoded_bytes()) != Some(inode) {
        return Err(Gone::Exited);
    }
    Ok(Process {
        pid,
        comm: stat.comm,
        uid,
        starttime: stat.starttime,
        fd_count,
        nofile_soft,
    })
}

/// The `hidepid=` option of the proc mount at `root`, read from `root/self/mountinfo`.
fn hidepid(root: &Path) -> Option<String> {
    let mountinfo = fs::read_to_string(root.join("self/mountinfo")).ok()?;
    let root = root.to_str()?;
    mountinfo.lines().find_map(|line| {
        let mut fields = line.split(' ');
        let mount_point = fields.nth(4)?;
        if mount_point != root {
            return None;
        }
        let (_, after) = line.split_once(" - ")?;
        let mut after = after.split(' ');
        if after.next()? != "proc" {
            return None;
        }
        after
            .nth(1)?
            .split(',')
            .find_map(|opt| opt.strip_prefix("hidepid="))
            .filter(|v| *v != "0" && *v != "off")
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn socket_links_are_recognised() {
        assert_eq!(socket_inode(b"socket:[4564]"), Some(4564));
        assert_eq!(socket_inode(b"pipe:[4564]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12x]"), None);
    }

    #[test]
    fn nothing_is_read_when_nothing_is_wanted() {
        let owners = find_owners(Path::new("/nonexistent"), &HashSet::new()).unwrap();
        assert_eq!(owners.stats.processes_scanned, 0);
    }

    #[test]
    fn a_missing_root_is_an_error_when_owners_are_wanted() {
        assert!(find_owners(Path::new("/nonexistent"), &HashSet::from([1])).is_err());
    }

    #[test]
    fn walks_fd_links_and_skips_what_cannot_match() {
        let dir = tempfile::tempdir().unwrap();
        let fd = dir.path().join("77/fd");
        fs::create_dir_all(&fd).unwrap();
        symlink("socket:[10]", fd.join("3")).unwrap();
        symlink("pipe:[11]", fd.join("4")).unwrap();
        symlink("socket:[12]", fd.join("5")).unwrap();
        let mut found = Vec::new();
        let mut stats = WalkStats::default();
        let (n, denied) = scan_fds(&fd, &HashSet::from([10, 11]), &mut found, &mut stats).unwrap();
        assert_eq!((n, denied), (3, false));
        assert_eq!(found, vec![(10, 3)]);
    }

    #[test]
    fn hidepid_is_read_from_mountinfo() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("self")).unwrap();
        let line = format!(
            "22 26 0:20 / {} rw,nosuid - proc proc rw,hidepid=invisible,gid=4\n",
            root.display()
        );
        fs::write(root.join("self/mountinfo"), line).unwrap();
        assert_eq!(hidepid(root).as_deref(), Some("invisible"));
    }
}
