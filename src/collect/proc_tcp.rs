//! The `/proc/net/tcp` and `/proc/net/tcp6` line parser: a `BufRead` in, sockets out.
//! It never opens files and never allocates per line; the collector decides what to read.
//!
//! Line forms (proc(5), `net/ipv4/tcp_ipv4.c`): full sockets have 17 fields, TIME_WAIT /
//! orphaned FIN_WAIT2 mini-sockets and SYN_RECV request sockets have 12. Later kernels may append
//! fields, so anything from 17 up is accepted. Fields are split on whitespace, never by column:
//! IPv4 lines are space-padded to a fixed width.
//!
//! A kernel table lists each socket once, so a line that repeats the socket of the line before it
//! (all but its slot number) is a planted or broken file. Such lines are counted, not dropped:
//! one comparison with the line before, so memory stays one line however many there are.

use std::io::{self, BufRead, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::model::{Family, Socket, SocketKind, TcpState, TimerKind};
use crate::report::Malformation;

/// Longest line accepted. The kernel's lines are 150 (`tcp`) and 178 (`tcp6`) bytes; a file
/// with a longer one is not a socket table (`/dev/zero` has no newline at all), and reading it
/// whole would take the memory it is large.
pub const MAX_LINE: usize = 4096;

/// One item of the parse: a socket, a skipped line, or a read failure (after which the
/// iterator ends).
#[derive(Debug)]
pub enum Line {
    Socket(Socket),
    Skipped { line: u64, why: Malformation },
    Failed { line: u64, error: io::Error },
}

/// Streams the sockets of one `/proc/net/tcp`-shaped table.
pub struct TcpTable<R> {
    reader: R,
    family: Family,
    buf: Vec<u8>,
    /// The last socket line after its slot number, for [`TcpTable::repeated`].
    previous: Vec<u8>,
    repeated: u64,
    line: u64,
    done: bool,
}

impl<R: BufRead> TcpTable<R> {
    /// `family` is the file's: IPv4 for `tcp`, IPv6 for `tcp6`.
    pub fn new(reader: R, family: Family) -> Self {
        TcpTable {
            reader,
            family,
            buf: Vec::with_capacity(256),
            previous: Vec::with_capacity(256),
            repeated: 0,
            line: 0,
            done: false,
        }
    }

    /// Socket lines so far that repeat the socket line right before them.
    pub fn repeated(&self) -> u64 {
        self.repeated
    }
}

/// Whether the socket line `text` repeats `previous` (the socket line before it, without its
/// slot number); `previous` becomes this line's. No allocation once it holds a line.
fn repeats(previous: &mut Vec<u8>, text: &[u8]) -> bool {
    let socket = after_slot(text);
    if socket == previous.as_slice() {
        return true;
    }
    previous.clear();
    previous.extend_from_slice(socket);
    false
}

/// A data line without its first field, the slot number the kernel counts up as it prints.
fn after_slot(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(line.len());
    trim(&line[start..])
}

impl<R: BufRead> Iterator for TcpTable<R> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        while !self.done {
            self.buf.clear();
            let mut bounded = (&mut self.reader).take(MAX_LINE as u64 + 1);
            match bounded.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    // The kernel writes the header line even when it has no socket to list.
                    if self.line == 0 {
                        return Some(Line::Skipped {
                            line: 1,
                            why: Malformation::Empty,
                        });
                    }
                }
                Ok(_) => {
                    self.line += 1;
                    let complete = self.buf.last() == Some(&b'\n');
                    if !complete && self.buf.len() > MAX_LINE {
                        self.done = true;
                        return Some(Line::Failed {
                            line: self.line,
                            error: io::Error::other(format!(
                                "line longer than {MAX_LINE} bytes: not a kernel socket table"
                            )),
                        });
                    }
                    let text = trim(&self.buf);
                    if text.is_empty() || (self.line == 1 && is_header(text)) {
                        continue;
                    }
                    if !complete {
                        self.done = true;
                        return Some(Line::Skipped {
                            line: self.line,
                            why: Malformation::Truncated,
                        });
                    }
                    return Some(match parse_line(text, self.family) {
                        Ok(socket) => {
                            if repeats(&mut self.previous, text) {
                                self.repeated += 1;
                            }
                            Line::Socket(socket)
                        }
                        Err(why) => {
                            self.previous.clear();
                            Line::Skipped {
                                line: self.line,
                                why,
                            }
                        }
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.done = true;
                    return Some(Line::Failed {
                        line: self.line + 1,
                        error,
                    });
                }
            }
        }
        None
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !first.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !last.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    s
}

fn is_header(line: &[u8]) -> bool {
    line.starts_with(b"sl ")
}

/// Parses one data line (already trimmed) of a table of the given family.
pub fn parse_line(line: &[u8], family: Family) -> Result<Socket, Malformation> {
    let mut fields = Fields { rest: line };
    let mut first: [&[u8]; 10] = [&[]; 10];
    for (i, slot) in first.iter_mut().enumerate() {
        *slot = fields.next().ok_or(Malformation::FieldCount(i))?;
    }
    let [
        sl,
        local,
        remote,
        st,
        queues,
        timer,
        retr,
        uid,
        probes,
        inode,
    ] = first;
    // 12 fields (mini-sockets) or 17 and more; stop counting once that is settled.
    let total = 10 + fields.take(7).count();
    let kind_by_count = match total {
        12 => None,
        n if n >= 17 => Some(SocketKind::Full),
        n => return Err(Malformation::FieldCount(n)),
    };

    if sl.last() != Some(&b':') || parse_dec(&sl[..sl.len() - 1]).is_none() {
        return Err(Malformation::SlotNumber);
    }
    let local = parse_endpoint(local, family, "local")?;
    let remote = parse_endpoint(remote, family, "remote")?;
    let state = TcpState::from_code(parse_hex_u8(st).ok_or(Malformation::State)?);
    let (tx_queue, rx_queue) = split_pair(queues)
        .and_then(|(tx, rx)| Some((parse_hex_u32(tx)?, parse_hex_u32(rx)?)))
        .ok_or(Malformation::Queues)?;
    let (timer, timer_ticks) = split_pair(timer)
        .and_then(|(tr, when)| Some((parse_hex_u8(tr)?, parse_hex(when)?)))
        .ok_or(Malformation::Timer)?;
    let retransmits = parse_hex_u32(retr).ok_or(Malformation::Retransmits)?;
    let uid = parse_dec(uid)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(Malformation::Uid)?;
    let probes = parse_dec(probes)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(Malformation::Probes)?;
    let inode = parse_dec(inode).ok_or(Malformation::Inode)?;

    let kind = kind_by_count.unwrap_or(if state == TcpState::SynRecv {
        SocketKind::Request
    } else {
        SocketKind::TimeWait
    });
    Ok(Socket {
        family,
        kind,
        local,
        remote,
        state,
        tx_queue,
        rx_queue,
        timer: TimerKind::from_code(timer),
        timer_ticks,
        retransmits,
        uid,
        probes,
        inode,
        backlog: None,
    })
}

/// Whitespace-separated fields. Unlike `split().filter()`, a run of padding spaces costs one
/// scan, not one empty item per space: IPv4 lines carry dozens of them.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.rest.iter().position(|b| !b.is_ascii_whitespace())?;
        let tail = &self.rest[start..];
        let len = tail
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(tail.len());
        self.rest = &tail[len..];
        Some(&tail[..len])
    }
}

fn split_pair(field: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = field.iter().position(|&b| b == b':')?;
    Some((&field[..colon], &field[colon + 1..]))
}

/// `0100007F:1388` (IPv4) or 32 hex digits and a port (IPv6). Each 32-bit word is the kernel's
/// `__be32` printed as a host integer, so its native-endian bytes are the address bytes in
/// network order on any host. IPv4-mapped IPv6 addresses come back as plain IPv4.
fn parse_endpoint(
    field: &[u8],
    family: Family,
    which: &'static str,
) -> Result<SocketAddr, Malformation> {
    let (addr, port) = split_pair(field).ok_or(Malformation::Address(which))?;
    if port.len() != 4 {
        return Err(Malformation::Address(which));
    }
    let port = parse_hex(port).ok_or(Malformation::Address(which))? as u16;
    let word = |i: usize| -> Result<[u8; 4], Malformation> {
        let digits = &addr[i * 8..i * 8 + 8];
        let value = parse_hex(digits).ok_or(Malformation::Address(which))? as u32;
        Ok(value.to_ne_bytes())
    };
    let ip = match (family, addr.len()) {
        (Family::Ipv4, 8) => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        (Family::Ipv6, 32) => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            let v6 = Ipv6Addr::from(bytes);
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return Err(Malformation::AddressLength(family)),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Hex digit values, 0xFF for anything that is not a hex digit: one load per digit instead of
/// three range tests, on the hottest loop of the parser.
const HEX: [u8; 256] = {
    let mut table = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Up to 16 hex digits; anything else (empty, too long, non-hex, non-ASCII) is `None`.
#[inline]
fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut value: u64 = 0;
    let mut invalid = 0u8;
    for &b in digits {
        let d = HEX[usize::from(b)];
        invalid |= d;
        value = (value << 4) | u64::from(d & 0x0F);
    }
    // Valid digits are 0..=15, so any 0xFF leaves its high bits set.
    (invalid & 0xF0 == 0).then_some(value)
}

fn parse_hex_u32(digits: &[u8]) -> Option<u32> {
    parse_hex(digits).and_then(|v| u32::try_from(v).ok())
}

fn parse_hex_u8(digits: &[u8]) -> Option<u8> {
    if digits.len() > 2 {
        return None;
    }
    parse_hex(digits).map(|v| v as u8)
}

/// Up to 20 decimal digits that fit a u64.
fn parse_dec(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests;
