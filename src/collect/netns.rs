//! Network namespaces: finding every one on the host (`/proc/*/ns/net` deduplicated by device
//! and inode, plus the bind mounts in `/run/netns` and `/run/docker/netns`), and opening a
//! sock_diag socket inside one. It never names them (that is `names`) and never reads sockets.
//!
//! A netlink socket keeps the namespace it was created in, so a short-lived thread `setns()`s
//! into the namespace, opens the socket and hands it back: the calling thread never leaves its
//! own namespace, whatever fails.
//!
//! A file is a network namespace only when its descriptor says so (nsfs, `NS_GET_NSTYPE`), never
//! because of its name or place: an unmounted `ip netns` leftover, `/proc/PID/ns/mnt`, a device
//! or a FIFO is refused before `setns`, and opening never blocks. What is entered is also the
//! namespace that was listed: a process can move between listing and entering.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

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
            inode: open(path, Follow::Yes)?.inode,
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
            let Ok(opened) = open(&path, Follow::No) else {
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

/// A network namespace file, opened and checked.
#[derive(Debug)]
pub struct Opened {
    file: fs::File,
    /// Its inode: the namespace's id.
    pub inode: u64,
}

/// Whether the last component of a namespace path may be a symbolic link (`/proc/PID/ns/net`
/// is one, a bind mount never is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    Yes,
    No,
}

/// nsfs's `f_type` (`NSFS_MAGIC`, linux/magic.h).
const NSFS_MAGIC: u64 = 0x6e73_6673;

/// Opens `path` as a network namespace, or says what it is instead. The file is looked at
/// through an `O_PATH` descriptor first (which neither blocks on a FIFO nor lets a device see
/// an open), and opened for reading only once it is an nsfs file; that descriptor must then be
/// the same file and a network namespace.
pub fn open(path: &Path, follow: Follow) -> io::Result<Opened> {
    let nofollow = match follow {
        Follow::Yes => OFlags::empty(),
        Follow::No => OFlags::NOFOLLOW,
    };
    let probe = fs::File::from(rustix::fs::open(
        path,
        OFlags::PATH | OFlags::CLOEXEC | nofollow,
        Mode::empty(),
    )?);
    let seen = probe.metadata()?;
    if !seen.file_type().is_file() {
        return Err(not_netns(super::bounded::kind(&seen)));
    }
    if u64::try_from(rustix::fs::fstatfs(&probe)?.f_type).ok() != Some(NSFS_MAGIC) {
        return Err(not_netns(
            "a regular file (a namespace file is /proc/PID/ns/net or a bind mount of one; an `ip netns` name whose mount is gone is a plain file)",
        ));
    }
    let file = fs::File::from(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | nofollow,
        Mode::empty(),
    )?);
    let opened = file.metadata()?;
    if (opened.dev(), opened.ino()) != (seen.dev(), seen.ino()) {
        return Err(io::Error::other(
            "changed while it was opened (a process that moved to another namespace?)",
        ));
    }
    match nsfs::ns_type(&file) {
        Ok(nsfs::CLONE_NEWNET) => {}
        Ok(other) => return Err(not_netns(nsfs::type_name(other))),
        // Before Linux 4.11 nsfs cannot say; setns(CLONE_NEWNET) refuses the other kinds.
        Err(e) if e == rustix::io::Errno::NOTTY => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Opened {
        file,
        inode: opened.ino(),
    })
}

fn not_netns(what: &str) -> io::Error {
    io::Error::other(format!("is {what}, not a network namespace"))
}

/// The namespace a file referred to when namespaces were listed is no longer the one it refers
/// to (its process moved, its bind mount was replaced): nothing of it is read.
#[derive(Debug, Clone, Copy)]
pub struct Moved {
    pub listed: u64,
    pub found: u64,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "it was net:[{}] when namespaces were listed and is net:[{}] now (a process that moved?); not read",
            self.listed, self.found
        )
    }
}

impl std::error::Error for Moved {}

impl Moved {
    /// An error for namespace `listed` found to be `found`, or none when they agree.
    pub fn check(listed: u64, found: u64) -> io::Result<()> {
        if listed == found {
            Ok(())
        } else {
            Err(io::Error::other(Moved { listed, found }))
        }
    }

    /// What `e` says moved, if that is what it says.
    pub fn of(e: &io::Error) -> Option<Moved> {
        e.get_ref()?.downcast_ref::<Moved>().copied()
    }
}

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
    let ns = open(path, Follow::Yes)?;
    move_into_link_name_space(ns.file.as_fd(), Some(LinkNameSpaceType::Network))?;
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

/// nsfs's own question, `ioctl(NS_GET_NSTYPE)`: which kind of namespace a descriptor is.
mod nsfs {
    use std::os::fd::AsFd;

    use rustix::ioctl::{Ioctl, IoctlOutput, Opcode, opcode};

    pub const CLONE_NEWNET: i32 = 0x4000_0000;

    /// `NS_GET_NSTYPE`, `_IO(0xb7, 0x3)` in linux/nsfs.h: no argument, the type as the result.
    struct GetNsType;

    // SAFETY: NS_GET_NSTYPE takes no argument and writes no memory; its result is the return
    // value (a CLONE_NEW* flag), which `output_from_ptr` passes on as it is.
    unsafe impl Ioctl for GetNsType {
        type Output = i32;
        const IS_MUTATING: bool = false;

        fn opcode(&self) -> Opcode {
            opcode::none(0xb7, 0x3)
        }

        fn as_ptr(&mut self) -> *mut std::ffi::c_void {
            std::ptr::null_mut()
        }

        unsafe fn output_from_ptr(
            out: IoctlOutput,
            _: *mut std::ffi::c_void,
        ) -> rustix::io::Result<i32> {
            Ok(out)
        }
    }

    /// The CLONE_NEW* flag of the namespace `fd` refers to; ENOTTY for a file that is not one
    /// (or a kernel before 4.11).
    pub fn ns_type(fd: impl AsFd) -> rustix::io::Result<i32> {
        // SAFETY: the request matches GetNsType's contract above, on a descriptor we own.
        unsafe { rustix::ioctl::ioctl(fd, GetNsType) }
    }

    /// `a mount namespace`, for an error message.
    pub fn type_name(flag: i32) -> &'static str {
        match flag {
            0x0002_0000 => "a mount namespace",
            0x0200_0000 => "a cgroup namespace",
            0x0400_0000 => "a UTS namespace",
            0x0800_0000 => "an IPC namespace",
            0x1000_0000 => "a user namespace",
            0x2000_0000 => "a PID namespace",
            0x0000_0080 => "a time namespace",
            _ => "another kind of namespace",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_host_has_this_process_namespace() {
        let d = discover(Path::new("/proc"), Path::new("/")).unwrap();
        let own = open(Path::new("/proc/self/ns/net"), Follow::Yes)
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

    #[test]
    fn only_network_namespaces_open_and_nothing_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let plain = dir.path().join("plain");
        fs::write(&plain, "").unwrap();
        let refused = |path: &Path| open(path, Follow::Yes).unwrap_err().to_string();
        // Without O_PATH first, this open() would wait for a writer forever.
        assert_eq!(refused(&fifo), "is a FIFO, not a network namespace");
        assert_eq!(
            refused(Path::new("/dev/zero")),
            "is a character device, not a network namespace"
        );
        assert!(refused(&plain).starts_with("is a regular file (a namespace file is"));
        assert_eq!(
            refused(Path::new("/proc/self/ns/mnt")),
            "is a mount namespace, not a network namespace"
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/proc/self/ns/net", &link).unwrap();
        let own = fs::metadata("/proc/self/ns/net").unwrap().ino();
        assert_eq!(open(&link, Follow::Yes).unwrap().inode, own);
        assert!(open(&link, Follow::No).is_err());
    }

    #[test]
    fn a_namespace_that_moved_is_named_in_the_error() {
        assert!(Moved::check(7, 7).is_ok());
        let e = Moved::check(7, 8).unwrap_err();
        assert!(Moved::of(&e).is_some());
        assert_eq!(
            e.to_string(),
            "it was net:[7] when namespaces were listed and is net:[8] now (a process that moved?); not read"
        );
        assert!(Moved::of(&io::Error::other("x")).is_none());
    }
}
