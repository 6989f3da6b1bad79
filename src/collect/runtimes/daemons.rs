//! The daemons whose command lines say where a runtime keeps its state (dockerd's
//! `--data-root`, conmon's `--root`).
//!
//! Anyone can call a process `dockerd` or `conmon` (prctl PR_SET_NAME) and give it arguments
//! of their own: only a process whose every uid (real, effective, saved, filesystem) is trusted
//! is listened to, and the paths it names are then read through `HostFs` like any other.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::collect::bounded;
use crate::collect::hostfs::Trust;

/// A command line longer than this is not a daemon's.
const MAX_CMDLINE: u64 = 1 << 20;

/// The small `/proc` files.
const MAX_SMALL: u64 = 64 << 10;

/// The command lines of the running processes called `comm` that run as a trusted user. Each
/// process's directory is opened once and its files read relative to it: a process that exits
/// meanwhile makes the reads fail instead of reaching another process given its pid.
pub fn cmdlines(proc_root: &Path, trust: Trust, comm: &str) -> Vec<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| {
            let dir = rustix::fs::open(
                e.path(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            let comm_here = read_at(&dir, "comm").ok()?;
            if comm_here.trim_ascii_end() != comm.as_bytes() {
                return None;
            }
            let cmdline = read_at(&dir, "cmdline").ok()?;
            // After the command line: a process can only lose privileges, so one trusted now
            // was trusted when its command line was read.
            let status = read_at(&dir, "status").ok()?;
            runs_as_trusted(&status, trust).then(|| {
                cmdline
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
        })
        .collect()
}

/// A `/proc/PID` file, read without blocking and capped.
fn read_at(dir: &OwnedFd, name: &str) -> io::Result<Vec<u8>> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let limit = if name == "cmdline" {
        MAX_CMDLINE
    } else {
        MAX_SMALL
    };
    bounded::read_capped(file, limit)
}

/// Whether every uid on the `Uid:` line of `/proc/PID/status` (real, effective, saved,
/// filesystem) is trusted. The owner of `/proc/PID` would not do: a process that makes itself
/// non-dumpable has its `/proc/PID` owned by root.
fn runs_as_trusted(status: &[u8], trust: Trust) -> bool {
    let text = String::from_utf8_lossy(status);
    let Some(uids) = text.lines().find_map(|l| l.strip_prefix("Uid:")) else {
        return false;
    };
    let uids: Vec<Option<u32>> = uids.split_whitespace().map(|u| u.parse().ok()).collect();
    uids.len() == 4 && uids.iter().all(|u| u.is_some_and(|u| trust.user(u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_daemon_whose_every_uid_is_trusted_counts() {
        let trust = Trust::current();
        let status = |uids: &str| format!("Name:\tdockerd\nUid:\t{uids}\nGid:\t0\t0\t0\t0\n");
        assert!(runs_as_trusted(status("0\t0\t0\t0").as_bytes(), trust));
        // A setuid exec keeps the real uid: still another user's process (unless this test
        // itself runs as that user).
        let as_nobody = rustix::process::geteuid().as_raw() == 65534;
        assert_eq!(
            runs_as_trusted(status("65534\t0\t0\t0").as_bytes(), trust),
            as_nobody
        );
        assert!(!runs_as_trusted(status("0\t0\t0").as_bytes(), trust));
        assert!(!runs_as_trusted(b"Name:\tdockerd\n", trust));
    }
}
