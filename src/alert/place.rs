//! Where a file of `check`'s lives (the state file, its lock, the textfile): its directory,
//! opened once, and the file's name there. Everything `alert::file` does with the file is
//! relative to that descriptor. It never reads or writes a file itself.
//!
//! The path to the directory is walked one component at a time, as `collect::hostfs` walks host
//! paths. A link on the way is followed only when no other user could have made or swapped it:
//! owned by root or the running user, in a directory only they can change (a sticky one, as
//! /tmp, counts: others cannot rename or remove what is not theirs). The operator's own links
//! (`/var/run -> /run`) keep working; a link another user can swap in, at any depth, is refused,
//! so root never writes where that user points it. Not `O_NOFOLLOW` on the last directory
//! alone: a user who can write `/shared` can swap `/shared/a` for a link when the path is
//! `/shared/a/metrics/f.prom`. Nor `RESOLVE_NO_SYMLINKS`: that refuses root's own links too.
//! Real directories are taken whoever owns them: once one is held by descriptor, nothing anyone
//! does moves where the files go, and the files themselves are checked where they are used.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::OFlags;
use rustix::io::Errno;

/// Links followed in one path at most, as the kernel's own limit (MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Where a file of ours lives: its directory, held open after a walk that follows only links
/// no other user could have made or swapped, and its name there.
#[derive(Debug)]
pub struct Place {
    dir: OwnedFd,
    name: OsString,
    /// The path as given, for messages.
    path: PathBuf,
}

impl Place {
    /// Opens the directory `path` is in. Fails when `path` names no file (`/`, `..`), when a
    /// directory on the way is missing, or when a link on the way could be another user's.
    pub fn of(path: &Path) -> io::Result<Place> {
        let name = match path.components().next_back() {
            Some(Component::Normal(name)) => name.to_os_string(),
            _ => return Err(io::Error::other("names no file")),
        };
        let parent = path.parent().unwrap_or(Path::new(""));
        Ok(Place {
            dir: walk(parent)?,
            name,
            path: path.to_path_buf(),
        })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `NAME` + `suffix` in the directory.
    pub(super) fn sibling(&self, suffix: &str) -> (OsString, PathBuf) {
        let mut name = self.name.clone();
        name.push(suffix);
        let mut path = self.path.clone().into_os_string();
        path.push(suffix);
        (name, PathBuf::from(path))
    }

    /// The directory, held open.
    pub(super) fn dir(&self) -> &OwnedFd {
        &self.dir
    }

    /// The file's name in the directory.
    pub(super) fn name(&self) -> &OsStr {
        &self.name
    }
}

/// Opens `path`'s directory, a component at a time from `/` (or the working directory),
/// following only links no other user could have made or swapped.
fn walk(path: &Path) -> io::Result<OwnedFd> {
    let open_dir = |at: &Path| {
        rustix::fs::open(
            at,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
    };
    let root = || open_dir(Path::new("/"));
    let mut dir = if path.is_absolute() {
        root()?
    } else {
        open_dir(Path::new("."))?
    };
    let mut shown = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    };
    let mut todo: VecDeque<OsString> = parts(path).collect();
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        shown.push(&name);
        let fd = rustix::fs::openat(
            &dir,
            name.as_os_str(),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| match e {
            // The usual first run from cron: say which directory, and how to make it.
            Errno::NOENT if shown.as_path() == path => {
                io::Error::other(format!("directory '{}' does not exist", shown.display()))
            }
            Errno::NOENT => io::Error::other(format!(
                "directory '{}' does not exist (mkdir -p '{}' creates it)",
                shown.display(),
                path.display()
            )),
            e => e.into(),
        })?;
        let file = File::from(fd);
        let meta = file.metadata()?;
        if meta.is_symlink() {
            check_link(&dir, &meta, &shown)?;
            links += 1;
            if links > MAX_LINKS {
                return Err(Errno::LOOP.into());
            }
            let target = rustix::fs::readlinkat(&file, "", Vec::new())?;
            let target = PathBuf::from(OsStr::from_bytes(target.to_bytes()));
            shown.pop();
            if target.is_absolute() {
                dir = root()?;
                shown = PathBuf::from("/");
            }
            for part in parts(&target).collect::<Vec<_>>().into_iter().rev() {
                todo.push_front(part);
            }
            continue;
        }
        if !meta.is_dir() {
            return Err(io::Error::other(format!(
                "'{}' is not a directory",
                shown.display()
            )));
        }
        dir = OwnedFd::from(file);
    }
    Ok(dir)
}

/// The components of `path` to walk (`/`, `.` and empty ones dropped), `..` kept: opened as a
/// name, it is the parent of the directory the walk is in, as the kernel takes it.
fn parts(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

/// Whether the link `meta`, in the directory `dir`, is one only root or the running user could
/// have made or swapped; if not, why it is refused.
fn check_link(dir: &OwnedFd, meta: &Metadata, shown: &Path) -> io::Result<()> {
    let me = rustix::process::geteuid().as_raw();
    let trusted = |uid: u32| uid == 0 || uid == me;
    let refuse = |why: String| {
        io::Error::other(format!(
            "'{}' is a symbolic link {why}; refusing to follow it",
            shown.display()
        ))
    };
    let parent = File::from(dir.try_clone()?).metadata()?;
    let mode = parent.permissions().mode();
    let group = rustix::process::getegid().as_raw();
    if !trusted(parent.uid()) {
        return Err(refuse(format!("in a directory of uid {}", parent.uid())));
    }
    // Sticky: others may add entries, not rename or remove ours.
    let others_write =
        mode & 0o002 != 0 || (mode & 0o020 != 0 && parent.gid() != 0 && parent.gid() != group);
    if others_write && mode & 0o1000 == 0 {
        return Err(refuse("in a directory other users can write".into()));
    }
    if !trusted(meta.uid()) {
        return Err(refuse(format!("of uid {}", meta.uid())));
    }
    Ok(())
}
