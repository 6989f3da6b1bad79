//! The host's files under its root (`--host-root`, `/` by default), opened so that only root
//! (or the user sockscope runs as) decides what is read: the runtimes' state files, which name
//! containers and pods. It never writes.
//!
//! A path is walked one component at a time from a descriptor of the root, as systemd's
//! `chase()` does with `CHASE_SAFE`:
//! - every directory passed, every link followed and the file itself must belong to a trusted
//!   user, and neither the file nor a directory may be writable by another (a sticky
//!   directory, as /tmp, is fine: others can add entries there but not replace root's, and
//!   what they add fails the owner check);
//! - a link is resolved against the host root, never against sockscope's own `/`, and `..`
//!   never climbs above it: what `openat2(RESOLVE_IN_ROOT)` does, which cannot say who owns
//!   what it passed, so it is done here on every kernel;
//! - nothing blocks: each component is opened `O_PATH|O_NOFOLLOW`, the file for reading
//!   `O_NONBLOCK|O_NOFOLLOW` from its checked directory, and its type, owner and size are
//!   checked on that descriptor.
//!
//! Hard links need no check of their own: with `fs.protected_hardlinks` (every distribution's
//! default) nobody can link a file they do not own, and a file they own fails the owner check.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::bounded;

/// Links followed in one path at most, as the kernel's own limit (MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Who may own what sockscope trusts: root, and the user it runs as (files an ordinary user
/// owns are theirs to plant already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trust {
    uid: u32,
    gid: u32,
}

impl Trust {
    /// Root and this process's effective user.
    pub fn current() -> Trust {
        Trust {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
        }
    }

    /// Whether files and processes of user `uid` are trusted.
    pub fn user(self, uid: u32) -> bool {
        uid == 0 || uid == self.uid
    }

    fn group(self, gid: u32) -> bool {
        gid == 0 || gid == self.gid
    }

    /// Why `meta`, at `path`, is not trusted, if it is not: another user's, or a directory
    /// another user can write.
    fn check(self, path: &Path, meta: &Metadata) -> io::Result<()> {
        if !self.user(meta.uid()) {
            return Err(untrusted(path, format!("is owned by uid {}", meta.uid())));
        }
        // A link's own mode means nothing; a sticky directory lets others add entries, which
        // then fail this check, but not replace root's.
        let mode = meta.permissions().mode();
        let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
        if !meta.is_symlink() && !sticky_dir {
            if mode & 0o002 != 0 {
                return Err(untrusted(path, "is writable by every user".into()));
            }
            if mode & 0o020 != 0 && !self.group(meta.gid()) {
                return Err(untrusted(
                    path,
                    format!("is writable by group {}", meta.gid()),
                ));
            }
        }
        Ok(())
    }
}

fn untrusted(path: &Path, what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("'{}' {what}: not trusted", path.display()),
    )
}

/// The host's file tree, as a descriptor of its root.
#[derive(Debug)]
pub struct HostFs {
    root: Result<OwnedFd, io::ErrorKind>,
    trust: Trust,
}

/// A path resolved inside the root: the directory holding its last component (checked), that
/// component's name, and what it is.
struct Resolved {
    parent: OwnedFd,
    name: OsString,
    meta: Metadata,
    /// The path as resolved, for messages.
    shown: PathBuf,
}

impl HostFs {
    /// The tree under `root` (the operator's choice: the root itself is not checked).
    pub fn new(root: &Path, trust: Trust) -> HostFs {
        let root = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io::Error::from(e).kind());
        HostFs { root, trust }
    }

    pub fn trust(&self) -> Trust {
        self.trust
    }

    /// Opens the regular file at `path` (a path of the host: `/etc/docker/daemon.json`) for
    /// reading, refusing one larger than `limit` bytes.
    pub fn open(&self, path: &Path, limit: u64) -> io::Result<File> {
        let found = self.resolve(path)?;
        if !found.meta.is_file() {
            return Err(bounded::not_regular(&found.meta));
        }
        let file = File::from(rustix::fs::openat(
            &found.parent,
            found.name.as_os_str(),
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?);
        let meta = file.metadata()?;
        if (meta.dev(), meta.ino()) != (found.meta.dev(), found.meta.ino()) {
            return Err(io::Error::other(format!(
                "'{}' changed while it was opened",
                found.shown.display()
            )));
        }
        if !meta.is_file() {
            return Err(bounded::not_regular(&meta));
        }
        self.trust.check(&found.shown, &meta)?;
        if meta.len() > limit {
            return Err(io::Error::other(format!(
                "'{}' is larger than {limit} bytes; refusing to read it",
                found.shown.display()
            )));
        }
        Ok(file)
    }

    /// All of the regular file at `path`, at most `limit` bytes.
    pub fn read(&self, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
        bounded::read_capped(self.open(path, limit)?, limit)
    }

    /// Whether `path` is a directory reached, and owned, as a trusted file is.
    pub fn directory(&self, path: &Path) -> io::Result<()> {
        if self.resolve(path)?.meta.is_dir() {
            Ok(())
        } else {
            Err(io::Error::from(rustix::io::Errno::NOTDIR))
        }
    }

    /// The names of the directories in the directory at `path` that trusted users own (what
    /// another user made there is left out).
    pub fn subdirs(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let found = self.resolve(path)?;
        if !found.meta.is_dir() {
            return Err(io::Error::from(rustix::io::Errno::NOTDIR));
        }
        let dir = rustix::fs::openat(
            &found.parent,
            found.name.as_os_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&dir)? {
            let entry = entry?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let Ok(meta) = stat_at(&dir, name) else {
                continue;
            };
            if meta.is_dir() && self.trust.check(&found.shown.join(name), &meta).is_ok() {
                names.push(name.to_os_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Walks `path` from the root, following links inside it; each step checked.
    fn resolve(&self, path: &Path) -> io::Result<Resolved> {
        let root = self.root.as_ref().map_err(|&kind| io::Error::from(kind))?;
        // The directories from the root down to where the walk is; `..` pops one.
        let mut dirs: Vec<OwnedFd> = Vec::new();
        let mut shown = PathBuf::from("/");
        let mut todo: VecDeque<OsString> = parts(path).collect();
        let mut links = 0;
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                dirs.pop();
                shown.pop();
                continue;
            }
            let at = dirs.last().map_or(root.as_fd(), |d| d.as_fd());
            let fd = rustix::fs::openat(
                at,
                name.as_os_str(),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let file = File::from(fd);
            let meta = file.metadata()?;
            shown.push(&name);
            self.trust.check(&shown, &meta)?;
            if meta.is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from(rustix::io::Errno::LOOP));
                }
                let target = rustix::fs::readlinkat(&file, "", Vec::new())?;
                let target = PathBuf::from(OsStr::from_bytes(target.to_bytes()));
                shown.pop();
                if target.is_absolute() {
                    dirs.clear();
                    shown = PathBuf::from("/");
                }
                for part in parts(&target).collect::<Vec<_>>().into_iter().rev() {
                    todo.push_front(part);
                }
                continue;
            }
            if todo.is_empty() {
                let parent = match dirs.last() {
                    Some(d) => d.try_clone()?,
                    None => root.try_clone()?,
                };
                return Ok(Resolved {
                    parent,
                    name,
                    meta,
                    shown,
                });
            }
            if !meta.is_dir() {
                return Err(io::Error::from(rustix::io::Errno::NOTDIR));
            }
            dirs.push(OwnedFd::from(file));
        }
        // The path was the root, or ended in `..`: the directory the walk is in, as `.`.
        let at = match dirs.pop() {
            Some(d) => d,
            None => root.try_clone()?,
        };
        Ok(Resolved {
            meta: File::from(at.try_clone()?).metadata()?,
            parent: at,
            name: OsString::from("."),
            shown,
        })
    }
}

/// The components of `path` that name something (`/`, `.` and empty ones dropped), `..` kept.
fn parts(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

/// What `name` in `dir` is, the link itself for a link.
fn stat_at(dir: &OwnedFd, name: &OsStr) -> io::Result<Metadata> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    File::from(fd).metadata()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, HostFs) {
        let dir = tempfile::tempdir().unwrap();
        let fs = HostFs::new(dir.path(), Trust::current());
        (dir, fs)
    }

    fn text(fs: &HostFs, path: &str) -> io::Result<String> {
        fs.read(Path::new(path), 1 << 20)
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn links_resolve_inside_the_root_and_dotdot_stops_there() {
        let (dir, hostfs) = tree();
        let root = dir.path();
        fs::create_dir_all(root.join("mnt/docker")).unwrap();
        fs::write(root.join("mnt/docker/file"), "inside").unwrap();
        fs::create_dir_all(root.join("var/lib")).unwrap();
        symlink("/mnt/docker", root.join("var/lib/docker")).unwrap();
        symlink("../../../../../../mnt/docker/file", root.join("var/up")).unwrap();
        symlink("docker/file", root.join("var/lib/rel")).unwrap();
        assert_eq!(text(&hostfs, "/var/lib/docker/file").unwrap(), "inside");
        assert_eq!(text(&hostfs, "var/up").unwrap(), "inside");
        assert_eq!(text(&hostfs, "/var/lib/rel").unwrap(), "inside");
        assert_eq!(
            text(&hostfs, "/var/lib/../../mnt/./docker//file").unwrap(),
            "inside"
        );
        // /etc/hostname exists on this machine, not under the root.
        symlink("/etc/hostname", root.join("out")).unwrap();
        let e = text(&hostfs, "/out").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        symlink("loop", root.join("loop")).unwrap();
        let e = text(&hostfs, "/loop").unwrap_err();
        assert_eq!(
            e.raw_os_error(),
            Some(rustix::io::Errno::LOOP.raw_os_error())
        );
    }

    #[test]
    fn special_files_and_large_files_are_refused_without_blocking() {
        let (dir, hostfs) = tree();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert_eq!(
            text(&hostfs, "/fifo").unwrap_err().to_string(),
            "is a FIFO, not a regular file"
        );
        fs::write(dir.path().join("big"), vec![b'x'; 2048]).unwrap();
        let e = hostfs.read(Path::new("/big"), 1024).unwrap_err();
        assert_eq!(
            e.to_string(),
            "'/big' is larger than 1024 bytes; refusing to read it"
        );
        fs::create_dir(dir.path().join("d")).unwrap();
        assert!(text(&hostfs, "/d").is_err());
        assert!(text(&hostfs, "/").is_err());
        assert!(text(&hostfs, "/big/x").is_err());
    }

    #[test]
    fn directories_others_can_write_are_not_trusted_unless_sticky() {
        let (dir, hostfs) = tree();
        fs::write(dir.path().join("shared"), "x").unwrap();
        fs::set_permissions(dir.path().join("shared"), fs::Permissions::from_mode(0o666)).unwrap();
        let e = text(&hostfs, "/shared").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'/shared' is writable by every user: not trusted"
        );
        for (sub, mode) in [("open", 0o777), ("sticky", 0o1777), ("shut", 0o755)] {
            let d = dir.path().join(sub);
            fs::create_dir(&d).unwrap();
            fs::write(d.join("file"), sub).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
        }
        let e = text(&hostfs, "/open/file").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'/open' is writable by every user: not trusted"
        );
        assert_eq!(text(&hostfs, "/sticky/file").unwrap(), "sticky");
        assert_eq!(text(&hostfs, "/shut/file").unwrap(), "shut");
        // What anyone could have made there is not listed either.
        assert_eq!(hostfs.subdirs(Path::new("/")).unwrap(), ["shut", "sticky"]);
    }

    #[test]
    fn another_users_files_are_not_trusted() {
        let me = rustix::process::geteuid().as_raw();
        let trust = Trust::current();
        assert!(trust.user(0) && trust.user(me));
        let (dir, hostfs) = tree();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let (checked, owner) = if me == 0 {
            std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
            (trust, 65534)
        } else {
            // As an ordinary user, the same file seen by a run as another user.
            let stranger = Trust {
                uid: me.wrapping_add(1),
                gid: u32::MAX,
            };
            (stranger, me)
        };
        let meta = fs::metadata(&file).unwrap();
        assert_eq!(
            checked
                .check(Path::new("/file"), &meta)
                .unwrap_err()
                .to_string(),
            format!("'/file' is owned by uid {owner}: not trusted")
        );
        if me == 0 {
            assert!(text(&hostfs, "/file").is_err());
        }
    }
}
