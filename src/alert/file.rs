//! The one place `alert` touches files: bounded reads of its config and state, the state
//! file's lock, and atomic replacement of the files it writes. `check` often runs as root from
//! cron in directories other users can write, so nothing here follows a symlink, blocks on a
//! FIFO, replaces a device node or trusts a file another user planted.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::OFlags;

use crate::collect::bounded::{self, kind};
use crate::error::Error;

/// Largest configuration file read.
pub const CONFIG_LIMIT: u64 = 1 << 20;
/// Largest state file read.
pub const STATE_LIMIT: u64 = 8 << 20;
/// How long to wait for another run's lock before giving up (UNKNOWN).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// Temp files of ours older than this are a killed run's leftovers.
const STALE_AFTER: Duration = Duration::from_secs(60);
const TEMP_MARK: &str = ".sockscope-tmp.";

/// Who may read a file written with [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600: the state file.
    Private,
    /// 0644 less the umask: a metrics file node_exporter (another user) reads.
    Shared,
}

fn read_error(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, why: String) -> Error {
    read_error(path)(io::Error::other(why))
}

/// Opens `path` for reading without blocking on a FIFO; refuses anything but a regular file.
/// `follow`: whether a symlink in the last component is followed (a config may be a link; a
/// state file may not). `Ok(None)` when it does not exist.
fn open_regular(path: &Path, follow: bool) -> Result<Option<File>, Error> {
    match bounded::open_regular(path, follow) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(read_error(path)(e)),
    }
}

fn read_capped(file: File, path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    bounded::read_capped(file, limit).map_err(read_error(path))
}

/// A configuration file's text, at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, Error> {
    let file = open_regular(path, true)?
        .ok_or_else(|| read_error(path)(io::Error::from(io::ErrorKind::NotFound)))?;
    let bytes = read_capped(file, path, limit)?;
    String::from_utf8(bytes).map_err(|_| invalid(path, "is not UTF-8 text".into()))
}

/// A file of our own (the state file): not a symlink, a regular file owned by the running
/// user, at most `limit` bytes. `Ok(None)` when it does not exist yet.
pub fn read_own(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    let Some(file) = open_regular(path, false)? else {
        return Ok(None);
    };
    check_owner(&file, path)?;
    read_capped(file, path, limit).map(Some)
}

fn check_owner(file: &File, path: &Path) -> Result<(), Error> {
    let meta = file.metadata().map_err(read_error(path))?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(invalid(
            path,
            format!(
                "is owned by uid {}, not by the running user (uid {me}); refusing to trust it",
                meta.uid()
            ),
        ));
    }
    Ok(())
}

/// An exclusive lock held while it lives (`flock` on `PATH.lock`).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes the lock file beside `path`, waiting at most `timeout` for another run to finish.
pub fn lock(path: &Path, timeout: Duration) -> Result<Lock, Error> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let fail = |source: io::Error| Error::Write {
        path: lock_path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32)
        .open(&lock_path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                fail(io::Error::other(
                    "is a symbolic link; refusing to follow it",
                ))
            } else {
                fail(e)
            }
        })?;
    let meta = file.metadata().map_err(&fail)?;
    if !meta.file_type().is_file() {
        return Err(fail(io::Error::other(format!(
            "is not a regular file ({})",
            kind(&meta)
        ))));
    }
    check_owner(&file, &lock_path)?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(fail(io::Error::other(format!(
                    "another process has held the lock for {} s",
                    timeout.as_secs()
                ))));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
    }
}

/// Replaces `path` with `bytes` atomically: a new temp file beside it (never an existing one),
/// synced, then renamed over it, so a reader never sees half a file. Refuses to replace
/// anything but a regular file. Removes temp files a killed run of ours left behind.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Mode) -> Result<(), Error> {
    let fail = |source: io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(fail(io::Error::other(format!(
                "is {}, not a regular file; refusing to replace it",
                kind(&meta)
            ))));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail(io::Error::other("names no file")))?
        .to_string_lossy();
    let prefix = format!(".{name}{TEMP_MARK}");
    remove_stale(dir, &prefix);
    let permissions = std::fs::Permissions::from_mode(match mode {
        Mode::Private => 0o600,
        Mode::Shared => 0o644,
    });
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(permissions)
        .tempfile_in(dir)
        .map_err(&fail)?;
    tmp.as_file_mut().write_all(bytes).map_err(&fail)?;
    tmp.as_file().sync_all().map_err(&fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Our own temp files (same prefix, our uid) older than a minute: a run killed mid-write.
fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = rustix::process::geteuid().as_raw();
    let now = SystemTime::now();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if meta.file_type().is_file() && meta.uid() == me && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
