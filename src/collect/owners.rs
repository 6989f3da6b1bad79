//! Socket owners: which processes hold which socket inodes, found by walking `/proc/*/fd`
//! under the same root as the socket tables. Built once per run, only for the inodes asked for.
//!
//! The walk itself is `fdwalk` (each fd link read once, as `ss -p` does, instead of through
//! procfs's `fd()`, which costs four syscalls per fd and silently drops links it cannot read);
//! procfs supplies the per-process facts (stat, uid, limits) for the few processes that match.
//!
//! Processes are not pruned by uid: a socket's uid is whoever created it, and a listener made by
//! root and handed to a service (systemd socket activation, a master that forks and drops
//! privileges) is held by processes of another uid.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use super::fdwalk::walk;
use crate::report::{Owners, Process};

/// Walks `root/*/fd` and records who holds each of the `wanted` inodes. Nothing is read when
/// `wanted` is empty.
pub fn find_owners(root: &Path, wanted: &HashSet<u64>) -> io::Result<Owners> {
    if wanted.is_empty() {
        return Ok(Owners::default());
    }
    let table = walk(root, &|inode| wanted.contains(&inode))?;
    Ok(table.owners(&|_| true))
}

/// `socket:[12345]` → 12345.
pub(super) fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The facts about a matching process. `None` if it exited, or its pid was reused, while we
/// looked: one of its socket fds is read again at the end to make sure it is the same process.
pub(super) fn describe(
    dir: &Path,
    pid: u32,
    fd_count: u64,
    found: &[(u64, u32)],
) -> Option<Process> {
    let process = procfs::process::Process::new_with_root(dir.to_path_buf()).ok()?;
    let stat = process.stat().ok()?;
    let uid = process.uid().ok()?;
    let nofile_soft = process
        .limits()
        .ok()
        .and_then(|l| match l.max_open_files.soft_limit {
            procfs::process::LimitValue::Value(v) => Some(v),
            procfs::process::LimitValue::Unlimited => None,
        });
    let &(inode, fd) = found.first()?;
    let again = fs::read_link(dir.join("fd").join(fd.to_string())).ok()?;
    if socket_inode(again.as_os_str().as_encoded_bytes()) != Some(inode) {
        return None;
    }
    Some(Process {
        pid,
        comm: stat.comm,
        uid,
        starttime: stat.starttime,
        fd_count,
        nofile_soft,
    })
}

/// The `hidepid=` option of the proc mount at `root`, read from `root/self/mountinfo`.
pub(super) fn hidepid(root: &Path) -> Option<String> {
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
