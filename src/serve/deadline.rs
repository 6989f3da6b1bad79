//! One deadline per connection, kept by every blocking read and write a worker makes: each call
//! first sets the socket's timeout to what is left of it. `SO_RCVTIMEO` and `SO_SNDTIMEO` alone
//! start again with every call, so a peer taking or sending a byte at a time, or rustls reading
//! until a record is complete, would stretch them without end. It never reads the clock for
//! anything else.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `at + d`, or `at` itself where the clock cannot add `d`: a deadline that cannot be computed
/// has passed, which fails closed.
pub fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or(at)
}

/// A blocking TCP stream whose reads and writes all end by `deadline`.
pub struct Timed {
    pub tcp: TcpStream,
    pub deadline: Instant,
}

impl Timed {
    /// What is left before the deadline, or the error every call returns once it has passed.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        Ok(left)
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection's deadline passed")
}

/// The socket's own timeout reports EAGAIN; rustls would take that for a non-blocking socket
/// and try again, so it is said as what it is.
fn deadline_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        timed_out()
    } else {
        e
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        self.tcp.read(buf).map_err(deadline_error)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        self.tcp.write(buf).map_err(deadline_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// A peer sending a byte every 20 ms would keep a plain 200 ms read timeout alive for
    /// ever; the deadline ends the reads at 200 ms.
    #[test]
    fn a_trickling_peer_cannot_stretch_the_reads() {
        let (mut client, server) = pair();
        let started = Instant::now();
        let mut timed = Timed {
            tcp: server,
            deadline: started + Duration::from_millis(200),
        };
        let trickler = std::thread::spawn(move || {
            while client.write_all(b"a").is_ok() && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let mut byte = [0u8; 1];
        let error = loop {
            if let Err(e) = timed.read(&mut byte) {
                break e;
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        drop(timed);
        trickler.join().unwrap();
    }

    /// A peer that never reads: the writes end at the deadline, not when the buffers are full.
    #[test]
    fn a_peer_that_never_reads_cannot_hold_the_writes() {
        let (_client, server) = pair();
        let started = Instant::now();
        let mut timed = Timed {
            tcp: server,
            deadline: started + Duration::from_millis(200),
        };
        let error = timed.write_all(&vec![0u8; 64 << 20]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            timed.read(&mut [0u8; 1]).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
    }
}
