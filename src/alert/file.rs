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
/// Test-only: a duration (`250ms`) that replaces [`LOCK_TIMEOUT`], so a test of a held lock
/// need not wait five seconds. Never set it outside tests.
const LOCK_TIMEOUT_VAR: &str = "SOCKSCOPE_TEST_LOCK_TIMEOUT";
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

/// Takes the lock file beside `path`, waiting at most `timeout` for another run to finish.
pub fn lock(path: &Path, timeout: Duration) -> Result<Lock, Error> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let fail = |source: io::Error| Error::Write {
        path: lock_path.clone(),
        source,
    };
    // Read and write: opening a FIFO write-only without a reader fails with a confusing ENXIO;
    // this way it opens, and the type check below names it.
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
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
        return Err(fail(bounded::not_regular(&meta)));
    }
    check_owner(&file, &lock_path)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn fifo(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn symlinked_state_and_lock_files_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("root-only-file");
        let state = dir.path().join("state.json");
        symlink(&target, dir.path().join("state.json.lock")).unwrap();
        let e = lock(&state, LOCK_TIMEOUT).unwrap_err().to_string();
        assert!(e.contains("state.json.lock': is a symbolic link"), "{e}");
        assert!(!target.exists(), "the lock created the symlink's target");

        std::fs::write(&target, "{}").unwrap();
        symlink(&target, &state).unwrap();
        let e = read_own(&state, STATE_LIMIT).unwrap_err().to_string();
        assert!(e.contains("state.json': is a symbolic link"), "{e}");
        let e = write_atomic(&state, b"x", Mode::Private)
            .unwrap_err()
            .to_string();
        assert!(e.contains("state.json': is a symbolic link"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"{}");
    }

    #[test]
    fn fifos_as_state_lock_or_config_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        fifo(&state);
        let e = read_own(&state, STATE_LIMIT).unwrap_err().to_string();
        assert!(
            e.contains("state.json': is a FIFO, not a regular file"),
            "{e}"
        );
        let e = read_text(&state, CONFIG_LIMIT).unwrap_err().to_string();
        assert!(e.contains("state.json': is a FIFO"), "{e}");
        let e = write_atomic(&state, b"x", Mode::Private)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a FIFO, not a regular file"), "{e}");

        let other = dir.path().join("other.json");
        fifo(&dir.path().join("other.json.lock"));
        let e = lock(&other, LOCK_TIMEOUT).unwrap_err().to_string();
        assert!(e.contains("other.json.lock': is a FIFO"), "{e}");
    }

    #[test]
    fn a_lock_held_elsewhere_gives_up_after_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        // flock belongs to the open file description: a second open conflicts, as another
        // process's would.
        let held = File::create(dir.path().join("state.json.lock")).unwrap();
        held.lock().unwrap();
        let e = lock(&state, Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        let waited = waited(
            &e,
            "state.json.lock': another process has held the lock for ",
        );
        assert!((0.3..5.0).contains(&waited), "{e}");
        held.unlock().unwrap();
        assert!(lock(&state, Duration::from_millis(100)).is_ok());
    }

    /// The seconds an error message says were waited, after `prefix`.
    fn waited(message: &str, prefix: &str) -> f64 {
        message
            .split_once(prefix)
            .and_then(|(_, rest)| rest.split_once(" s; giving up"))
            .and_then(|(seconds, _)| seconds.parse().ok())
            .unwrap_or_else(|| panic!("no wait in {message}"))
    }

    #[test]
    fn the_lock_timeout_is_five_seconds_unless_a_test_says_otherwise() {
        use std::ffi::OsStr;
        assert_eq!(lock_timeout_from(None), Duration::from_secs(5));
        assert_eq!(
            lock_timeout_from(Some(OsStr::new("250ms"))),
            Duration::from_millis(250)
        );
        assert_eq!(
            lock_timeout_from(Some(OsStr::new("soon"))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn oversized_state_and_config_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        std::fs::write(&path, vec![b'#'; CONFIG_LIMIT as usize + 1]).unwrap();
        let e = read_text(&path, CONFIG_LIMIT).unwrap_err().to_string();
        assert!(
            e.contains("big.toml': is larger than 1 MiB; refusing to read it"),
            "{e}"
        );
        let e = read_own(&path, 1024).unwrap_err().to_string();
        assert!(e.contains("big.toml': is larger than 1 KiB"), "{e}");
    }

    #[test]
    fn devices_are_never_replaced() {
        if !is_root() {
            println!("skipped: making a device node needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let null = dir.path().join("null");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &null,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 3),
        )
        .unwrap();
        let e = write_atomic(&null, b"metrics", Mode::Shared)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("null': is a character device, not a regular file; refusing to replace it"),
            "{e}"
        );
        let e = read_own(&null, STATE_LIMIT).unwrap_err().to_string();
        assert!(e.contains("is a character device"), "{e}");
        use std::os::unix::fs::FileTypeExt;
        let meta = std::fs::symlink_metadata(&null).unwrap();
        assert!(meta.file_type().is_char_device());
        assert_eq!(meta.rdev(), rustix::fs::makedev(1, 3));
    }

    #[test]
    fn a_state_file_of_another_user_is_not_trusted() {
        if !is_root() {
            println!("skipped: giving a file to another user needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        std::fs::write(&state, "{}").unwrap();
        std::os::unix::fs::chown(&state, Some(65534), None).unwrap();
        let e = read_own(&state, STATE_LIMIT).unwrap_err().to_string();
        assert!(
            e.contains("state.json': is owned by uid 65534, not by the running user (uid 0)"),
            "{e}"
        );
        let lock_file = dir.path().join("state.json.lock");
        std::fs::write(&lock_file, "").unwrap();
        std::os::unix::fs::chown(&lock_file, Some(65534), None).unwrap();
        let e = lock(&state, LOCK_TIMEOUT).unwrap_err().to_string();
        assert!(e.contains("state.json.lock': is owned by uid 65534"), "{e}");
    }

    #[test]
    fn stale_temp_files_of_ours_are_removed_fresh_and_foreign_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let old = SystemTime::now() - Duration::from_secs(120);
        let make = |name: &str, modified: SystemTime| {
            let path = dir.path().join(name);
            File::create(&path).unwrap().set_modified(modified).unwrap();
            path
        };
        let stale = make(".state.json.sockscope-tmp.AbC123", old);
        let fresh = make(".state.json.sockscope-tmp.XyZ789", SystemTime::now());
        let other_file = make(".other.json.sockscope-tmp.AbC123", old);
        let unrelated = make(".state.json.tmp", old);
        write_atomic(&state, b"{}", Mode::Private).unwrap();
        assert!(!stale.exists());
        assert!(fresh.exists() && other_file.exists() && unrelated.exists());
        assert_eq!(std::fs::read(&state).unwrap(), b"{}");
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Nothing but the state file is added: the run's own temp file became it.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
    }
}
