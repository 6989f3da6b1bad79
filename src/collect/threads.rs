//! The threads of a process a finding names: each thread's state and name, wait channel and
//! current syscall (`/proc/PID/task/TID/{stat,wchan,syscall}`), and for a syscall that
//! waits on a file descriptor, the socket behind it (`/proc/PID/fd/N`). Bounded in threads and
//! in time; every file is opened relative to its directory, without following links and without
//! blocking, and read into a small fixed buffer. It only reads what procfs shows: it never
//! attaches to, signals or stops a process, and never reads `/proc/PID/mem`.

use std::collections::HashMap;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{Dir, Mode, OFlags, openat, readlinkat_raw};
use rustix::io::Errno;

use super::bounded;
use super::process::{comm_text, socket_inode};
use crate::model::Call;
use crate::report::{ProcessThreads, ThreadGap, ThreadSample, Wait};

/// How much of a process is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadLimits {
    /// Threads read at most, the first by tid.
    pub max_threads: u32,
    /// Time after which no further thread is read.
    pub budget: Duration,
}

impl Default for ThreadLimits {
    /// 1,024 threads (read in about 30 ms on a busy 2-core VM: three small files each), and
    /// 250 ms: a process whose `/proc` answers slowly cannot hold up the report.
    fn default() -> ThreadLimits {
        ThreadLimits {
            max_threads: 1024,
            budget: Duration::from_millis(250),
        }
    }
}

/// The largest per-thread file read: `stat` is about 300 bytes, at most about 1.2 KiB with
/// every field at its widest; a wait channel is a kernel symbol (at most 512 bytes).
const FILE_LIMIT: usize = 4 << 10;

/// Reads the threads of process `pid` under `root` (`/proc`, or `--proc-root`): at most
/// `limits.max_threads` of them, in tid order, while `limits.budget` lasts. Never fails: a
/// process that cannot be opened is `gap: Gone`, a thread that exits meanwhile is counted in
/// `vanished`, and syscalls refused for want of ptrace access make `gap: NoAccess` (states and
/// names are still read). When several gaps apply, `NoAccess` is reported before `TimedOut`,
/// and `TimedOut` before `Bounded`: `total` against `threads` and `vanished` still shows how
/// many were left out.
pub fn read_threads(root: &Path, pid: u32, limits: ThreadLimits) -> ProcessThreads {
    let started = Instant::now();
    let mut out = ProcessThreads {
        pid,
        ..ProcessThreads::default()
    };
    let mut buf = [0u8; FILE_LIMIT];
    // hidepid answers ENOENT (invisible) or EPERM (noaccess) here: either way, gone for us.
    let Ok(process) = open_dir(rustix::fs::CWD, root.join(pid.to_string())) else {
        out.gap = Some(ThreadGap::Gone);
        return out;
    };
    match bounded::read_at(&process, "comm", &mut buf) {
        Ok(text) => out.comm = line(text),
        Err(e) if exited(&e) => {
            out.gap = Some(ThreadGap::Gone);
            return out;
        }
        Err(_) => {}
    }
    out.exe = exe_name(&process);
    let Ok((task, tids)) = open_dir(&process, "task").and_then(|task| {
        let tids = list_tids(&task)?;
        Ok((task, tids))
    }) else {
        out.gap = Some(ThreadGap::Gone);
        return out;
    };
    out.total = u32::try_from(tids.len()).unwrap_or(u32::MAX);
    let mut sockets = Sockets::default();
    let mut denied = false;
    let mut stopped = None;
    for (i, &tid) in tids.iter().enumerate() {
        let read = u32::try_from(out.threads.len()).unwrap_or(u32::MAX);
        if i >= limits.max_threads as usize {
            stopped = Some(ThreadGap::Bounded { read });
            break;
        }
        if started.elapsed() >= limits.budget {
            stopped = Some(ThreadGap::TimedOut { read });
            break;
        }
        match read_thread(&process, &task, tid, &mut buf, &mut sockets) {
            Ok((sample, refused)) => {
                denied |= refused;
                out.threads.push(sample);
            }
            Err(Vanished) => out.vanished += 1,
        }
    }
    out.gap = if denied {
        Some(ThreadGap::NoAccess)
    } else {
        stopped
    };
    out
}

/// A thread that exited while it was read.
struct Vanished;

/// Whether an error means the process or thread is gone (ENOENT once it is reaped, ESRCH from
/// a file opened before that).
fn exited(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(Errno::SRCH.raw_os_error())
}

/// EACCES or EPERM: no ptrace access to the process (not root, another user's, Yama).
fn refused(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
        || e.raw_os_error() == Some(Errno::PERM.raw_os_error())
}

fn open_dir(at: impl AsFd, path: impl rustix::path::Arg) -> io::Result<OwnedFd> {
    Ok(openat(
        at,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// The thread ids in a `task` directory, ascending; only canonical numbers (`05` in a copied
/// tree is not thread 5).
fn list_tids(task: &OwnedFd) -> io::Result<Vec<u32>> {
    let mut tids = Vec::new();
    let mut dir = Dir::read_from(task)?;
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if let Ok(tid) = name.parse::<u32>()
            && tid.to_string() == name
        {
            tids.push(tid);
        }
    }
    tids.sort_unstable();
    tids.dedup();
    Ok(tids)
}

/// One thread's facts, and whether its syscall was refused for want of access.
fn read_thread(
    process: &OwnedFd,
    task: &OwnedFd,
    tid: u32,
    buf: &mut [u8],
    sockets: &mut Sockets,
) -> Result<(ThreadSample, bool), Vanished> {
    let gone = |e: &io::Error| if exited(e) { Err(Vanished) } else { Ok(()) };
    let mut sample = ThreadSample {
        tid,
        comm: String::new(),
        state: '?',
        wchan: None,
        wait: Wait::Unreadable,
    };
    let dir = match open_dir(task, tid.to_string()) {
        Ok(dir) => dir,
        Err(e) => {
            gone(&e)?;
            return Ok((sample, false));
        }
    };
    // The name in `stat` is the `comm` file's (both print task->comm, kworkers' too): one
    // file fewer per thread.
    match bounded::read_at(&dir, "stat", buf) {
        Ok(text) => {
            if let Some((comm, state)) = parse_stat(text) {
                sample.state = state;
                sample.comm = comm_text(comm);
            }
        }
        Err(e) => gone(&e)?,
    }
    match bounded::read_at(&dir, "wchan", buf) {
        Ok(text) => sample.wchan = wait_channel(text),
        Err(e) => gone(&e)?,
    }
    let mut denied = false;
    match bounded::read_at(&dir, "syscall", buf) {
        Ok(text) => {
            sample.wait = match parse_syscall(text) {
                Some(Syscall::Running) => Wait::Running,
                Some(Syscall::Outside) => Wait::NotInSyscall,
                Some(Syscall::In { nr, arg1 }) => {
                    let call = Call::of(nr);
                    // An fd is a non-negative int; anything else in the register is not one.
                    let fd = call
                        .names_fd()
                        .then(|| u32::try_from(arg1).ok().filter(|&fd| fd <= i32::MAX as u32))
                        .flatten();
                    let socket = fd.and_then(|fd| sockets.of(process, fd));
                    Wait::Syscall { call, fd, socket }
                }
                None => Wait::Unreadable,
            }
        }
        Err(e) => {
            gone(&e)?;
            denied = refused(&e);
        }
    }
    Ok((sample, denied))
}

/// The socket inode behind each fd asked about, read once per process: eight workers blocked
/// on one listener read its link once.
#[derive(Default)]
struct Sockets(HashMap<u32, Option<u64>>);

impl Sockets {
    fn of(&mut self, process: &OwnedFd, fd: u32) -> Option<u64> {
        *self.0.entry(fd).or_insert_with(|| {
            let mut link = [MaybeUninit::<u8>::uninit(); 64];
            let (target, _) = readlinkat_raw(process, format!("fd/{fd}"), &mut link).ok()?;
            socket_inode(target)
        })
    }
}

/// The file name of the process's executable (`java`, `python3.11`), a hint at its runtime;
/// `None` for a kernel thread, without access, or for a link longer than a path can be.
fn exe_name(process: &OwnedFd) -> Option<String> {
    let mut link = [MaybeUninit::<u8>::uninit(); 4096];
    let (target, rest) = readlinkat_raw(process, "exe", &mut link).ok()?;
    if rest.is_empty() {
        return None;
    }
    let target = target.strip_suffix(b" (deleted)").unwrap_or(target);
    let name = target.rsplit(|&b| b == b'/').next()?;
    (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
}

/// A one-line file's text (`comm`) without its newline.
fn line(text: &[u8]) -> String {
    comm_text(text.strip_suffix(b"\n").unwrap_or(text))
}

/// `wchan`: the kernel function, or `None` for `0` (running, or no access to the process).
fn wait_channel(text: &[u8]) -> Option<String> {
    let text = text.trim_ascii();
    (!text.is_empty() && text != b"0").then(|| String::from_utf8_lossy(text).into_owned())
}

/// The name and state from a thread's `stat`: `TID (COMM) S PPID …`. The name may hold spaces
/// and parentheses, so it ends at the last `)` (as procps reads it, and `process::parse_stat`);
/// the state is the next field, one letter.
fn parse_stat(text: &[u8]) -> Option<(&[u8], char)> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let comm = text.get(open + 1..close)?;
    let mut fields = text.get(close + 1..)?.split(u8::is_ascii_whitespace);
    let state = fields.find(|f| !f.is_empty())?;
    match state {
        [letter] if letter.is_ascii_alphabetic() => Some((comm, char::from(*letter))),
        _ => None,
    }
}

/// What a `syscall` file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syscall {
    /// `running`.
    Running,
    /// `-1 SP PC`: blocked outside a syscall.
    Outside,
    /// `NR ARG1 … ARG6 SP PC`.
    In { nr: i64, arg1: u64 },
}

/// Parses `/proc/PID/task/TID/syscall` as `proc_pid_syscall` prints it (`%d 0x%llx …`): the
/// exact field counts and hex arguments, anything else is not a syscall line.
fn parse_syscall(text: &[u8]) -> Option<Syscall> {
    let text = std::str::from_utf8(text).ok()?.trim_end();
    if text == "running" {
        return Some(Syscall::Running);
    }
    let mut fields = text.split(' ');
    let nr: i64 = fields.next()?.parse().ok()?;
    let mut args = [0u64; 8];
    let mut count = 0;
    for field in fields {
        let value = u64::from_str_radix(field.strip_prefix("0x")?, 16).ok()?;
        *args.get_mut(count)? = value;
        count += 1;
    }
    match (nr, count) {
        (..0, 2) => Some(Syscall::Outside),
        (0.., 8) => Some(Syscall::In { nr, arg1: args[0] }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
