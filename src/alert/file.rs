//! The one place `alert` touches files: bounded reads of its config and state, the state
//! file's lock, and atomic replacement of the files it writes. `check` often runs as root from
//! cron in directories other users can write, so nothing here follows a symlink, blocks on a
//! FIFO, replaces a device node or trusts a file another user planted.
//!
//! The files `check` keeps and writes (state, lock, textfile) are reached through their
//! directory, held open ([`Place`]): they are created, read, renamed and removed relative to
//! it (`openat`, `renameat`, `unlinkat`), so a link swapped in for the directory meanwhile
//! changes nothing, and a failed write leaves no temp file behind.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{AtFlags, OFlags};
use rustix::io::Errno;

pub use super::place::Place;
use crate::collect::bounded::{self, kind};
use crate::error::Error;

/// Largest configuration file read.
pub const CONFIG_LIMIT: u64 = 1 << 20;
/// Largest state file read.
pub const STATE_LIMIT: u64 = 8 << 20;
/// How long to wait for another run's lock before giving up (UNKNOWN).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// Test-only: a duration (`250ms`) that replaces [`LOCK_TIMEOUT`], so a test of a held lock
/// need not wait five seconds. Never set it outside tests.
const LOCK_TIMEOUT_VAR: &str = "SOCKSCOPE_TEST_LOCK_TIMEOUT";
/// Temp files of ours older than this are a killed run's leftovers.
const STALE_AFTER: Duration = Duration::from_secs(60);
const TEMP_MARK: &str = ".sockscope-tmp.";
/// Names tried for a temp file before giving up (another process took each one first).
const TEMP_TRIES: u32 = 16;

/// Who may read a file written with [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600: the state file.
    Private,
    /// 0644 whatever the umask: a metrics file node_exporter (another user) reads.
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

/// How long `check` waits for the state file's lock: [`LOCK_TIMEOUT`], unless a test set
/// `SOCKSCOPE_TEST_LOCK_TIMEOUT`.
pub fn lock_timeout() -> Duration {
    lock_timeout_from(std::env::var_os(LOCK_TIMEOUT_VAR).as_deref())
}

/// A value that is not a duration is ignored: the test that set it then sees the 5 s wait in
/// the message and fails.
fn lock_timeout_from(value: Option<&std::ffi::OsStr>) -> Duration {
    value
        .and_then(|v| v.to_str())
        .and_then(|v| humantime::parse_duration(v).ok())
        .unwrap_or(LOCK_TIMEOUT)
}

/// An exclusive lock held while it lives (`flock` on `PATH.lock`).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes the lock file `NAME.lock` beside the file of `place`, waiting at most `timeout` for another
/// run to finish.
pub fn lock(place: &Place, timeout: Duration) -> Result<Lock, Error> {
    let (name, lock_path) = place.sibling(".lock");
    let fail = |source: io::Error| Error::Write {
        path: lock_path.clone(),
        source,
    };
    // Read and write: opening a FIFO write-only without a reader fails with a confusing
    // ENXIO; this way it opens, and the type check below names it.
    let file = open_in(
        place.dir(),
        &name,
        OFlags::CREATE | OFlags::RDWR,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .map_err(&fail)?;
    let meta = file.metadata().map_err(&fail)?;
    if !meta.file_type().is_file() {
        return Err(fail(bounded::not_regular(&meta)));
    }
    check_owner(&file, &lock_path)?;
    // 0600 whatever the umask: one made 0000 under `umask 777` would lock the next run out.
    if meta.permissions().mode() & 0o777 != 0o600 {
        rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(0o600))
            .map_err(|e| fail(e.into()))?;
    }
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(50));
            }
            // The time really waited, not the timeout asked for: sleeps overshoot.
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(fail(io::Error::other(format!(
                    "another process has held the lock for {:.1} s; giving up",
                    started.elapsed().as_secs_f64()
                ))));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
    }
}

/// A file of our own (the state file): not a symlink, a regular file owned by the running
/// user, at most `limit` bytes. `Ok(None)` when it does not exist yet.
pub fn read_own(place: &Place, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    let fail = read_error(place.path());
    let file = match open_in(
        place.dir(),
        place.name(),
        OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    ) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    let meta = file.metadata().map_err(&fail)?;
    if !meta.file_type().is_file() {
        return Err(fail(bounded::not_regular(&meta)));
    }
    check_owner(&file, place.path())?;
    read_capped(file, place.path(), limit).map(Some)
}

/// Replaces the file with `bytes` atomically: a new temp file beside it (never an existing
/// one), synced, then renamed over it, so a reader never sees half a file. Refuses to
/// replace anything but a regular file. Whatever fails, the temp file is removed; temp
/// files a killed run of ours left behind are removed too.
pub fn write(place: &Place, bytes: &[u8], mode: Mode) -> Result<(), Error> {
    let fail = |source: io::Error| Error::Write {
        path: place.path().to_path_buf(),
        source,
    };
    match stat_in(place.dir(), place.name()) {
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
    let mut prefix = OsString::from(".");
    prefix.push(place.name());
    prefix.push(TEMP_MARK);
    remove_stale(place.dir(), &prefix);
    let mode = rustix::fs::Mode::from_raw_mode(match mode {
        Mode::Private => 0o600,
        Mode::Shared => 0o644,
    });
    let (mut file, temp) = Temp::create(place.dir(), &prefix, mode).map_err(&fail)?;
    file.write_all(bytes).map_err(&fail)?;
    file.sync_all().map_err(&fail)?;
    drop(file);
    rustix::fs::renameat(place.dir(), &temp.name, place.dir(), place.name())
        .map_err(|e| fail(e.into()))?;
    temp.kept();
    Ok(())
}

/// Opens `name` in `dir` with `flags`, never following a link (refused, saying so) and never
/// blocking on a FIFO.
fn open_in(dir: &OwnedFd, name: &OsStr, flags: OFlags, mode: rustix::fs::Mode) -> io::Result<File> {
    rustix::fs::openat(
        dir,
        name,
        flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        mode,
    )
    .map(File::from)
    .map_err(|e| {
        if e == Errno::LOOP {
            io::Error::other("is a symbolic link; refusing to follow it")
        } else {
            e.into()
        }
    })
}

/// What `name` in `dir` is, the link itself for a link.
fn stat_in(dir: &OwnedFd, name: &OsStr) -> io::Result<Metadata> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    File::from(fd).metadata()
}

/// A temp file of this run in a directory, removed when dropped unless [`Temp::kept`] (renamed
/// into place): every way out of a write, error or panic, leaves nothing behind.
struct Temp<'a> {
    dir: &'a OwnedFd,
    name: OsString,
    kept: bool,
}

impl<'a> Temp<'a> {
    /// A new file `PREFIX` + random letters in `dir`, created here and now (`O_EXCL`), never
    /// one that was there.
    fn create(
        dir: &'a OwnedFd,
        prefix: &OsStr,
        mode: rustix::fs::Mode,
    ) -> io::Result<(File, Temp<'a>)> {
        let mut tries = 0;
        loop {
            let mut name = prefix.to_os_string();
            name.push(random_suffix());
            match rustix::fs::openat(
                dir,
                name.as_os_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                mode,
            ) {
                Ok(fd) => {
                    let temp = Temp {
                        dir,
                        name,
                        kept: false,
                    };
                    // Exactly `mode`, whatever the umask: node_exporter runs as another user
                    // and cannot read a textfile made 0600 under `umask 077`.
                    rustix::fs::fchmod(&fd, mode)?;
                    return Ok((File::from(fd), temp));
                }
                Err(Errno::EXIST) if tries < TEMP_TRIES => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The file was renamed into place: nothing to remove.
    fn kept(mut self) {
        self.kept = true;
    }
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        if !self.kept {
            let _ = rustix::fs::unlinkat(self.dir, self.name.as_os_str(), AtFlags::empty());
        }
    }
}

/// Six letters and digits no other process can guess: std's hasher keys are random per
/// process, and the clock and a counter differ per call.
fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    let mut bits = h.finish();
    let mut suffix = String::with_capacity(6);
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for _ in 0..6 {
        suffix.push(char::from(LETTERS[(bits % LETTERS.len() as u64) as usize]));
        bits /= LETTERS.len() as u64;
    }
    suffix
}

/// Replaces `path` with `bytes` atomically, as [`write`] does.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Mode) -> Result<(), Error> {
    let place = Place::of(path).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    write(&place, bytes, mode)
}

/// Our own temp files (same prefix, our uid, regular files) older than a minute: a run killed
/// mid-write. Read and removed relative to the directory held open.
fn remove_stale(dir: &OwnedFd, prefix: &OsStr) {
    let Ok(listing) = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) else {
        return;
    };
    let Ok(entries) = rustix::fs::Dir::new(listing) else {
        return;
    };
    let me = rustix::process::geteuid().as_raw();
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if !name.as_bytes().starts_with(prefix.as_bytes()) {
            continue;
        }
        let Ok(meta) = stat_in(dir, name) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if meta.file_type().is_file() && meta.uid() == me && old {
            let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
        }
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
