//! Clients that try to hold `sockscope serve` (issue 23): a request head or a TLS handshake sent
//! a byte at a time, garbage and then a trickle after the answer, more of them than there are
//! slots, and a SIGTERM while they trickle. Real sockets on loopback against the real binary,
//! with short timeouts passed in.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::serve::{Server, tls_client, tls_web_config};

/// A byte every TRICKLE: more often than any idle timeout a server may set per read.
const TRICKLE: Duration = Duration::from_millis(100);
/// Far above the deadlines these tests pass: a client still held then is held for good.
const BOUND: Duration = Duration::from_secs(8);

/// How a slow client opens before it trickles.
#[derive(Clone, Copy, Debug)]
enum Opening {
    /// Not HTTP: answered 400 at once, then the server lingers on what follows.
    Garbage,
    /// The start of a request head that never ends.
    Head,
    /// A TLS record header announcing 16 KiB, whose body never ends.
    TlsRecord,
}

impl Opening {
    fn bytes(self) -> &'static [u8] {
        match self {
            Opening::Garbage => b"GARBAGE\r\n\r\n",
            Opening::Head => b"GET /metrics HTTP/1.1\r\nX-Slow: ",
            Opening::TlsRecord => b"\x16\x03\x01\x40\x00",
        }
    }
}

/// Opens with `opening`, then writes a byte every TRICKLE until a write fails (the server hung
/// up), `stop` is set or BOUND has passed. How long the server held it; None if it still does.
fn trickle(addr: SocketAddr, opening: Opening, stop: &AtomicBool) -> Option<Duration> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    if s.write_all(opening.bytes()).is_err() {
        return Some(started.elapsed());
    }
    while !stop.load(Ordering::SeqCst) && started.elapsed() < BOUND {
        std::thread::sleep(TRICKLE);
        // The first byte after the server's close draws a reset; the next one fails.
        if s.write_all(b"a").is_err() {
            return Some(started.elapsed());
        }
    }
    None
}

/// The status of an HTTP response, 0 for anything else.
fn status(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// One GET with a short bound of its own; its status, or 0 when no answer came.
fn probe(addr: SocketAddr, path: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    status(&response)
}

/// The same over TLS, trusting the certificate made in `dir`.
fn tls_probe(addr: SocketAddr, dir: &Path, path: &str) -> u16 {
    let Ok(tcp) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return 0;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
    let mut tls = rustls::StreamOwned::new(tls_client(dir), tcp);
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    if tls.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response);
    status(&response)
}

/// The attack, one client: `GARBAGE\r\n\r\n`, then a byte every 0.4 s held a slot for
/// hours (the linger read 64 KiB at 500 ms per read). Now the connection's one deadline,
/// --read-timeout + --write-timeout, ends it.
#[test]
fn garbage_then_a_trickle_is_cut_at_the_deadline() {
    let server = Server::start(&["--read-timeout", "300ms", "--write-timeout", "300ms"]);
    let held = trickle(server.addr, Opening::Garbage, &AtomicBool::new(false));
    let held = held.expect("still held past every deadline");
    assert!(held < Duration::from_secs(3), "held for {held:?}");
}

/// Inside one read(), rustls read until its record was complete, and every byte re-armed the
/// socket's timeout: a handshake record trickled a byte at a time was never cut.
#[test]
fn a_tls_handshake_trickled_a_byte_at_a_time_is_cut_at_the_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let Some(web) = tls_web_config(dir.path()) else {
        return;
    };
    let server = Server::start(&[
        "--web-config",
        web.to_str().unwrap(),
        "--read-timeout",
        "300ms",
        "--write-timeout",
        "300ms",
    ]);
    let held = trickle(server.addr, Opening::TlsRecord, &AtomicBool::new(false));
    let held = held.expect("still held past every deadline");
    assert!(held < Duration::from_secs(3), "held for {held:?}");
}

/// The 66 slow clients against 64 slots, scaled down: 12 against 4. They hold no slot
/// a scrape needs: /healthz and /metrics are answered every time.
#[test]
fn slow_clients_outnumbering_the_slots_leave_healthz_and_metrics_answered() {
    let server = Server::start(&[
        "--max-connections",
        "4",
        "--read-timeout",
        "5s",
        "--write-timeout",
        "2s",
    ]);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..12)
            .map(|i| {
                let opening = if i % 2 == 0 {
                    Opening::Garbage
                } else {
                    Opening::Head
                };
                let stop = &stop;
                s.spawn(move || trickle(server.addr, opening, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let healthz: Vec<u16> = (0..20).map(|_| probe(server.addr, "/healthz")).collect();
        let metrics = probe(server.addr, "/metrics");
        stop.store(true, Ordering::SeqCst);
        let cut: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
        assert!(healthz.iter().all(|&s| s == 200), "{healthz:?}");
        assert_eq!(metrics, 200);
        // Still trickling when told to stop: the probes came while every one was held.
        assert!(cut.iter().all(Option::is_none), "{cut:?}");
    });
}

/// The same with TLS handshakes trickled a byte at a time: the handshakes hold no slot.
#[test]
fn slow_tls_handshakes_outnumbering_the_slots_leave_healthz_answered() {
    let dir = tempfile::tempdir().unwrap();
    let Some(web) = tls_web_config(dir.path()) else {
        return;
    };
    let server = Server::start(&[
        "--web-config",
        web.to_str().unwrap(),
        "--max-connections",
        "2",
        "--read-timeout",
        "5s",
        "--write-timeout",
        "2s",
    ]);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let stop = &stop;
                s.spawn(move || trickle(server.addr, Opening::TlsRecord, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let healthz: Vec<u16> = (0..5)
            .map(|_| tls_probe(server.addr, dir.path(), "/healthz"))
            .collect();
        stop.store(true, Ordering::SeqCst);
        let cut: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
        assert!(healthz.iter().all(|&s| s == 200), "{healthz:?}");
        assert!(cut.iter().all(Option::is_none), "{cut:?}");
    });
}

/// SIGTERM while slow clients trickle: serve stops at once, without waiting out their
/// deadlines (30 s here) or, as it did, the hours a trickle after the answer could last.
#[test]
fn sigterm_does_not_wait_for_slow_clients() {
    let mut server = Server::start(&["--read-timeout", "30s", "--write-timeout", "30s"]);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for i in 0..8 {
            let opening = if i % 2 == 0 {
                Opening::Garbage
            } else {
                Opening::Head
            };
            let (stop, addr) = (&stop, server.addr);
            s.spawn(move || trickle(addr, opening, stop));
        }
        std::thread::sleep(Duration::from_millis(500));
        let asked = Instant::now();
        let pid = rustix::process::Pid::from_raw(server.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let status = loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break Some(status);
            }
            if asked.elapsed() > Duration::from_secs(5) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        stop.store(true, Ordering::SeqCst);
        let Some(status) = status else {
            let _ = server.child.kill();
            panic!("still running 5 s after SIGTERM");
        };
        assert!(status.success(), "{status}");
    });
}
