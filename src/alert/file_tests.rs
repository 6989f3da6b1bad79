//! Tests of `alert::file`: links, FIFOs, devices, owners, locks and temp files.

use super::*;
use std::os::unix::fs::{PermissionsExt, symlink};

fn lock(path: &Path, timeout: Duration) -> Result<Lock, Error> {
    let place = Place::of(path).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    super::lock(&place, timeout)
}

fn read_own(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, Error> {
    let place = Place::of(path).map_err(read_error(path))?;
    super::read_own(&place, limit)
}

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

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A directory every user can write (not sticky): whoever planted `d` there, it may be
/// swapped at any moment, so it is never followed, by any of the files written there.
#[test]
fn a_link_other_users_could_swap_is_never_followed() {
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let outside = base.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    symlink(&outside, base.path().join("d")).unwrap();
    let d = base.path().join("d");
    let refused = format!(
        "'{}' is a symbolic link in a directory other users can write; refusing to follow it",
        d.display()
    );
    let e = write_atomic(&d.join("f.prom"), b"x", Mode::Shared)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&refused), "{e}");
    let e = lock(&d.join("state.json"), LOCK_TIMEOUT)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&refused), "{e}");
    let e = read_own(&d.join("state.json"), STATE_LIMIT)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&refused), "{e}");
    // Deeper in the path as well.
    std::fs::create_dir(outside.join("sub")).unwrap();
    let e = write_atomic(&d.join("sub/f.prom"), b"x", Mode::Shared)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&refused), "{e}");
    assert_eq!(names(&outside), ["sub"]);
    assert!(names(&outside.join("sub")).is_empty());
}

#[test]
fn a_temp_file_is_removed_unless_it_was_renamed_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let place = Place::of(&dir.path().join("f.prom")).unwrap();
    let fd = place.dir();
    let prefix = OsStr::new(".f.prom.sockscope-tmp.");
    let mode = rustix::fs::Mode::from_raw_mode(0o600);
    let (_file, temp) = Temp::create(fd, prefix, mode).unwrap();
    let made = names(dir.path());
    assert!(
        made.len() == 1 && made[0].starts_with(".f.prom.sockscope-tmp."),
        "{made:?}"
    );
    drop(temp);
    assert!(names(dir.path()).is_empty());
    let (_file, temp) = Temp::create(fd, prefix, mode).unwrap();
    temp.kept();
    assert_eq!(names(dir.path()).len(), 1);
}

/// Links only the running user (or root) could have made, in directories only they can
/// change, are the operator's own (`/var/run -> /run`): followed, relative or absolute.
#[test]
fn links_only_trusted_users_could_make_are_followed() {
    let base = tempfile::tempdir().unwrap();
    let real = base.path().join("real");
    std::fs::create_dir(&real).unwrap();
    symlink("real", base.path().join("relative")).unwrap();
    symlink(&real, base.path().join("absolute")).unwrap();
    for (i, via) in ["relative", "absolute", "real/../relative/."]
        .iter()
        .enumerate()
    {
        let path = base.path().join(via).join(format!("f{i}.prom"));
        write_atomic(&path, b"x", Mode::Shared).unwrap();
        let (_lock, bytes) = (
            lock(&path, LOCK_TIMEOUT).unwrap(),
            read_own(&path, STATE_LIMIT).unwrap(),
        );
        assert_eq!(bytes.as_deref(), Some(&b"x"[..]), "{via}");
    }
    assert_eq!(
        names(&real),
        [
            "f0.prom",
            "f0.prom.lock",
            "f1.prom",
            "f1.prom.lock",
            "f2.prom",
            "f2.prom.lock"
        ]
    );
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
