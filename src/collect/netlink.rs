//! The netlink sock_diag source: the same sockets as `/proc/net/tcp{,6}`, dumped in binary by
//! the kernel (as `ss` does), about twice as fast as the text, plus what only sock_diag has:
//! the backlog of each listener.
//!
//! One dump request for both families (`TCPDIAG_GETSOCK`, which walks the kernel's hash once),
//! or one `SOCK_DIAG_BY_FAMILY` request per family where only one is wanted or the older request
//! is refused; each reply is a fixed-size
//! `inet_diag_msg` (linux/inet_diag.h), read in place from the receive buffer without allocating.
//! The count's dump asks for no extension and never looks past the message; [`dump_info`]
//! asks for `tcp_info` too (`super::tcp_info` parses it), for the few states the evidence needs.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;

use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, netlink, recv, sendto,
    socket_with,
};

use super::tcp_info::{INET_DIAG_INFO, tcp_info_of};
use crate::model::{Family, Socket, SocketKind, TcpInfo, TcpState, TimerKind};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// The older request, `inet_diag_req` without a family: the kernel answers it with the sockets
/// of both families in one walk of its hash, and its replies carry this type.
const TCPDIAG_GETSOCK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDRLEN: usize = 16;
const INET_DIAG_MSG_LEN: usize = 72;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;

/// The `idiag_ext` bit that asks for `tcp_info` (extension `INET_DIAG_INFO`).
const INFO_EXT: u8 = 1 << (INET_DIAG_INFO - 1);

/// The destroy-event multicast groups, as `bind()` takes them: `SKNLGRP_INET_TCP_DESTROY` (1)
/// and `SKNLGRP_INET6_TCP_DESTROY` (3), each as bit `group - 1` (`ss -E` binds the same).
pub const DESTROY_GROUPS: u32 = 1 | 1 << 2;

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

/// `ext`: the `idiag_ext` bits, the extensions asked for (0 for none).
fn request(family: Family, states: u32, ext: u8) -> [u8; NLMSG_HDRLEN + 56] {
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
    buf[18] = ext;
    buf[20..24].copy_from_slice(&states.to_ne_bytes());
    buf
}

/// The same dump for both families at once (`TCPDIAG_GETSOCK`, `inet_diag_req`: family, source
/// and destination lengths, ext, the all-zero socket id, states, dbs): one walk of the
/// kernel's hash instead of one per family.
fn request_both(states: u32, ext: u8) -> [u8; NLMSG_HDRLEN + 60] {
    let mut buf = [0u8; NLMSG_HDRLEN + 60];
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf[4..6].copy_from_slice(&TCPDIAG_GETSOCK.to_ne_bytes());
    buf[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    buf[8..12].copy_from_slice(&1u32.to_ne_bytes());
    buf[19] = ext;
    buf[68..72].copy_from_slice(&states.to_ne_bytes());
    buf
}

/// `SOCKSCOPE_TEST_FAULT=netlink-both`: the both-families request is refused as a kernel without
/// it would refuse it, so the tests can see the per-family fallback run.
fn refused_for_tests() -> io::Result<()> {
    if super::injected("netlink-both") {
        return Err(rustix::io::Errno::INVAL.into());
    }
    Ok(())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `idiag_cookie` of one `inet_diag_msg`: the kernel's id of the socket, unique while it runs
/// (two u32 halves, the low one first, as `sock_diag_save_cookie` stores them).
pub fn cookie_of(m: &[u8]) -> Option<u64> {
    let b = m.get(44..52)?;
    let low = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    let high = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
    Some(u64::from(low) | u64::from(high) << 32)
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
    run_dump(fd, &request(family, states, 0), |data| {
        walk_messages(data, clock_ticks, each)
    })
}

/// [`dump`] for both families in one request, which walks the kernel's hash once instead of
/// once per family (at a million sockets, 0.2 s less). A kernel without it answers with an
/// error before any socket: then ask per family.
pub fn dump_both(
    fd: &OwnedFd,
    states: u32,
    clock_ticks: u64,
    each: &mut dyn FnMut(&Socket),
) -> io::Result<u64> {
    refused_for_tests()?;
    run_dump(fd, &request_both(states, 0), |data| {
        walk_messages(data, clock_ticks, each)
    })
}

/// Dumps every socket of `family` in the states of `states` with its `tcp_info` to `each`
/// (`None` for the mini-sockets, which carry none); returns how many sockets.
pub fn dump_info(
    fd: &OwnedFd,
    family: Family,
    states: u32,
    clock_ticks: u64,
    each: &mut dyn FnMut(&Socket, Option<&TcpInfo>),
) -> io::Result<u64> {
    run_dump(fd, &request(family, states, INFO_EXT), |data| {
        walk_messages_info(data, clock_ticks, each)
    })
}

/// [`dump_info`] for both families in one request, which walks the kernel's hash once. A kernel
/// without it answers with an error before any socket: then ask per family.
pub fn dump_info_both(
    fd: &OwnedFd,
    states: u32,
    clock_ticks: u64,
    each: &mut dyn FnMut(&Socket, Option<&TcpInfo>),
) -> io::Result<u64> {
    refused_for_tests()?;
    run_dump(fd, &request_both(states, INFO_EXT), |data| {
        walk_messages_info(data, clock_ticks, each)
    })
}

/// Dumps every socket of `family` in the states of `states`, handing each raw
/// `inet_diag_msg` to `each` (to read what [`parse_msg`] leaves out, such as the cookie).
pub fn dump_payloads(
    fd: &OwnedFd,
    family: Family,
    states: u32,
    each: &mut dyn FnMut(&[u8]),
) -> io::Result<u64> {
    run_dump(fd, &request(family, states, 0), |data| {
        walk(data, |m| {
            each(m);
            true
        })
    })
}

/// Sends one dump request and hands each `recv` to `walk` until it sees the end.
pub(super) fn run_dump(
    fd: &OwnedFd,
    request: &[u8],
    mut walk: impl FnMut(&[u8]) -> io::Result<(u64, bool)>,
) -> io::Result<u64> {
    sendto(
        fd,
        request,
        SendFlags::empty(),
        &netlink::SocketAddrNetlink::new(0, 0),
    )?;
    let mut buf = vec![0u8; 64 << 10];
    let mut count = 0;
    loop {
        let (n, _) = recv(fd, &mut buf[..], RecvFlags::empty())?;
        let (seen, done) = walk(&buf[..n])?;
        count += seen;
        if done || n == 0 {
            return Ok(count);
        }
    }
}

/// Walks the netlink messages of one `recv`: each socket goes to `each`. Returns how many, and
/// whether the dump is over (`NLMSG_DONE`); an `NLMSG_ERROR` or a malformed header is an error.
pub fn walk_messages(
    data: &[u8],
    clock_ticks: u64,
    each: &mut dyn FnMut(&Socket),
) -> io::Result<(u64, bool)> {
    walk(data, |m| match parse_msg(m, clock_ticks) {
        Some(socket) => {
            each(&socket);
            true
        }
        None => false,
    })
}

/// [`walk_messages`] for a dump that asked for `tcp_info`: each socket goes to `each` with the
/// `tcp_info` its message carries, if any.
pub fn walk_messages_info(
    data: &[u8],
    clock_ticks: u64,
    each: &mut dyn FnMut(&Socket, Option<&TcpInfo>),
) -> io::Result<(u64, bool)> {
    walk(data, |m| match parse_msg(m, clock_ticks) {
        Some(socket) => {
            each(&socket, tcp_info_of(m).as_ref());
            true
        }
        None => false,
    })
}

/// The netlink message walk: `each` gets the payload of every socket message (`SOCK_DIAG_BY_FAMILY`,
/// or `TCPDIAG_GETSOCK` for [`dump_info_both`]) and
/// says whether it was a socket. Inlined into each walker, so the count's walk stays as tight
/// as it was written on its own.
#[inline(always)]
pub(super) fn walk(
    mut data: &[u8],
    mut each: impl FnMut(&[u8]) -> bool,
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
            SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK if each(&data[NLMSG_HDRLEN..len]) => count += 1,
            _ => {}
        }
        let aligned = (len + 3) & !3;
        data = &data[aligned.min(data.len())..];
    }
    Ok((count, false))
}

#[cfg(test)]
mod tests;
