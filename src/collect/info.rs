//! `tcp_info` for the sockets a finding is about: a second sock_diag dump of the namespace the
//! count read, asking the kernel for `INET_DIAG_INFO` and for only the states the evidence
//! needs, so the count's own dump stays at its floor. The `/proc` tables carry no `tcp_info`:
//! a source that reads them says so instead of falling back.

use super::{Source, clock_ticks, injected, netlink, open};
use crate::error::{Cause, Error};
use crate::model::{Family, Socket, StateSet, TcpInfo};

/// What [`for_each_socket_info`] read.
#[derive(Debug)]
pub enum InfoRead {
    /// sock_diag dumped the states asked for: `sockets` went to the caller, `with_info` of them
    /// with a `tcp_info` (TIME_WAIT and request mini-sockets carry none).
    Dumped { sockets: u64, with_info: u64 },
    /// No `tcp_info` could be read, and nothing went to the caller: why.
    Unavailable(NoInfo),
}

/// Why no `tcp_info` was read.
#[derive(Debug)]
pub enum NoInfo {
    /// The source reads the `/proc` tables (`--source proc`, `--proc-root`, a `--pid` whose
    /// namespace link cannot be read), and they carry no `tcp_info`.
    ProcTables,
    /// The sock_diag socket could not be opened: netlink unavailable, or entering the
    /// namespace (the sweep's, or `--pid`'s) was refused (`setns` needs `CAP_SYS_ADMIN`).
    NoSocket(std::io::Error),
    /// The kernel refused the dump before it sent a socket (a seccomp profile, an LSM).
    Refused(std::io::Error),
}

impl std::fmt::Display for NoInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoInfo::ProcTables => f.write_str("the /proc tables carry no tcp_info"),
            NoInfo::NoSocket(e) => write!(f, "no sock_diag socket ({})", Cause(e)),
            NoInfo::Refused(e) => write!(f, "the sock_diag dump was refused ({})", Cause(e)),
        }
    }
}

/// Streams the sockets in `states` of the families `wants` asks for, each with its
/// `tcp_info` (`INET_DIAG_INFO`), to `each`: a second sock_diag dump of the same namespace as
/// [`super::for_each_socket`] (this process's, `--pid`'s, or the one a sweep enters, opened again
/// when the first pass closed its socket), filtered in the kernel to `states` (the source's
/// own state filter is not used). It never falls back to `/proc`: a source that reads the
/// tables, or a socket or dump refused before any socket was handed on, is
/// [`InfoRead::Unavailable`]; a dump that fails after that is an error.
pub fn for_each_socket_info(
    source: &Source,
    wants: impl Fn(Family) -> bool,
    states: StateSet,
    mut each: impl FnMut(&Socket, Option<&TcpInfo>),
) -> Result<InfoRead, Error> {
    let target = source.target();
    if !source
        .wants_netlink(target.as_ref())
        .map_err(Error::Usage)?
    {
        return Ok(InfoRead::Unavailable(NoInfo::ProcTables));
    }
    // Counted inside the callback, read between the dumps: cells.
    let sockets = std::cell::Cell::new(0u64);
    let with_info = std::cell::Cell::new(0u64);
    if !states.is_empty() {
        let fd = match open(target.as_ref()) {
            Ok(fd) => fd,
            Err(e) => return Ok(InfoRead::Unavailable(NoInfo::NoSocket(e))),
        };
        let mask = states.sock_diag_mask();
        let mut each = |s: &Socket, info: Option<&TcpInfo>| {
            sockets.set(sockets.get() + 1);
            with_info.set(with_info.get() + u64::from(info.is_some()));
            each(s, info)
        };
        let families: Vec<Family> = Family::ALL.into_iter().filter(|&f| wants(f)).collect();
        // Both families in one walk of the kernel's hash; per family where that is refused.
        if families.len() == 2 && !injected("netlink-dump") {
            match netlink::dump_info_both(&fd, mask, clock_ticks(), &mut each) {
                Ok(_) => {
                    return Ok(InfoRead::Dumped {
                        sockets: sockets.get(),
                        with_info: with_info.get(),
                    });
                }
                Err(e) if sockets.get() > 0 => return Err(Error::Netlink(e)),
                Err(_) => {}
            }
        }
        for family in families {
            let result = if injected("netlink-dump") {
                Err(rustix::io::Errno::PERM.into())
            } else {
                netlink::dump_info(&fd, family, mask, clock_ticks(), &mut each)
            };
            match result {
                Ok(_) => {}
                Err(e) if sockets.get() == 0 => {
                    return Ok(InfoRead::Unavailable(NoInfo::Refused(e)));
                }
                Err(e) => return Err(Error::Netlink(e)),
            }
        }
    }
    Ok(InfoRead::Dumped {
        sockets: sockets.get(),
        with_info: with_info.get(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::SourceKind;
    use crate::collect::netns::Namespace;
    use crate::model::{SocketKind, TcpState};
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn here() -> Source {
        Source::new("/proc", None, SourceKind::Auto)
    }

    #[test]
    fn the_proc_tables_carry_no_tcp_info() {
        let dir = tempfile::tempdir().unwrap();
        for source in [
            Source::new("/proc", None, SourceKind::Proc),
            Source::new(dir.path(), None, SourceKind::Auto),
        ] {
            let mut called = false;
            let read = for_each_socket_info(&source, |_| true, StateSet::ALL, |_, _| called = true);
            let read = read.unwrap();
            assert!(
                matches!(read, InfoRead::Unavailable(NoInfo::ProcTables)),
                "{read:?}"
            );
            assert!(!called);
        }
        assert_eq!(
            NoInfo::ProcTables.to_string(),
            "the /proc tables carry no tcp_info"
        );
        // --source netlink with a copy of /proc is the usage error the count gives too.
        let copy = Source::new(dir.path(), None, SourceKind::Netlink);
        assert!(matches!(
            for_each_socket_info(&copy, |_| true, StateSet::ALL, |_, _| {}),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn no_states_asks_the_kernel_nothing() {
        let read = for_each_socket_info(&here(), |_| true, StateSet::of(&[]), |_, _| {});
        assert!(matches!(
            read,
            Ok(InfoRead::Dumped {
                sockets: 0,
                with_info: 0,
                ..
            })
        ));
    }

    #[test]
    fn a_close_wait_socket_is_dated_by_the_peers_fin() {
        if crate::collect::netlink::open().is_err() {
            println!("skipped: netlink sock_diag is not available here");
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let (here_addr, peer) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
        server.write_all(b"hello").unwrap();
        client.read_exact(&mut [0u8; 5]).unwrap();
        client.write_all(b"request").unwrap();
        server.read_exact(&mut [0u8; 7]).unwrap();
        drop(client);
        // The FIN arrives at once on loopback; wait until the server's read sees it.
        assert_eq!(server.read(&mut [0u8; 1]).unwrap(), 0);
        let closed = Instant::now();
        std::thread::sleep(Duration::from_millis(1500));

        let mut found = None;
        let mut other_states = 0;
        let read = for_each_socket_info(
            &here(),
            |f| f == Family::Ipv4,
            StateSet::one(TcpState::CloseWait),
            |s, info| {
                other_states += u32::from(s.state != TcpState::CloseWait);
                if (s.local, s.remote) == (here_addr, peer) {
                    found = Some((*s, info.copied()));
                }
            },
        );
        let age = closed.elapsed().as_millis() as i64;
        let read = read.unwrap();
        let InfoRead::Dumped { sockets, with_info } = read else {
            panic!("{read:?}");
        };
        assert!(sockets >= 1 && with_info >= 1, "{read:?}");
        assert_eq!(other_states, 0, "the kernel filtered the states");
        let (socket, info) = found.expect("our CLOSE_WAIT socket");
        assert_eq!(socket.state, TcpState::CloseWait);
        let info = info.expect("a full socket carries tcp_info");
        let last = i64::from(info.last_ack_recv_ms);
        assert!((last - age).abs() <= 500, "age {age} ms, tcp_info {info:?}");
        // Nothing outstanding; a loopback round trip measured; the request's 7 bytes in.
        assert_eq!(info.unacked, 0, "{info:?}");
        assert!(info.rtt_us > 0 && info.rtt_us < 1_000_000, "{info:?}");
        assert!(info.last_data_recv_ms as i64 >= last - 10, "{info:?}");
        assert!(
            matches!(info.bytes_received, Some(7 | 8)),
            "the request and the FIN: {info:?}"
        );
        assert_eq!(info.bytes_acked.map(|b| b >= 5), Some(true), "{info:?}");
    }

    #[test]
    fn mini_sockets_carry_no_tcp_info_and_full_ones_do() {
        if crate::collect::netlink::open().is_err() {
            println!("skipped: netlink sock_diag is not available here");
            return;
        }
        // The side that closes first is left with a TIME_WAIT mini-socket: here the server.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let key = (listener.local_addr().unwrap(), client.local_addr().unwrap());
        let (server, _) = listener.accept().unwrap();
        drop(server);
        assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0);
        drop(client);
        // The last ACK may be delayed: dump again until the server's side is a mini-socket.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let (mut full, mut mini, mut ours) = (0, 0, None);
            let read = for_each_socket_info(
                &here(),
                |_| true,
                StateSet::ALL,
                |s, info| {
                    match s.kind {
                        SocketKind::Full => assert!(info.is_some(), "{s:?}"),
                        SocketKind::TimeWait | SocketKind::Request => {
                            assert!(info.is_none(), "{s:?}")
                        }
                    }
                    if s.kind == SocketKind::Full {
                        full += 1;
                    } else {
                        mini += 1;
                    }
                    if (s.local, s.remote) == key {
                        ours = Some(s.kind);
                    }
                },
            )
            .unwrap();
            let InfoRead::Dumped {
                sockets, with_info, ..
            } = read
            else {
                panic!("{read:?}");
            };
            assert_eq!((sockets, with_info), (full + mini, full));
            if ours == Some(SocketKind::TimeWait) {
                break;
            }
            assert!(Instant::now() < deadline, "our socket: {ours:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_namespace_is_entered_again_after_the_count_closed_its_socket() {
        // As the sweep leaves it after the first pass: a target, its socket closed.
        let ns = Namespace::from_file(Path::new("/proc/self/ns/net")).unwrap();
        let mut source = here().in_namespace(&ns);
        source.set_socket(None);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut seen = false;
        let read = for_each_socket_info(
            &source,
            |_| true,
            StateSet::one(TcpState::Listen),
            |s, info| seen |= s.local.port() == port && info.is_some(),
        )
        .unwrap();
        match read {
            InfoRead::Dumped { .. } => assert!(seen),
            // setns needs CAP_SYS_ADMIN, even into one's own namespace.
            InfoRead::Unavailable(NoInfo::NoSocket(e)) => {
                assert!(!rustix::process::geteuid().is_root(), "{e}");
                assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
            }
            other => panic!("{other:?}"),
        }
    }
}
