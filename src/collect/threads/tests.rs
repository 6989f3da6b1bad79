use super::*;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;

/// Syscall numbers of the architecture under test: `Call::of` reads the native table.
const ARM: bool = cfg!(target_arch = "aarch64");
const RECVFROM: i64 = if ARM { 207 } else { 45 };
const WRITE: i64 = if ARM { 64 } else { 1 };
const ACCEPT4: i64 = if ARM { 242 } else { 288 };
const FUTEX: i64 = if ARM { 98 } else { 202 };
const EPOLL: i64 = if ARM { 22 } else { 232 };
const CLOCK_NANOSLEEP: i64 = if ARM { 115 } else { 230 };

/// A `/proc` shaped tree in a temp dir.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        // Traversable by anyone: the no-access test reads it as another user.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Tree { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn process(&self, pid: u32, comm: &str, exe: &str) -> PathBuf {
        let p = self.root().join(pid.to_string());
        fs::create_dir_all(p.join("task")).unwrap();
        fs::create_dir_all(p.join("fd")).unwrap();
        fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
        symlink(exe, p.join("exe")).unwrap();
        p
    }

    /// A thread as the kernel shows it: `stat` with the name in parentheses (its `comm` file
    /// says the same and is not read), `wchan` without a newline, `syscall` with one.
    fn thread(&self, pid: u32, tid: u32, comm: &str, state: char, wchan: &str, syscall: &str) {
        let t = self.root().join(format!("{pid}/task/{tid}"));
        fs::create_dir_all(&t).unwrap();
        fs::write(
            t.join("stat"),
            format!("{tid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194368 1074 0 0 0 1 0 0 0 20 0 9 0 123456 8622080\n"),
        )
        .unwrap();
        fs::write(t.join("wchan"), wchan).unwrap();
        fs::write(t.join("syscall"), format!("{syscall}\n")).unwrap();
    }

    fn fd(&self, pid: u32, fd: u32, target: &str) {
        symlink(target, self.root().join(format!("{pid}/fd/{fd}"))).unwrap();
    }
}

/// `NR a1 … a6 sp pc`, as `proc_pid_syscall` prints it.
fn blocked(nr: i64, a1: u64) -> String {
    format!("{nr} {a1:#x} 0x7f514c84ed20 0xa 0x0 0x0 0x0 0x7ffd5e1c9b18 0x7f515d1b0c2e")
}

fn sample(tid: u32, comm: &str, state: char, wchan: Option<&str>, wait: Wait) -> ThreadSample {
    ThreadSample {
        tid,
        comm: comm.into(),
        state,
        wchan: wchan.map(str::to_string),
        wait,
    }
}

fn syscall(call: Call, fd: Option<u32>, socket: Option<u64>) -> Wait {
    Wait::Syscall { call, fd, socket }
}

/// A python server: an event loop, a worker in recvfrom on a socket, one on a lock, one
/// running, one asleep with a hostile name, one in a page fault, one writing to a pipe, two
/// accepting on one listener, one with a garbled syscall file, one that exited mid-read.
fn orderapi(tree: &Tree) {
    tree.process(4242, "orderapi", "/usr/bin/python3.11");
    let t = |tid, comm, state, wchan, syscall: String| {
        tree.thread(4242, tid, comm, state, wchan, &syscall)
    };
    t(4242, "orderapi", 'S', "do_epoll_wait", blocked(EPOLL, 3));
    t(4243, "worker-1", 'S', "sk_wait_data", blocked(RECVFROM, 3));
    t(
        4244,
        "worker-2",
        'S',
        "futex_do_wait",
        blocked(FUTEX, 0x556b2dbd3f60),
    );
    t(4245, "busy", 'R', "0", "running".into());
    t(
        4246,
        "a) (b",
        'S',
        "hrtimer_nanosleep",
        blocked(CLOCK_NANOSLEEP, 1),
    );
    t(
        4247,
        "faulting",
        'D',
        "0",
        "-1 0x7ffd5e1c9b18 0x7f515d1b0c2e".into(),
    );
    t(4248, "logger", 'S', "pipe_write", blocked(WRITE, 7));
    t(
        4249,
        "acceptor-1",
        'S',
        "inet_csk_accept",
        blocked(ACCEPT4, 5),
    );
    t(
        4250,
        "acceptor-2",
        'S',
        "inet_csk_accept",
        blocked(ACCEPT4, 5),
    );
    t(4251, "garbled", 'S', "0", "45 banana".into());
    // Exited between the listing and the read: its directory is empty.
    fs::create_dir_all(tree.root().join("4242/task/4252")).unwrap();
    // Not threads: a name that is not a canonical number.
    fs::create_dir_all(tree.root().join("4242/task/04243")).unwrap();
    fs::create_dir_all(tree.root().join("4242/task/x")).unwrap();
    tree.fd(4242, 3, "socket:[4242]");
    tree.fd(4242, 5, "socket:[777]");
    tree.fd(4242, 7, "pipe:[99]");
}

#[test]
fn every_thread_of_a_fixture_process_is_read() {
    let tree = Tree::new();
    orderapi(&tree);
    let read = read_threads(tree.root(), 4242, ThreadLimits::default());
    let expected = vec![
        sample(
            4242,
            "orderapi",
            'S',
            Some("do_epoll_wait"),
            syscall(Call::Poll, None, None),
        ),
        sample(
            4243,
            "worker-1",
            'S',
            Some("sk_wait_data"),
            syscall(Call::Read, Some(3), Some(4242)),
        ),
        sample(
            4244,
            "worker-2",
            'S',
            Some("futex_do_wait"),
            syscall(Call::Futex, None, None),
        ),
        sample(4245, "busy", 'R', None, Wait::Running),
        sample(
            4246,
            "a) (b",
            'S',
            Some("hrtimer_nanosleep"),
            syscall(Call::Sleep, None, None),
        ),
        sample(4247, "faulting", 'D', None, Wait::NotInSyscall),
        sample(
            4248,
            "logger",
            'S',
            Some("pipe_write"),
            syscall(Call::Write, Some(7), None),
        ),
        sample(
            4249,
            "acceptor-1",
            'S',
            Some("inet_csk_accept"),
            syscall(Call::Accept, Some(5), Some(777)),
        ),
        sample(
            4250,
            "acceptor-2",
            'S',
            Some("inet_csk_accept"),
            syscall(Call::Accept, Some(5), Some(777)),
        ),
        sample(4251, "garbled", 'S', None, Wait::Unreadable),
    ];
    assert_eq!(read.threads, expected);
    assert_eq!(
        (read.pid, read.comm.as_str(), read.exe.as_deref()),
        (4242, "orderapi", Some("python3.11"))
    );
    assert_eq!((read.total, read.vanished, read.gap), (11, 1, None));
}

#[test]
fn a_thread_that_exits_between_its_files_is_vanished_not_half_read() {
    let tree = Tree::new();
    tree.process(7, "svc", "/usr/sbin/svc (deleted)");
    tree.thread(7, 7, "svc", 'S', "0", &blocked(FUTEX, 1));
    tree.thread(7, 8, "svc", 'S', "0", &blocked(FUTEX, 1));
    tree.thread(7, 9, "svc", 'S', "0", &blocked(FUTEX, 1));
    fs::remove_file(tree.root().join("7/task/8/syscall")).unwrap();
    fs::remove_file(tree.root().join("7/task/9/wchan")).unwrap();
    let read = read_threads(tree.root(), 7, ThreadLimits::default());
    let tids: Vec<u32> = read.threads.iter().map(|t| t.tid).collect();
    assert_eq!((tids, read.total, read.vanished), (vec![7], 3, 2));
    // A deleted executable keeps its name.
    assert_eq!(read.exe.as_deref(), Some("svc"));
}

#[test]
fn hostile_files_are_refused_not_followed() {
    let tree = Tree::new();
    tree.process(9, "x", "/bin/x");
    tree.thread(9, 9, "x", 'S', "0", &blocked(RECVFROM, 3));
    let t = tree.root().join("9/task/9");
    // A syscall link to a file elsewhere, a FIFO for a wchan (open() would block on it), a
    // stat larger than any real one, and a thread directory that is a symlink.
    fs::remove_file(t.join("syscall")).unwrap();
    fs::write(tree.root().join("elsewhere"), blocked(RECVFROM, 3)).unwrap();
    symlink(tree.root().join("elsewhere"), t.join("syscall")).unwrap();
    fs::remove_file(t.join("wchan")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        t.join("wchan"),
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    fs::write(t.join("stat"), vec![b'9'; FILE_LIMIT + 1]).unwrap();
    symlink(&t, tree.root().join("9/task/10")).unwrap();
    let read = read_threads(tree.root(), 9, ThreadLimits::default());
    assert_eq!(
        read.threads,
        vec![
            sample(9, "", '?', None, Wait::Unreadable),
            sample(10, "", '?', None, Wait::Unreadable),
        ]
    );
    assert_eq!((read.vanished, read.gap), (0, None));
}

#[test]
fn the_bound_reads_the_first_threads_by_tid() {
    let tree = Tree::new();
    tree.process(100, "pool", "/usr/bin/java");
    for tid in [100, 130, 101, 120, 110] {
        tree.thread(100, tid, "pool", 'S', "futex_do_wait", &blocked(FUTEX, 1));
    }
    let limits = ThreadLimits {
        max_threads: 3,
        ..ThreadLimits::default()
    };
    let read = read_threads(tree.root(), 100, limits);
    let tids: Vec<u32> = read.threads.iter().map(|t| t.tid).collect();
    assert_eq!(tids, vec![100, 101, 110]);
    assert_eq!(read.total, 5);
    assert_eq!(read.gap, Some(ThreadGap::Bounded { read: 3 }));

    let none = ThreadLimits {
        budget: Duration::ZERO,
        ..ThreadLimits::default()
    };
    let read = read_threads(tree.root(), 100, none);
    assert!(read.threads.is_empty());
    assert_eq!((read.total, read.comm.as_str()), (5, "pool"));
    assert_eq!(read.gap, Some(ThreadGap::TimedOut { read: 0 }));
}

#[test]
fn a_missing_process_is_gone() {
    let tree = Tree::new();
    let read = read_threads(tree.root(), 31337, ThreadLimits::default());
    assert_eq!(
        read,
        ProcessThreads {
            pid: 31337,
            gap: Some(ThreadGap::Gone),
            ..ProcessThreads::default()
        }
    );
    // A process directory without a task directory (a saved copy cut short).
    fs::create_dir_all(tree.root().join("5")).unwrap();
    fs::write(tree.root().join("5/comm"), "five\n").unwrap();
    let read = read_threads(tree.root(), 5, ThreadLimits::default());
    assert_eq!(
        (read.comm.as_str(), read.gap),
        ("five", Some(ThreadGap::Gone))
    );
}

#[test]
fn parsers_take_the_kernel_lines_and_nothing_else() {
    // /proc/PID/task/TID/stat of a Python thread on Linux 6.18, cut after field 7.
    assert_eq!(
        parse_stat(b"6538 (python3) S 6490 6490 6490 34816"),
        Some((&b"python3"[..], 'S'))
    );
    assert_eq!(
        parse_stat(b"1 (a) R (b) ) Z 0 0"),
        Some((&b"a) R (b) "[..], 'Z'))
    );
    for bad in [
        &b""[..],
        b"1 (x)",
        b"1 (x) 5 1",
        b"1 (x) SS 1",
        b")(",
        b"1 x) S",
    ] {
        assert_eq!(parse_stat(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
    // /proc/PID/task/TID/syscall of threads blocked in recvfrom, outside a syscall, running.
    assert_eq!(
        parse_syscall(b"45 0x3 0x7f514c84ed20 0xa 0x0 0x0 0x0 0x7f514c84ec98 0x7f515d2f1b4e\n"),
        Some(Syscall::In { nr: 45, arg1: 3 })
    );
    assert_eq!(
        parse_syscall(b"-1 0x7ffd5e1c9b18 0x7f515d1b0c2e\n"),
        Some(Syscall::Outside)
    );
    assert_eq!(parse_syscall(b"running\n"), Some(Syscall::Running));
    for bad in [
        &b""[..],
        b"45",
        b"45 0x3",
        b"45 3 0x0 0x0 0x0 0x0 0x0 0x0 0x0",
        b"45 0x3 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0",
        b"-1 0x0 0x0 0x0",
        b"x 0x0 0x0",
        b"45 0xzz 0x0 0x0 0x0 0x0 0x0 0x0 0x0",
        b"\xff\xfe",
    ] {
        assert_eq!(
            parse_syscall(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(wait_channel(b"0"), None);
    assert_eq!(wait_channel(b""), None);
    assert_eq!(
        wait_channel(b"futex_do_wait").as_deref(),
        Some("futex_do_wait")
    );
}

#[test]
fn a_negative_or_huge_fd_argument_is_no_fd() {
    let tree = Tree::new();
    tree.process(3, "x", "/bin/x");
    tree.thread(3, 3, "x", 'S', "0", &blocked(RECVFROM, u64::MAX));
    tree.thread(3, 4, "x", 'S', "0", &blocked(RECVFROM, 1 << 31));
    let read = read_threads(tree.root(), 3, ThreadLimits::default());
    for t in &read.threads {
        assert_eq!(t.wait, syscall(Call::Read, None, None), "{}", t.tid);
    }
}

#[path = "tests_access.rs"]
mod access;
