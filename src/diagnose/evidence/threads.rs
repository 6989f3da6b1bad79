//! A holder's threads summed up by what they wait on: how many in recvfrom() on which peer, on
//! a futex, in an event loop, on a CPU. Which runtime the process looks like, where that hides
//! blocked work from the kernel.

use std::collections::HashMap;

use super::Connection;
use crate::model::Call;
use crate::report::{
    ProcessThreads, Runtime, ThreadGroup, ThreadSample, ThreadSummary, Wait, WaitKind,
};

/// How many names each group shows.
const NAMES: usize = 3;

/// What one thread waits on, and the connection when it is a socket of the dump.
fn kind_of<'a>(
    t: &ThreadSample,
    conns: &'a HashMap<u64, Connection>,
) -> (WaitKind, Option<&'a Connection>) {
    match t.state {
        'R' => return (WaitKind::Running, None),
        'D' => return (WaitKind::Disk, None),
        'T' | 't' | 'Z' | 'X' => return (WaitKind::Stopped, None),
        _ => {}
    }
    match t.wait {
        Wait::Running => (WaitKind::Running, None),
        Wait::NotInSyscall => (WaitKind::Other, None),
        Wait::Unreadable => (WaitKind::Unknown, None),
        Wait::Syscall { call, fd, socket } => {
            let conn = socket.and_then(|inode| conns.get(&inode));
            let kind = match call {
                Call::Read | Call::Write | Call::Accept | Call::Connect
                    if fd.is_some() && socket.is_none() =>
                {
                    WaitKind::OtherFd
                }
                Call::Read => WaitKind::Recv,
                Call::Write => WaitKind::Send,
                Call::Accept => WaitKind::Accept,
                Call::Connect => WaitKind::Connect,
                Call::Poll => WaitKind::EventLoop,
                Call::Futex => WaitKind::Lock,
                Call::Sleep => WaitKind::Sleep,
                Call::Signal => WaitKind::Signal,
                Call::Other(_) => WaitKind::Other,
            };
            (kind, conn)
        }
    }
}

/// The runtime the process looks like, from its executable and its threads' names.
fn runtime(p: &ProcessThreads) -> Option<Runtime> {
    let exe = p.exe.as_deref().unwrap_or("");
    if exe == "node" || exe == "nodejs" || exe.starts_with("node-") {
        return Some(Runtime::NodeJs);
    }
    // HotSpot and OpenJ9 name their service threads.
    let jvm_thread = |name: &str| {
        name == "VM Thread"
            || name.starts_with("C1 CompilerThre")
            || name.starts_with("C2 CompilerThre")
            || name.starts_with("GC Thread#")
            || name == "Signal Dispatch"
    };
    if exe == "java" || p.threads.iter().any(|t| jvm_thread(&t.comm)) {
        return Some(Runtime::Jvm);
    }
    None
}

/// The threads of `p`, grouped by what they wait on (and on which peer), largest group first.
pub fn summarize(p: &ProcessThreads, conns: &HashMap<u64, Connection>, go: bool) -> ThreadSummary {
    let mut groups: Vec<ThreadGroup> = Vec::new();
    for t in &p.threads {
        let (wait, conn) = kind_of(t, conns);
        let peer = conn.map(|c| match wait {
            // A listener's "peer" is itself: name it by its local address.
            WaitKind::Accept => c.local,
            _ => c.peer,
        });
        let at = groups.iter().position(|g| g.wait == wait && g.peer == peer);
        let group = match at {
            Some(i) => &mut groups[i],
            None => {
                groups.push(ThreadGroup {
                    wait,
                    threads: 0,
                    peer,
                    peer_state: conn.map(|c| c.state),
                    names: Vec::new(),
                });
                let last = groups.len() - 1;
                &mut groups[last]
            }
        };
        group.threads += 1;
        if group.names.len() < NAMES && !group.names.contains(&t.comm) {
            group.names.push(t.comm.clone());
        }
    }
    groups.sort_by(|a, b| b.threads.cmp(&a.threads).then(a.wait.cmp(&b.wait)));
    ThreadSummary {
        pid: p.pid,
        comm: p.comm.clone(),
        total: p.total,
        read: u32::try_from(p.threads.len()).unwrap_or(u32::MAX),
        groups,
        runtime: if go { Some(Runtime::Go) } else { runtime(p) },
        gap: p.gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TcpInfo, TcpState};

    pub(crate) fn thread(tid: u32, state: char, wait: Wait) -> ThreadSample {
        ThreadSample {
            tid,
            comm: format!("worker-{tid}"),
            state,
            wchan: None,
            wait,
        }
    }

    fn recv(inode: u64) -> Wait {
        Wait::Syscall {
            call: Call::Read,
            fd: Some(3),
            socket: Some(inode),
        }
    }

    #[test]
    fn threads_group_by_what_and_whom_they_wait_on() {
        let db: std::net::SocketAddr = "127.0.0.9:5432".parse().unwrap();
        let mut conns = HashMap::new();
        for inode in 1..=8 {
            conns.insert(
                inode,
                Connection {
                    local: "127.0.0.1:40000".parse().unwrap(),
                    peer: db,
                    state: TcpState::Established,
                    info: Some(TcpInfo::default()),
                },
            );
        }
        let mut threads: Vec<ThreadSample> =
            (1..=8).map(|i| thread(i as u32, 'S', recv(i))).collect();
        threads.push(thread(
            9,
            'S',
            Wait::Syscall {
                call: Call::Futex,
                fd: None,
                socket: None,
            },
        ));
        threads.push(thread(10, 'R', Wait::Running));
        let p = ProcessThreads {
            pid: 1234,
            comm: "orderapi".into(),
            total: 10,
            threads,
            ..ProcessThreads::default()
        };
        let s = summarize(&p, &conns, false);
        assert_eq!((s.total, s.read), (10, 10));
        assert_eq!(s.groups[0].wait, WaitKind::Recv);
        assert_eq!((s.groups[0].threads, s.groups[0].peer), (8, Some(db)));
        assert_eq!(s.groups[0].names.len(), NAMES);
        let rest: Vec<(WaitKind, u32)> =
            s.groups[1..].iter().map(|g| (g.wait, g.threads)).collect();
        assert_eq!(rest, vec![(WaitKind::Running, 1), (WaitKind::Lock, 1)]);
        assert_eq!(s.runtime, None);
    }

    #[test]
    fn a_read_on_something_else_than_a_socket_is_not_a_peer() {
        let t = thread(
            1,
            'S',
            Wait::Syscall {
                call: Call::Read,
                fd: Some(0),
                socket: None,
            },
        );
        assert_eq!(kind_of(&t, &HashMap::new()).0, WaitKind::OtherFd);
        let t = thread(2, 'D', recv(5));
        assert_eq!(kind_of(&t, &HashMap::new()).0, WaitKind::Disk);
    }

    #[test]
    fn runtimes_are_named_from_the_executable_and_the_thread_names() {
        let mut p = ProcessThreads {
            exe: Some("node".into()),
            ..ProcessThreads::default()
        };
        assert_eq!(runtime(&p), Some(Runtime::NodeJs));
        p.exe = Some("app".into());
        p.threads = vec![ThreadSample {
            comm: "C2 CompilerThre".into(),
            ..thread(1, 'S', Wait::Running)
        }];
        assert_eq!(runtime(&p), Some(Runtime::Jvm));
        p.threads.clear();
        assert_eq!(runtime(&p), None);
        assert_eq!(
            summarize(&p, &HashMap::new(), true).runtime,
            Some(Runtime::Go)
        );
    }
}
