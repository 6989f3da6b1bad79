//! The netlink sock_diag source: the same sockets as `/proc/net/tcp{,6}`, dumped in binary by
//! the kernel (as `ss` does), about twice as fast as the text, plus what only sock_diag has:
//! the backlog of each listener.
//!
//! One `SOCK_DIAG_BY_FAMILY` dump request per family; each reply is a fixed-size
//! `inet_diag_msg` (linux/inet_diag.h), read in place from the receive buffer without allocating.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;

use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, netlink, recv, sendto,
    socket_with,
};

use crate::model::{Family, Socket, SocketKind, TcpState, TimerKind};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDRLEN: usize = 16;
const INET_DIAG_MSG_LEN: usize = 72;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;

/// Every TCP state but `TCP_BOUND_INACTIVE` (bit 13), as `ss -a` asks: setting that bit makes the
/// kernel walk the bind hash as well. Request sockets come with the SYN_RECV bit.
pub const ALL_STATES: u32 = 0xfff;

/// Opens a sock_diag socket; fails where netlink is not available (some sandboxes).
pub fn open() -> io::Result<OwnedFd> {
    let fd = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )?;
    Ok(fd)
}

fn request(family: Family, states: u32) -> [u8; NLMSG_HDRLEN + 56] {
    let mut buf = [0u8; NLMSG_HDRLEN + 56];
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    buf[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    buf[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // inet_diag_req_v2: family, protocol, ext, pad, states, then an all-zero socket id.
    buf[16] = match family {
        Family::Ipv4 => AF_INET,
        Family::Ipv6 => AF_INET6,
    };
    buf[17] = IPPROTO_TCP;
    buf[20..24].copy_from_slice(&states.to_ne_bytes());
    buf
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes one `inet_diag_msg`. `clock_ticks` converts the timer (milliseconds here) into the
/// USER_HZ ticks `/proc` uses, so both sources fill `Socket` the same way.
pub fn parse_msg(m: &[u8], clock_ticks: u64) -> Option<Socket> {
    if m.len() < INET_DIAG_MSG_LEN {
        return None;
    }
    let family = match m[0] {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        _ => return None,
    };
    let addr = |at: usize| -> IpAddr {
        let mut b = [0u8; 16];
        b.copy_from_slice(&m[at..at + 16]);
        match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            Family::Ipv6 => {
                let v6 = Ipv6Addr::from(b);
                match v6.to_ipv4_mapped() {
                    Some(v4) => IpAddr::V4(v4),
                    None => IpAddr::V6(v6),
                }
            }
        }
    };
    let sport = u16::from_be_bytes([m[4], m[5]]);
    let dport = u16::from_be_bytes([m[6], m[7]]);
    let state = TcpState::from_code(m[1]);
    let timer = TimerKind::from_code(m[2]);
    let retrans = u32::from(m[3]);
    let expires_ms = u64::from(u32_at(m, 52));
    let (rqueue, wqueue) = (u32_at(m, 56), u32_at(m, 60));
    let kind = match (m[1], timer) {
        (12, _) => SocketKind::Request,
        (_, TimerKind::TimeWait) => SocketKind::TimeWait,
        _ => SocketKind::Full,
    };
    let listen = state == TcpState::Listen;
    Some(Socket {
        family,
        kind,
        local: SocketAddr::new(addr(8), sport),
        remote: SocketAddr::new(addr(24), dport),
        state,
        // For listeners sock_diag reports the accept queue and the backlog.
        tx_queue: if listen { 0 } else { wqueue },
        rx_queue: rqueue,
        timer,
        timer_ticks: expires_ms * clock_ticks / 1000,
        // With the zero-window probe timer, idiag_retrans carries the unanswered probes.
        retransmits: if timer == TimerKind::Persist {
            0
        } else {
            retrans
        },
        uid: u32_at(m, 64),
        probes: if timer == TimerKind::Persist {
            retrans
        } else {
            0
        },
        inode: u64::from(u32_at(m, 68)),
        backlog: listen.then_some(wqueue),
    })
}

/// Dumps every socket of `family` in the states of `states` to `each`; returns how many.
pub fn dump(
    fd: &OwnedFd,
    family: Family,
    states: u32,
    clock_ticks: u64,
    each: &mut dyn FnMut(&Socket),
) -> io::Result<u64> {
    sendto(
        fd,
        &request(family, states),
        SendFlags::empty(),
        &netlink::SocketAddrNetlink::new(0, 0),
    )?;
    let mut buf = vec![0u8; 64 << 10];
    let mut count = 0;
    loop {
        let (n, _) = recv(fd, &mut buf[..], RecvFlags::empty())?;
        let (seen, done) = walk_messages(&buf[..n], clock_ticks, each)?;
        count += seen;
        if done || n == 0 {
            return Ok(count);
        }
    }
}

/// Walks the netlink messages of one `recv`: each socket goes to `each`. Returns how many, and
/// whether the dump is over (`NLMSG_DONE`); an `NLMSG_ERROR` or a malformed header is an error.
pub fn walk_messages(
    mut data: &[u8],
    clock_ticks: u64,
    each: &mut dyn FnMut(&Socket),
) -> io::Result<(u64, bool)> {
    let mut count = 0;
    while data.len() >= NLMSG_HDRLEN {
        let len = u32_at(data, 0) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "malformed netlink message from sock_diag",
            ));
        }
        match kind {
            NLMSG_DONE => return Ok((count, true)),
            NLMSG_ERROR => {
                let code = data
                    .get(16..20)
                    .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                return Err(io::Error::from_raw_os_error(code.saturating_neg()));
            }
            SOCK_DIAG_BY_FAMILY => {
                if let Some(socket) = parse_msg(&data[NLMSG_HDRLEN..len], clock_ticks) {
                    count += 1;
                    each(&socket);
                }
            }
            _ => {}
        }
        let aligned = (len + 3) & !3;
        data = &data[aligned.min(data.len())..];
    }
    Ok((count, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_requests() {
        let r = request(Family::Ipv6, ALL_STATES);
        assert_eq!(u32_at(&r, 0), 72);
        assert_eq!((r[16], r[17]), (AF_INET6, IPPROTO_TCP));
        assert_eq!(u32_at(&r, 20), ALL_STATES);
    }

    #[test]
    fn a_listener_and_a_time_wait_message() {
        // inet_diag_msg as the kernel lays it out: a listener on 127.0.0.1:5000, 2 queued of 128.
        let mut m = [0u8; 72];
        m[0] = AF_INET;
        m[1] = 0x0A;
        m[4..6].copy_from_slice(&5000u16.to_be_bytes());
        m[8..12].copy_from_slice(&[127, 0, 0, 1]);
        m[56..60].copy_from_slice(&2u32.to_ne_bytes());
        m[60..64].copy_from_slice(&128u32.to_ne_bytes());
        m[68..72].copy_from_slice(&4564u32.to_ne_bytes());
        let s = parse_msg(&m, 100).unwrap();
        assert_eq!(s.local, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(
            (s.state, s.rx_queue, s.tx_queue, s.backlog),
            (TcpState::Listen, 2, 0, Some(128))
        );
        assert_eq!(s.inode, 4564);
        m[1] = 0x06;
        m[2] = 3;
        m[52..56].copy_from_slice(&58_000u32.to_ne_bytes());
        let s = parse_msg(&m, 100).unwrap();
        assert_eq!(
            (s.kind, s.timer_ticks, s.backlog),
            (SocketKind::TimeWait, 5800, None)
        );
        assert!(parse_msg(&m[..40], 100).is_none());
    }

    #[test]
    fn the_live_system_answers() {
        let Ok(fd) = open() else {
            println!("skipped: netlink sock_diag is not available here");
            return;
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut found = None;
        dump(&fd, Family::Ipv4, ALL_STATES, 100, &mut |s| {
            if s.local.port() == port {
                found = Some(*s);
            }
        })
        .unwrap();
        let s = found.expect("our listener in the dump");
        assert_eq!(s.state, TcpState::Listen);
        assert!(s.backlog.is_some_and(|b| b > 0));
    }
}
