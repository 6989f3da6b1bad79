//! The threads of processes this test may not trace, and of this very process.

use super::*;

/// Runs `f` on a thread whose credentials are `nobody`'s when this test runs as root (the
/// kernel keeps credentials per thread; the raw syscall changes only this one), or this
/// user's otherwise. Returns what `f` returned and the uid it ran as.
fn as_unprivileged<T: Send>(f: impl FnOnce() -> T + Send) -> (T, u32) {
    std::thread::scope(|s| {
        s.spawn(|| {
            if rustix::process::geteuid().is_root() {
                rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(65534))
                    .expect("root can drop this thread's uid");
            }
            (f(), rustix::process::geteuid().as_raw())
        })
        .join()
        .unwrap()
    })
}

#[test]
fn without_ptrace_access_states_and_names_are_still_read() {
    let tree = Tree::new();
    tree.process(50, "db", "/usr/bin/db");
    tree.thread(50, 50, "db", 'S', "0", &blocked(RECVFROM, 3));
    tree.thread(50, 51, "db-io", 'D', "0", &blocked(RECVFROM, 3));
    for tid in [50, 51] {
        let path = tree.root().join(format!("50/task/{tid}/syscall"));
        fs::set_permissions(path, fs::Permissions::from_mode(0o000)).unwrap();
    }
    let (read, _) = as_unprivileged(|| read_threads(tree.root(), 50, ThreadLimits::default()));
    assert_eq!(
        read.threads,
        vec![
            sample(50, "db", 'S', None, Wait::Unreadable),
            sample(51, "db-io", 'D', None, Wait::Unreadable),
        ]
    );
    assert_eq!(read.gap, Some(ThreadGap::NoAccess));
}

#[test]
fn another_users_process_shows_states_but_no_syscalls() {
    // pid 1 belongs to root; read it as nobody (as root) or as this user.
    let owner = fs::metadata("/proc/1").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    let (read, uid) =
        as_unprivileged(|| read_threads(Path::new("/proc"), 1, ThreadLimits::default()));
    match owner {
        Ok(owner) if owner != uid => {
            assert_eq!(read.gap, Some(ThreadGap::NoAccess));
            assert!(!read.threads.is_empty());
            for t in &read.threads {
                assert!(t.state.is_ascii_alphabetic(), "{t:?}");
                assert_eq!((&t.wchan, t.wait), (&None, Wait::Unreadable), "{t:?}");
            }
            assert_eq!(read.exe, None);
        }
        // pid 1 is hidden (hidepid) or this user's own (a user namespace).
        _ => assert!(read.gap == Some(ThreadGap::Gone) || read.gap.is_none()),
    }
}

#[test]
fn a_thread_of_this_process_blocked_in_recv_names_its_socket() {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let fd = server.as_raw_fd() as u32;
    let inode = fs::metadata(format!("/proc/self/fd/{fd}")).unwrap().ino();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        tx.send(rustix::thread::gettid().as_raw_nonzero().get() as u32)
            .unwrap();
        let mut buf = [0u8; 1];
        server.read(&mut buf).unwrap()
    });
    let tid = rx.recv().unwrap();
    // Wait until the kernel shows it blocked in its read (a thread scheduled away just
    // before the syscall shows `running`).
    let syscall_file = format!("/proc/self/task/{tid}/syscall");
    let deadline = Instant::now() + Duration::from_secs(5);
    let me = std::process::id();
    let thread = loop {
        let read = read_threads(Path::new("/proc"), me, ThreadLimits::default());
        let found = read.threads.iter().find(|t| t.tid == tid).cloned();
        // The wait channel reads 0 in the moment a sleeping thread is woken or scheduled.
        if let Some(t) = found.filter(|t| matches!(t.wait, Wait::Syscall { .. }))
            && t.state == 'S'
            && t.wchan.is_some()
        {
            break (t, read);
        }
        assert!(
            Instant::now() < deadline,
            "{syscall_file}: {:?}",
            fs::read_to_string(&syscall_file)
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let (t, read) = thread;
    // Its own process's syscalls are readable to any user (the same thread group passes the
    // ptrace check), and so are its wait channels.
    assert_eq!(t.wait, syscall(Call::Read, Some(fd), Some(inode)));
    assert!(t.wchan.is_some(), "{t:?}");
    assert_eq!(read.gap, None);
    assert_eq!(
        read.total as usize,
        read.threads.len() + read.vanished as usize
    );
    assert!(read.exe.is_some());
    client.write_all(b"x").unwrap();
    assert_eq!(reader.join().unwrap(), 1);
}
