//! What the kernel shows behind a finding, read in the same run: how old the stuck sockets
//! are (tcp_info), what the holders' threads wait on (`/proc/PID/task`), how the peers they wait
//! for behave. Data only: `collect` reads the raw samples, `diagnose` sums them up and ranks
//! causes by them, `render` words them.

use crate::model::Call;

/// One thread as `/proc/PID/task/TID/{stat,comm,wchan,syscall}` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSample {
    pub tid: u32,
    /// The thread's name (Java and Python name their threads; cut at 15 bytes by the kernel),
    /// as `stat` gives it (the same text as its `comm` file). Untrusted: escape before printing.
    pub comm: String,
    /// `stat` field 3: `R` running, `S` sleeping, `D` uninterruptible, `T` stopped, `Z`…;
    /// `?` when `stat` could not be read or parsed (the name is then empty).
    pub state: char,
    /// The kernel function it sleeps in (`futex_do_wait`, `sk_wait_data`…); `None` when it runs
    /// or when the kernel shows `0` (no ptrace access to the process).
    pub wchan: Option<String>,
    pub wait: Wait,
}

/// What a thread's `syscall` file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `running`: on a CPU.
    Running,
    /// Blocked in a syscall; for one that names a file descriptor, the fd and, when that fd
    /// is a socket, its inode (`/proc/PID/fd/N` → `socket:[INODE]`).
    Syscall {
        call: Call,
        fd: Option<u32>,
        socket: Option<u64>,
    },
    /// Blocked outside any syscall (`-1 sp pc`): a page fault, the scheduler.
    NotInSyscall,
    /// The file could not be read (another user's process without ptrace access: the
    /// process's gap says so), or did not read as a syscall line.
    Unreadable,
}

/// The threads of one process, as far as they could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessThreads {
    pub pid: u32,
    /// The process's name. Untrusted: escape before printing.
    pub comm: String,
    /// Threads in `/proc/PID/task`.
    pub total: u32,
    /// The threads read (at most the bound, in tid order).
    pub threads: Vec<ThreadSample>,
    /// Threads that exited while being read.
    pub vanished: u32,
    /// Why the rest could not be read: the bound on threads, the time budget, or permission.
    pub gap: Option<ThreadGap>,
    /// The process's executable's file name (`java`, `node`, `python3.11`), a hint at the
    /// runtime; `None` when unreadable.
    pub exe: Option<String>,
}

/// Why not every thread, or not every fact of a thread, was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadGap {
    /// More threads than the bound: the first ones by tid were read.
    Bounded { read: u32 },
    /// The time budget ran out.
    TimedOut { read: u32 },
    /// The wait channels and syscalls need root, or ptrace access to the process (Yama's
    /// `ptrace_scope`, another user's process).
    NoAccess,
    /// The process exited, or `/proc` hides it (`hidepid`).
    Gone,
}
