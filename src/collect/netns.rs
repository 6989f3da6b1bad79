//! Network namespaces: finding every one on the host (`/proc/*/ns/net` deduplicated by device
//! and inode, plus the bind mounts in `/run/netns` and `/run/docker/netns`), and opening a
//! sock_diag socket inside one. It never names them (that is `names`) and never reads sockets.
//!
//! A netlink socket keeps the namespace it was created in, so a short-lived thread `setns()`s
//! into the namespace, opens the socket and hands it back: the calling thread never leaves its
//! own namespace, whatever fails.
//!
//! Every namespace file is opened through [`nsfs::open`], which refuses what is not a network
//! namespace before `setns`; the entering thread reports the namespace it entered, so a caller
//! can refuse one that is not the namespace it listed ([`nsfs::Moved`]).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::nsfs::{self, Follow};
use super::{bounded, process};

/// One network namespace, as discovery found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace's inode: `net:[inode]`.
    pub inode: u64,
    /// A file that refers to it (a process's `ns/net` link or a bind mount), to `setns` with.
    pub path: PathBuf,
    /// Its processes, ascending (empty for a namespace held only by a bind mount).
    pub pids: Vec<u32>,
    /// Its `/run/netns` names (iproute2), sorted.
    pub names: Vec<String>,
    /// Its `/run/docker/netns` entries (Docker sandbox keys), sorted.
    pub docker_keys: Vec<String>,
    /// The host's own (the namespace of pid 1, or of the kernel threads).
    pub host: bool,
}

impl Namespace {
    /// The namespace a file refers to (a bind mount anywhere, a process's `ns/net`); an error
    /// saying what the file is when it is not a network namespace.
    pub fn from_file(path: &Path) -> io::Result<Namespace> {
        Ok(Namespace {
            inode: nsfs::open(path, Follow::Yes)?.inode,
            path: path.to_path_buf(),
            pids: Vec::new(),
            names: Vec::new(),
            docker_keys: Vec::new(),
            host: false,
        })
    }

    /// `net:[4026531833]`, as `readlink /proc/PID/ns/net` prints it.
    pub fn id(&self) -> String {
        format!("net:[{}]", self.inode)
    }
}

/// Every namespace found, and the processes whose namespace could not be read.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The host's first, then by inode.
    pub namespaces: Vec<Namespace>,
    pub processes: u64,
    /// Processes whose `ns/net` was refused (another user's, or a sandboxed pid 1).
    pub processes_unreadable: u64,
    /// Processes that exited while we looked.
    pub processes_vanished: u64,
}

/// Finds every network namespace under `host_root` (`/` on the host itself): `proc` is
/// `host_root/proc` unless the caller says otherwise.
pub fn discover(proc_root: &Path, host_root: &Path) -> io::Result<Discovery> {
    let mut found = Discovery::default();
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut pids: Vec<u32> = fs::read_dir(proc_root)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        found.processes += 1;
        let path = proc_root.join(pid.to_string()).join("ns/net");
        // The link's text names the namespace (`net:[N]`): one syscall, as stat would be.
        let inode = match fs::read_link(&path) {
            Ok(target) => match parse_id(&target.to_string_lossy()) {
                Some(inode) => inode,
                None => {
                    found.processes_unreadable += 1;
                    continue;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                found.processes_vanished += 1;
                continue;
            }
            Err(_) => {
                found.processes_unreadable += 1;
                continue;
            }
        };
        let at = entry(&mut found.namespaces, &mut index, inode, path);
        found.namespaces[at].pids.push(pid);
    }
    // Only what opens as a network namespace: an unmounted leftover is a plain file on /run,
    // and a FIFO there would block an open() that waits for it.
    for (dir, docker) in [("run/netns", false), ("run/docker/netns", true)] {
        let Ok(entries) = fs::read_dir(host_root.join(dir)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            // A bind mount is no link: one here would be resolved outside a --host-root.
            let Ok(opened) = nsfs::open(&path, Follow::No) else {
                continue;
            };
            let name = e.file_name().to_string_lossy().into_owned();
            let at = entry(
                &mut found.namespaces,
                &mut index,
                opened.inode,
                path.clone(),
            );
            let ns = &mut found.namespaces[at];
            // A bind mount outlives any one process: enter through it.
            ns.path = path;
            if docker {
                ns.docker_keys.push(name);
            } else {
                ns.names.push(name);
            }
        }
    }
    let host = host_inode(proc_root);
    for ns in &mut found.namespaces {
        ns.host = Some(ns.inode) == host;
    }
    found.namespaces.sort_by_key(|ns| (!ns.host, ns.inode));
    Ok(found)
}

/// `net:[4026531833]` → 4026531833.
pub fn parse_id(text: &str) -> Option<u64> {
    text.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

fn entry(
    namespaces: &mut Vec<Namespace>,
    index: &mut HashMap<u64, usize>,
    inode: u64,
    path: PathBuf,
) -> usize {
    *index.entry(inode).or_insert_with(|| {
        namespaces.push(Namespace {
            inode,
            path,
            pids: Vec::new(),
            names: Vec::new(),
            docker_keys: Vec::new(),
            host: false,
        });
        namespaces.len() - 1
    })
}

/// The host's namespace: pid 1's, or where pid 1 is shielded (as in some sandboxes), the
/// kernel threads' (kthreadd, pid 2, always runs in the initial namespace).
fn host_inode(proc_root: &Path) -> Option<u64> {
    let inode = |pid: &str| {
        fs::read_link(proc_root.join(pid).join("ns/net"))
            .ok()
            .and_then(|t| parse_id(&t.to_string_lossy()))
    };
    inode("1").or_else(|| {
        let comm = fs::read_to_string(proc_root.join("2/comm")).ok()?;
        (comm.trim_end() == "kthreadd").then(|| inode("2"))?
    })
}

/// Of a namespace's processes (`pids`, ascending), the one that has been in it longest, for a
/// person to enter it through: the earliest started (`starttime` of `/proc/PID/stat`, the
/// lower pid among equals). Never this process; another sockscope only when nothing else is
/// there (a transient `sockscope serve` is gone by the time the command is pasted). The
/// [`STEADY_TRIES`] lowest pids are read: the oldest processes are among them but after a
/// pid wrap.
pub fn steady_member(proc_root: &Path, pids: &[u32]) -> Option<u32> {
    let me = std::process::id();
    let mut best: Option<(bool, u64, u32)> = None;
    for &pid in pids.iter().filter(|&&p| p != me).take(STEADY_TRIES) {
        let Ok(stat) = bounded::read_text(&proc_root.join(pid.to_string()).join("stat"), 4096)
        else {
            continue;
        };
        let Some((comm, started)) = process::parse_stat(&stat) else {
            continue;
        };
        let key = (comm == "sockscope", started, pid);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    // None readable (gone meanwhile, or a copy without `stat`): the lowest pid, as listed.
    best.map(|(_, _, pid)| pid)
        .or_else(|| pids.iter().copied().find(|&p| p != me))
}

/// How many of a namespace's processes [`steady_member`] reads at most.
pub const STEADY_TRIES: usize = 64;

/// A sock_diag socket opened inside a namespace, and which namespace that was.
#[derive(Debug)]
pub struct Entered {
    pub socket: OwnedFd,
    /// The inode of the namespace entered: the caller compares it with the one it listed.
    pub inode: u64,
}

/// In this thread: enters the namespace `path` refers to and opens a sock_diag socket there.
/// Only for a thread that ends afterwards: it stays in that namespace.
fn enter(path: &Path) -> io::Result<Entered> {
    let ns = nsfs::open(path, Follow::Yes)?;
    move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))?;
    Ok(Entered {
        socket: super::netlink::open()?,
        inode: ns.inode,
    })
}

/// Opens a NETLINK_SOCK_DIAG socket inside the namespace `path` refers to. The socket stays
/// bound to that namespace; the thread that entered it ends at once.
pub fn open_sock_diag(path: &Path) -> io::Result<Entered> {
    std::thread::scope(|s| {
        s.spawn(|| enter(path))
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    })
}

/// Opens a sock_diag socket inside each namespace, on one thread that enters them in turn (as
/// `benches/netns_sweep_count.c` does) and then ends: one thread per sweep instead of one per
/// namespace. Each result is the socket and the namespace it is in, or why that namespace
/// could not be entered.
pub fn open_many(paths: &[&Path]) -> Vec<io::Result<Entered>> {
    std::thread::scope(|s| {
        s.spawn(|| paths.iter().map(|p| enter(p)).collect::<Vec<_>>())
            .join()
            .unwrap_or_else(|_| {
                paths
                    .iter()
                    .map(|_| Err(io::Error::other("the namespace thread panicked")))
                    .collect()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_host_has_this_process_namespace() {
        let d = discover(Path::new("/proc"), Path::new("/")).unwrap();
        let own = nsfs::open(Path::new("/proc/self/ns/net"), Follow::Yes)
            .unwrap()
            .inode;
        let me = std::process::id();
        let ns = d
            .namespaces
            .iter()
            .find(|ns| ns.inode == own)
            .expect("our own namespace is found");
        assert!(ns.pids.contains(&me));
        assert_eq!(ns.id(), format!("net:[{own}]"));
        // Deduplicated: every inode once.
        let mut inodes: Vec<u64> = d.namespaces.iter().map(|n| n.inode).collect();
        inodes.dedup();
        assert_eq!(inodes.len(), d.namespaces.len());
    }

    #[test]
    fn the_steadiest_member_is_the_oldest_other_than_us_and_sockscope_last() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        for (pid, comm, started) in [
            (10, "sockscope", 50),
            (20, "sleep", 100),
            (30, "java", 90),
            (me, "cli", 1),
        ] {
            let d = dir.path().join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            // The shape of a real /proc/PID/stat line, cut after starttime (field 22).
            let stat = format!(
                "{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 {started} 3133440\n"
            );
            std::fs::write(d.join("stat"), stat).unwrap();
        }
        let steady = |pids: &[u32]| steady_member(dir.path(), pids);
        assert_eq!(steady(&[10, 20, 30, me]), Some(30));
        assert_eq!(steady(&[10, 20]), Some(20));
        assert_eq!(
            steady(&[10, me]),
            Some(10),
            "another sockscope when nothing else"
        );
        assert_eq!(steady(&[me]), None, "never this process");
        assert_eq!(
            steady(&[40, 20]),
            Some(20),
            "a process gone meanwhile is passed over"
        );
    }

    #[test]
    fn our_own_namespace_can_be_entered_by_anyone() {
        // setns into the namespace one is already in needs CAP_SYS_ADMIN all the same.
        match open_sock_diag(Path::new("/proc/self/ns/net")) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                println!("skipped: setns is refused to this user ({e})");
            }
            Err(e) => println!("skipped: netlink unavailable here ({e})"),
        }
        assert!(open_sock_diag(Path::new("/nonexistent/ns")).is_err());
    }
}
