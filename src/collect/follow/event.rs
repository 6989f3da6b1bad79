//! One destroy event: the `inet_diag_msg` the kernel multicasts when it frees a TCP socket, with
//! its final `tcp_info`, decoded with the dump's own parser. Pure: bytes in, facts out.
//!
//! What the kernel gives (measured on 6.18, loopback): the final state is always CLOSE; the
//! message carries the addresses, the cookie and `tcp_info`, but no inode and no uid. A
//! blocking `connect()` that fails has its destination port (and its counters) cleared before
//! the socket is freed; a non-blocking one keeps them. A connect refused before any SYN (no
//! route) leaves no destination at all, like a socket closed without connecting. TIME_WAIT and
//! request mini-sockets are never reported; a full socket is reported when it is freed, which
//! for the side that closes first is when it enters TIME_WAIT.

use std::net::SocketAddr;

use crate::collect::netlink::{cookie_of, parse_msg};
use crate::collect::tcp_info::tcp_info_of;
use crate::model::TcpInfo;
use crate::report::flows::Ending;

/// A destroyed socket, as its message describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destroyed {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub cookie: u64,
    pub info: Option<TcpInfo>,
}

/// Decodes one message's payload; `None` when it is not an inet socket's.
pub fn decode(m: &[u8]) -> Option<Destroyed> {
    let socket = parse_msg(m, 100)?;
    Some(Destroyed {
        local: socket.local,
        remote: socket.remote,
        cookie: cookie_of(m)?,
        info: tcp_info_of(m),
    })
}

/// Idle times past this are not a connection's: a field never set counts from boot.
const SANE_MS: u32 = 30 * 86_400_000;

impl Destroyed {
    /// How it ended. `accepted`: it came through a listener of its namespace, so it was
    /// established whatever its counters say.
    pub fn ending(&self, accepted: bool) -> Ending {
        if self.remote.port() == 0 && self.remote.ip().is_unspecified() {
            return Ending::Other;
        }
        let Some(info) = &self.info else {
            return Ending::Other;
        };
        // A client's SYN, once answered, counts in bytes_acked; a handshake negotiates options;
        // a connection that got anything has received bytes.
        let answered = info.bytes_acked.is_some_and(|b| b > 0)
            || info.bytes_received.is_some_and(|b| b > 0)
            || info.options != 0;
        if answered || accepted {
            Ending::Closed
        } else {
            Ending::Failed
        }
    }

    /// How long it had been idle when it was freed, in ms: the longest of the times since it
    /// last sent data, received data and received an ACK. Each of these is set when the
    /// connection is established (client and accepted side alike), so for a connection that
    /// was established this is at least how long it lived since; for one idle since its
    /// handshake, its lifetime to the jiffy.
    pub fn idle_ms(&self) -> Option<u64> {
        let i = self.info.as_ref()?;
        [i.last_data_sent_ms, i.last_data_recv_ms, i.last_ack_recv_ms]
            .into_iter()
            .filter(|&ms| ms < SANE_MS)
            .max()
            .map(u64::from)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Fills a `struct tcp_info` in place.
    pub(crate) type Fill<'a> = &'a dyn Fn(&mut [u8]);

    /// A destroy message as the kernel sent it for `local → remote`: family AF_INET, state
    /// CLOSE, cookie, then INET_DIAG_INFO with the given fields (offsets of tcp.h).
    pub(crate) fn message(local: &str, remote: &str, cookie: u64, info: Option<Fill>) -> Vec<u8> {
        let local: std::net::SocketAddrV4 = local.parse().unwrap();
        let remote: std::net::SocketAddrV4 = remote.parse().unwrap();
        let mut m = vec![0u8; 72];
        m[0] = 2;
        m[1] = 7;
        m[4..6].copy_from_slice(&local.port().to_be_bytes());
        m[6..8].copy_from_slice(&remote.port().to_be_bytes());
        m[8..12].copy_from_slice(&local.ip().octets());
        m[24..28].copy_from_slice(&remote.ip().octets());
        m[44..48].copy_from_slice(&(cookie as u32).to_ne_bytes());
        m[48..52].copy_from_slice(&((cookie >> 32) as u32).to_ne_bytes());
        if let Some(fill) = info {
            let mut b = vec![0u8; 280];
            fill(&mut b);
            m.extend_from_slice(&((4 + b.len()) as u16).to_ne_bytes());
            m.extend_from_slice(&2u16.to_ne_bytes());
            m.extend_from_slice(&b);
        }
        m
    }

    pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }

    pub(crate) fn put64(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
    }

    #[test]
    fn what_the_kernel_sent_for_a_closed_a_refused_and_a_listener() {
        // Measured on 6.18: a client that sent "ping", read "pong" and closed 52 ms after.
        let closed = message(
            "127.0.0.1:46172",
            "127.0.0.1:5555",
            371_643,
            Some(&|b| {
                b[5] = 7;
                put32(b, 44, 52);
                put32(b, 52, 52);
                put64(b, 120, 6);
                put64(b, 128, 5);
            }),
        );
        let d = decode(&closed).unwrap();
        assert_eq!(d.cookie, 371_643);
        assert_eq!(d.ending(false), Ending::Closed);
        assert_eq!(d.idle_ms(), Some(52));
        // A blocking connect refused: port cleared, nothing acknowledged, no options, and its
        // idle times count from boot.
        let refused = message(
            "0.0.0.0:59410",
            "127.0.0.1:0",
            372_538,
            Some(&|b| {
                put32(b, 44, 8_518_948);
                put32(b, 52, 8_518_948);
                put32(b, 56, 8_518_948);
            }),
        );
        let d = decode(&refused).unwrap();
        assert_eq!(d.ending(false), Ending::Failed);
        assert_eq!(d.idle_ms(), Some(8_518_948));
        // Accepted through a listener: established, whatever its counters.
        assert_eq!(d.ending(true), Ending::Closed);
        // A listener, or a socket that never connected: no destination at all.
        let listener = message("127.0.0.1:5555", "0.0.0.0:0", 9, Some(&|_| {}));
        assert_eq!(decode(&listener).unwrap().ending(true), Ending::Other);
        // Without tcp_info nothing can be told.
        let bare = message("127.0.0.1:1", "127.0.0.1:2", 1, None);
        assert_eq!(decode(&bare).unwrap().ending(false), Ending::Other);
        assert_eq!(decode(&bare).unwrap().idle_ms(), None);
        assert!(decode(&closed[..40]).is_none());
    }

    #[test]
    fn idle_times_never_set_do_not_count() {
        let m = message(
            "127.0.0.1:1",
            "127.0.0.1:2",
            1,
            Some(&|b| {
                put32(b, 44, u32::MAX);
                put32(b, 52, 1_012);
                put32(b, 56, 0);
            }),
        );
        assert_eq!(decode(&m).unwrap().idle_ms(), Some(1_012));
    }
}
