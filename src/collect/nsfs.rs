//! What a namespace file is, asked of its descriptor and never of its name or place: nsfs's
//! magic and `ioctl(NS_GET_NSTYPE)`. An unmounted `ip netns` leftover, `/proc/PID/ns/mnt`, a
//! device or a FIFO is refused, and opening never blocks. Also the error for a namespace file
//! that no longer refers to the namespace that was listed. It never enters a namespace.

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

/// A network namespace file, opened and checked.
#[derive(Debug)]
pub struct Opened {
    file: fs::File,
    /// Its inode: the namespace's id.
    pub inode: u64,
}

impl AsFd for Opened {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
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
        return Err(io::Error::other(Moved {
            listed: seen.ino(),
            found: opened.ino(),
        }));
    }
    match ioctl::ns_type(&file) {
        Ok(ioctl::CLONE_NEWNET) => {}
        Ok(other) => return Err(not_netns(ioctl::type_name(other))),
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

/// A namespace file referred to one namespace and then to another (its process moved, its bind
/// mount was replaced): between the listing and the entering, or between two opens of it.
/// Nothing of it is read, not even through the process's `/proc/PID/net`, which moves with it.
#[derive(Debug, Clone, Copy)]
pub struct Moved {
    pub listed: u64,
    pub found: u64,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "it referred to net:[{}], then to net:[{}] (a process that moved between namespaces?); not read",
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

/// nsfs's own question, `ioctl(NS_GET_NSTYPE)`: which kind of namespace a descriptor is.
mod ioctl {
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
            "it referred to net:[7], then to net:[8] (a process that moved between namespaces?); not read"
        );
        assert!(Moved::of(&io::Error::other("x")).is_none());
    }
}
