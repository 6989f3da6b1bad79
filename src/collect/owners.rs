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

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

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

    pub fn is_attributed(&self, inode: u64) -> bool {
        self.by_inode.contains_key(&inode)
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

    /// Why some owners are missing, in words an operator can act on.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let w = &self.walk;
        if self.unknown > 0 {
            if w.as_root && w.processes_unreadable > 0 {
                notes.push(format!(
                    "Owners unknown for {}: {} refused even to root (a sandbox or security policy shields {}).",
                    sockets(self.unknown),
                    processes(w.processes_unreadable),
                    if w.processes_unreadable == 1 { "it" } else { "them" }
                ));
            } else if w.processes_unreadable > 0 || w.hidepid.is_some() {
                let mut why = Vec::new();
                if w.processes_unreadable > 0 {
                    why.push(format!(
                        "{} of other users could not be read",
                        processes(w.processes_unreadable)
                    ));
                }
                if let Some(h) = &w.hidepid {
                    why.push(format!("/proc is mounted with hidepid={h}"));
                }
                notes.push(format!(
                    "Owners unknown for {} ({}): run as root or grant CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH.",
                    sockets(self.unknown),
                    why.join("; ")
                ));
            } else {
                notes.push(format!(
                    "Owners unknown for {}: closed during the scan, or held by processes outside this PID namespace.",
                    sockets(self.unknown)
                ));
            }
        }
        if self.no_process > 0 {
            notes.push(format!(
                "{} no process by design: orphaned after close() (FIN_WAIT1, LAST_ACK, CLOSING, TIME_WAIT, orphaned FIN_WAIT2) or waiting in an accept queue.",
                if self.no_process == 1 { "1 socket has".to_string() } else { format!("{} sockets have", self.no_process) }
            ));
        }
        if self.shared > 0 {
            notes.push(format!(
                "{} held by several processes (fork, fd passing); each holder is counted.",
                if self.shared == 1 {
                    "1 socket is".to_string()
                } else {
                    format!("{} sockets are", self.shared)
                }
            ));
        }
        if w.processes_vanished > 0 {
            notes.push(format!(
                "{} exited during the owner lookup.",
                if w.processes_vanished == 1 {
                    "1 process".to_string()
                } else {
                    format!("{} processes", w.processes_vanished)
                }
            ));
        }
        notes
    }
}

fn processes(n: u64) -> String {
    if n == 1 {
        "1 process".into()
    } else {
        format!("{n} processes")
    }
}

fn sockets(n: u64) -> String {
    if n == 1 {
        "1 socket".into()
    } else {
        format!("{n} sockets")
    }
}

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
            Err(_) => {
                owners.stats.processes_vanished += 1;
                continue;
            }
        };
        if found.is_empty() {
            continue;
        }
        match describe(&dir, pid, fd_count, &found) {
            Some(process) => {
                let index = owners.processes.len();
                owners.processes.push(process);
                for &(inode, _) in &found {
                    let holders = owners.by_inode.entry(inode).or_default();
                    // One entry per process, however many fds it holds the socket under.
                    if holders.last() != Some(&index) {
                        holders.push(index);
                    }
                }
            }
            None => owners.stats.processes_vanished += 1,
        }
    }
    Ok(owners)
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

/// The facts about a matching process. `None` if it exited, or its pid was reused, while we
/// looked: one of its socket fds is read again at the end to make sure it is the same process.
fn describe(dir: &Path, pid: u32, fd_count: u64, found: &[(u64, u32)]) -> Option<Process> {
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
    fn unreadable_owners_get_advice_that_fits_who_is_asking() {
        let mut a = Attribution {
            sockets: 2,
            unknown: 2,
            ..Attribution::default()
        };
        a.walk.processes_unreadable = 1;
        let user = a.notes().join(" ");
        assert!(
            user.contains("1 process of other users could not be read"),
            "{user}"
        );
        assert!(
            user.contains("run as root or grant CAP_SYS_PTRACE"),
            "{user}"
        );
        a.walk.as_root = true;
        let root = a.notes().join(" ");
        assert!(root.contains("refused even to root"), "{root}");
        assert!(!root.contains("run as root"), "{root}");
    }

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
