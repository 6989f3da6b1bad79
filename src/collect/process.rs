//! What the walk of `/proc/*/fd` reads of a process besides its fds: the per-process facts
//! (stat, uid, limits) of the few processes that hold a wanted socket, each bounded and parsed
//! without trusting it; what a socket fd link looks like; whether `/proc` hides processes.
//! The walk itself is `fdwalk` (each fd link read once, as `ss -p` does, instead of through
//! procfs's `fd()`, which costs four syscalls per fd and silently drops links it cannot read).
//!
//! Processes are not pruned by uid: a socket's uid is whoever created it, and a listener made by
//! root and handed to a service (systemd socket activation, a master that forks and drops
//! privileges) is held by processes of another uid.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::bounded;
use crate::report::Process;

/// EMFILE or ENFILE: this process (or the system) has no file descriptor left.
pub(super) fn out_of_fds(e: &io::Error) -> bool {
    let code = e.raw_os_error();
    code == Some(rustix::io::Errno::MFILE.raw_os_error())
        || code == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// `socket:[12345]` → 12345.
pub(super) fn socket_inode(link: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The longest name the kernel keeps for a task (`TASK_COMM_LEN` less its NUL).
const COMM_BYTES: usize = 15;

/// A task's name (`comm`) as text. The kernel cuts a longer name at 15 bytes, often inside a
/// character (`a服务器进程ab` is kept as `a服务器进` and two of the three bytes of `程`): that
/// fragment is the kernel's cut, not part of the name, so it is dropped instead of printed as
/// U+FFFD. Any other invalid byte is one the process set, and reads as U+FFFD.
pub(crate) fn comm_text(bytes: &[u8]) -> String {
    let mut whole = bytes;
    if bytes.len() == COMM_BYTES {
        // A character is at most 4 bytes: a cut one starts within the last 3.
        let lead = (COMM_BYTES - 3..COMM_BYTES)
            .rev()
            .find(|&i| bytes[i] & 0xC0 != 0x80);
        if let Some(at) = lead {
            let cut = std::str::from_utf8(&bytes[at..])
                .is_err_and(|e| e.valid_up_to() == 0 && e.error_len().is_none());
            if cut {
                whole = &bytes[..at];
            }
        }
    }
    String::from_utf8_lossy(whole).into_owned()
}

/// Why a matching process could not be described.
pub(super) enum Gap {
    /// It exited, or its pid was reused, while we looked.
    Vanished,
    /// Its `stat`, `status` or fd links could not be read or made no sense.
    Unreadable,
    /// This process had no file descriptor left to read it with.
    OutOfFds,
}

/// Largest per-process file read (`stat` is about 300 bytes, `limits` 1.4 KiB).
const PROCESS_FILE_LIMIT: u64 = 64 << 10;

/// How many of a process's sockets are read again to make sure it is the same process: one
/// may have closed since the walk (a busy server closes connections all the time), all of
/// them closing in that moment means it is gone.
pub(super) const SAMPLES: usize = 8;

/// The facts about a matching process. `held`, some (inode, fd) the walk saw it hold (at most
/// [`SAMPLES`]), are read again at the end: the process is the same one if one of them still
/// is. `stat` and `limits` are parsed here, not by procfs: a crafted `stat` (`4242 )x(`) made
/// procfs-core panic.
pub(super) fn describe(
    dir: &Path,
    pid: u32,
    fd_count: u64,
    held: &[(u64, u32)],
) -> Result<Process, Gap> {
    let gap = |e: io::Error| match e.kind() {
        _ if out_of_fds(&e) => Gap::OutOfFds,
        io::ErrorKind::NotFound => Gap::Vanished,
        _ => Gap::Unreadable,
    };
    let stat = bounded::open_regular(&dir.join("stat"), true)
        .and_then(|file| bounded::read_capped(file, PROCESS_FILE_LIMIT))
        .map_err(gap)?;
    let (comm, starttime) = parse_stat(&stat).ok_or(Gap::Unreadable)?;
    let uid = fs::metadata(dir).map_err(gap)?.uid();
    let nofile_soft = bounded::read_text(&dir.join("limits"), PROCESS_FILE_LIMIT)
        .ok()
        .and_then(|text| parse_nofile_soft(&text));
    let mut same = false;
    for &(inode, fd) in held.iter().take(SAMPLES) {
        match fs::read_link(dir.join("fd").join(fd.to_string())) {
            Ok(again) if socket_inode(again.as_os_str().as_encoded_bytes()) == Some(inode) => {
                same = true;
                break;
            }
            // That socket closed (or the fd now holds another): try the next one.
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(gap(e)),
        }
    }
    if !same {
        return Err(Gap::Vanished);
    }
    Ok(Process {
        pid,
        comm: comm_text(comm),
        uid,
        starttime,
        fd_count,
        nofile_soft,
    })
}

/// `comm` and `starttime` (field 22) from `/proc/PID/stat`: `PID (COMM) S PPID …`. The name may
/// hold spaces and parentheses, so it ends at the last `)` (as procps reads it).
pub(super) fn parse_stat(text: &[u8]) -> Option<(&[u8], u64)> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let comm = text.get(open + 1..close)?;
    // Fields 3 onwards follow the name; starttime is the 20th of them.
    let starttime = text
        .get(close + 1..)?
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty())
        .nth(19)?;
    Some((comm, std::str::from_utf8(starttime).ok()?.parse().ok()?))
}

/// The soft `Max open files` of `/proc/PID/limits`; `None` when unlimited or absent.
fn parse_nofile_soft(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The `hidepid=` option of the proc mount at `root`, read from `root/self/mountinfo`.
pub(super) fn hidepid(root: &Path) -> Option<String> {
    let mountinfo = bounded::read_text(&root.join("self/mountinfo"), 4 << 20).ok()?;
    let root = root.to_str()?;
    mountinfo.lines().find_map(|line| {
        let mut fields = line.split(' ');
        let mount_point = fields.nth(4)?;
        if mount_point != root {
            return None;
        }
        let (_, after) = line.split_once(" - ")?;
        let mut after = after.split(' ');
        if after.next()? != "proc" {
            return None;
        }
        after
            .nth(1)?
            .split(',')
            .find_map(|opt| opt.strip_prefix("hidepid="))
            .filter(|v| *v != "0" && *v != "off")
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_are_recognised() {
        assert_eq!(socket_inode(b"socket:[4564]"), Some(4564));
        assert_eq!(socket_inode(b"pipe:[4564]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12x]"), None);
    }

    #[test]
    fn hidepid_is_read_from_mountinfo() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("self")).unwrap();
        let line = format!(
            "22 26 0:20 / {} rw,nosuid - proc proc rw,hidepid=invisible,gid=4\n",
            root.display()
        );
        fs::write(root.join("self/mountinfo"), line).unwrap();
        assert_eq!(hidepid(root).as_deref(), Some("invisible"));
    }

    #[test]
    fn stat_is_parsed_without_trusting_it() {
        // /proc/self/stat of a shell on Linux 6.18, cut after starttime (field 22).
        let real = "4242 (my (odd) name) S 1 4242 4242 34816 4242 4194560 1074 0 0 0 1 0 0 0 20 0 1 0 123456 8622080";
        assert_eq!(
            parse_stat(real.as_bytes()),
            Some((&b"my (odd) name"[..], 123456))
        );
        for crafted in [
            "4242 )x(",
            "",
            "(",
            ")",
            "4242 (x) S",
            "4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -5",
        ] {
            assert_eq!(parse_stat(crafted.as_bytes()), None, "{crafted:?}");
        }
    }

    #[test]
    fn a_name_the_kernel_cut_inside_a_character_loses_the_fragment_only() {
        // prctl(PR_SET_NAME, "a服务器进程ab"): the kernel keeps its first 15 bytes.
        let cut = &"a服务器进程ab".as_bytes()[..15];
        assert_eq!(comm_text(cut), "a服务器进");
        assert_eq!(comm_text("服务器进程".as_bytes()), "服务器进程");
        assert_eq!(comm_text(b"kworker/u16:3-e"), "kworker/u16:3-e");
        // Fragments elsewhere, or in a name the kernel did not cut, are the process's own.
        assert_eq!(comm_text(b"ab\xe7\xa8cd"), "ab\u{FFFD}cd");
        assert_eq!(comm_text(b"short\xe7\xa8"), "short\u{FFFD}");
        assert_eq!(
            comm_text(b"0123456789abc\xff\xfe"),
            "0123456789abc\u{FFFD}\u{FFFD}"
        );
        // From stat, as the walk reads it.
        let stat = [
            &b"20344 ("[..],
            cut,
            b") S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777",
        ]
        .concat();
        let (comm, starttime) = parse_stat(&stat).unwrap();
        assert_eq!((comm_text(comm).as_str(), starttime), ("a服务器进", 777));
    }

    #[test]
    fn nofile_limit_from_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n";
        assert_eq!(parse_nofile_soft(text), Some(1024));
        assert_eq!(
            parse_nofile_soft(
                "Max open files            unlimited            unlimited            files"
            ),
            None
        );
    }
}
