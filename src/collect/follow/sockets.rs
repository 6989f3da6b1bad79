//! The follower's sockets in one namespace, opened inside it: a sock_diag socket bound to the
//! destroy groups (the kernel lets any user subscribe, NL_CFG_F_NONROOT_RECV; a security module
//! may still refuse), with a receive buffer of a known size (forced past `rmem_max` only with
//! CAP_NET_ADMIN), and
//! a second one for the census and for asking the kernel how many events it dropped. Also the
//! few per-namespace sysctls the port forecast needs, read from inside (`/proc/sys/net` shows
//! the reading thread's namespace).

use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::io::Errno;
use rustix::net::{
    AddressFamily, RecvFlags, SocketFlags, SocketType, bind, netlink, recv, socket_with, sockopt,
};

use crate::collect::bounded;
use crate::collect::context::{CONTEXT_LIMIT, parse_sysctls};
use crate::collect::netlink::{self as diag, DESTROY_GROUPS};
use crate::model::Sysctls;

/// The follower's sockets in one namespace.
#[derive(Debug)]
pub struct Opened {
    /// Bound to the destroy groups, non-blocking.
    pub subscription: OwnedFd,
    /// Its inode, to find it among the namespace's netlink sockets.
    pub subscription_inode: u64,
    /// For the census dumps and the drop count.
    pub census: OwnedFd,
    /// The receive buffer the kernel granted, in bytes (it doubles what is asked).
    pub buffer: usize,
    /// `ip_local_port_range`, `ip_local_reserved_ports` and `tcp_tw_reuse` of the namespace.
    pub sysctls: Sysctls,
}

/// Opens the follower's sockets in this thread's network namespace: `buffer` bytes of receive
/// buffer for the events (forced past `rmem_max` where permitted), sysctls from `proc_root`.
pub fn open_here(buffer: usize, proc_root: &Path) -> io::Result<Opened> {
    let subscription = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        Some(netlink::SOCK_DIAG),
    )?;
    if sockopt::set_socket_recv_buffer_size_force(&subscription, buffer).is_err() {
        sockopt::set_socket_recv_buffer_size(&subscription, buffer)?;
    }
    bind(
        &subscription,
        &netlink::SocketAddrNetlink::new(0, DESTROY_GROUPS),
    )
    .map_err(|e| {
        if e == Errno::PERM || e == Errno::ACCESS {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the kernel refused the subscription to sock_diag's destroy events (permission denied)",
            )
        } else {
            e.into()
        }
    })?;
    let buffer = sockopt::socket_recv_buffer_size(&subscription)?;
    let subscription_inode = rustix::fs::fstat(&subscription)?.st_ino;
    Ok(Opened {
        subscription,
        subscription_inode,
        census: diag::open()?,
        buffer,
        sysctls: read_sysctls(proc_root),
    })
}

/// The sysctls of the reading thread's namespace the port forecast needs; what cannot be read
/// is `None`.
pub fn read_sysctls(proc_root: &Path) -> Sysctls {
    let dir = proc_root.join("sys/net/ipv4");
    let read = |name: &str| bounded::read_text(&dir.join(name), CONTEXT_LIMIT).ok();
    Sysctls {
        ip_local_port_range: read("ip_local_port_range").and_then(|t| parse_sysctls(&t).0),
        ip_local_reserved_ports: read("ip_local_reserved_ports").and_then(|t| parse_sysctls(&t).1),
        tcp_tw_reuse: read("tcp_tw_reuse").and_then(|t| parse_sysctls(&t).3),
        ..Sysctls::default()
    }
}

/// What one round of reading a subscription got.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    pub messages: u64,
    /// `recv` said ENOBUFS: the kernel dropped events since the last read (how many, the drop
    /// count says).
    pub overruns: u64,
    /// The socket failed otherwise (it is then left alone).
    pub failed: Option<Errno>,
}

/// Reads what the subscription holds, at most `rounds` datagrams, handing each message's
/// payload to `each`; stops when nothing is left.
pub fn receive(
    fd: &OwnedFd,
    buf: &mut [u8],
    rounds: usize,
    each: &mut dyn FnMut(&[u8]),
) -> Received {
    let mut got = Received::default();
    for _ in 0..rounds {
        match recv(fd, &mut *buf, RecvFlags::DONTWAIT) {
            Ok((_, n)) => {
                let walked = diag::walk(&buf[..n.min(buf.len())], |m| {
                    each(m);
                    true
                });
                got.messages += walked.map_or(0, |(count, _)| count);
            }
            Err(Errno::NOBUFS) => got.overruns += 1,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => break,
            Err(e) => {
                got.failed = Some(e);
                break;
            }
        }
    }
    got
}

/// `AF_NETLINK`, `NETLINK_SOCK_DIAG`, `NDIAG_SHOW_MEMINFO`, `NETLINK_DIAG_MEMINFO`,
/// `SK_MEMINFO_DROPS` (linux/netlink_diag.h, linux/sock_diag.h).
const AF_NETLINK: u8 = 16;
const NETLINK_SOCK_DIAG: u8 = 4;
const NDIAG_SHOW_MEMINFO: u32 = 1;
const NETLINK_DIAG_MEMINFO: u16 = 0;
const SK_MEMINFO_DROPS: usize = 8;

/// How many messages the kernel has dropped for the subscription of inode `inode` (its
/// `sk_drops`: each event that found the receive buffer full), asked of netlink_diag through
/// `fd`, a socket of the same namespace. `None` where netlink_diag is not available.
pub fn drops(fd: &OwnedFd, inode: u64) -> Option<u64> {
    const LEN: usize = 16 + 20;
    let mut req = [0u8; LEN];
    req[0..4].copy_from_slice(&(LEN as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&20u16.to_ne_bytes());
    req[6..8].copy_from_slice(&(0x1u16 | 0x300).to_ne_bytes());
    req[8..12].copy_from_slice(&2u32.to_ne_bytes());
    req[16] = AF_NETLINK;
    req[17] = NETLINK_SOCK_DIAG;
    req[24..28].copy_from_slice(&NDIAG_SHOW_MEMINFO.to_ne_bytes());
    let mut found = None;
    diag::run_dump(fd, &req, |data| {
        diag::walk(data, |m| {
            if found.is_none() && m.len() >= 28 && u64::from(u32_at(m, 16)) == inode {
                found = meminfo_drops(&m[28..]);
            }
            true
        })
    })
    .ok()?;
    found
}

/// `SK_MEMINFO_DROPS` from the attributes of a `netlink_diag_msg`.
fn meminfo_drops(mut attrs: &[u8]) -> Option<u64> {
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if kind == NETLINK_DIAG_MEMINFO {
            let at = 4 + SK_MEMINFO_DROPS * 4;
            return (len >= at + 4).then(|| u64::from(u32_at(attrs, at)));
        }
        attrs = attrs.get((len + 3) & !3..)?;
    }
    None
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_count_is_read_from_the_meminfo_attribute() {
        // What netlink_diag sent on 6.18 for a subscription with a 2304-byte buffer that had
        // dropped 99 of 100 events: rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc,
        // wmem_queued, optmem, backlog, drops.
        let mem = [0u32, 2304, 0, 212_992, 0, 0, 0, 0, 99];
        let mut attr = ((4 + 36) as u16).to_ne_bytes().to_vec();
        attr.extend_from_slice(&NETLINK_DIAG_MEMINFO.to_ne_bytes());
        for v in mem {
            attr.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(meminfo_drops(&attr), Some(99));
        // Another attribute first (groups), then the meminfo.
        let mut groups = 8u16.to_ne_bytes().to_vec();
        groups.extend_from_slice(&1u16.to_ne_bytes());
        groups.extend_from_slice(&5u32.to_ne_bytes());
        groups.extend_from_slice(&attr);
        assert_eq!(meminfo_drops(&groups), Some(99));
        // An older kernel's shorter array has no drops; a broken attribute says nothing.
        assert_eq!(meminfo_drops(&attr[..4 + 32]), None);
        assert_eq!(meminfo_drops(&[1, 0, 0, 0]), None);
    }

    #[test]
    fn without_cap_net_admin_the_refusal_is_said() {
        match open_here(1 << 20, Path::new("/proc")) {
            Ok(opened) => {
                assert!(opened.buffer >= 1 << 20, "{}", opened.buffer);
                assert!(opened.subscription_inode > 0);
                // Nothing closed yet in this test: the count is there and small.
                assert!(drops(&opened.census, opened.subscription_inode).is_some());
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                assert!(!rustix::process::geteuid().is_root(), "{e}");
                assert!(e.to_string().contains("refused"), "{e}");
            }
            Err(e) => println!("skipped: netlink unavailable here ({e})"),
        }
    }
}
