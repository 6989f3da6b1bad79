//! `sockscope list`: one row per socket, like `ss -tan`. A header and aligned columns for
//! people, bare whitespace-separated fields for awk, or JSON.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

use super::{Format, Style, escape};
use crate::model::{Socket, TcpState, TimerKind};
use crate::report::Owners;
use crate::report::SocketList;

mod json;
use json::render_json;

/// A duration the way `ss -o` prints timers (`print_ms_timer`): `200ms`, `1.500ms`, `59sec`,
/// `1min23sec`, `12min`.
pub fn ss_duration(ms: u64) -> String {
    let minutes = ms / 60_000;
    let mut secs = (ms / 1000) % 60;
    let mut msecs = ms % 1000;
    let mut out = String::new();
    if minutes > 0 {
        msecs = 0;
        out.push_str(&format!("{minutes}min"));
        if minutes > 9 {
            secs = 0;
        }
    }
    if secs > 0 {
        if secs > 9 {
            msecs = 0;
        }
        out.push_str(&format!("{secs}{}", if msecs > 0 { "." } else { "sec" }));
    }
    if msecs > 0 {
        out.push_str(&format!("{msecs:03}ms"));
    }
    if out.is_empty() {
        out.push_str("0ms");
    }
    out
}

fn timer_name(kind: TimerKind) -> Option<String> {
    Some(match kind {
        TimerKind::Off => return None,
        TimerKind::Retransmit => "on".into(),
        TimerKind::Keepalive => "keepalive".into(),
        TimerKind::TimeWait => "timewait".into(),
        TimerKind::Persist => "persist".into(),
        TimerKind::Unknown(code) => format!("unknown{code}"),
    })
}

fn timer_ms(socket: &Socket, clock_ticks: u64) -> u64 {
    socket.timer_ticks.saturating_mul(1000) / clock_ticks.max(1)
}

/// `timewait,59sec` or `-`.
fn timer_text(socket: &Socket, clock_ticks: u64) -> String {
    match timer_name(socket.timer) {
        Some(name) => format!("{name},{}", ss_duration(timer_ms(socket, clock_ticks))),
        None => "-".into(),
    }
}

/// The holders of a socket: `nginx[812],nginx[813]`, `-` when no process can hold it, `?` when
/// it was not found. `field` escapes for awk columns instead of for the terminal only.
fn write_holders(cell: &mut String, socket: &Socket, owners: &Owners, field: bool) {
    if socket.inode == 0 {
        cell.push('-');
        return;
    }
    for (i, p) in owners.of(socket.inode).enumerate() {
        if i > 0 {
            cell.push(',');
        }
        let _ = if field {
            write!(cell, "{}/{}", p.pid, escape::for_field(&p.comm))
        } else {
            write!(cell, "{}[{}]", escape::for_terminal(&p.comm), p.pid)
        };
    }
    if cell.is_empty() {
        cell.push('?');
    }
}

/// A number into `cell`, without the formatting machinery (a million rows are written twice).
fn push_number(cell: &mut String, n: impl itoa::Integer) {
    cell.push_str(itoa::Buffer::new().format(n));
}

/// `ss`-style endpoint (`127.0.0.1:80`, `[::1]:80`, and `*` for port 0, listeners' peers) into
/// `cell`, without allocating.
fn write_endpoint(cell: &mut String, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(a) => {
            for (i, octet) in a.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    cell.push('.');
                }
                push_number(cell, octet);
            }
        }
        SocketAddr::V6(a) => {
            let _ = write!(cell, "[{}]", a.ip());
        }
    }
    cell.push(':');
    match addr.port() {
        0 => cell.push('*'),
        port => push_number(cell, port),
    }
}

/// What each row shows: the columns asked for, and what they need.
#[derive(Clone, Copy)]
pub struct Columns<'a> {
    /// `--all-netns`: the namespace of each socket, first.
    pub netns: bool,
    /// `-o`: the timer and the retransmits.
    pub timers: bool,
    /// USER_HZ, the unit of the timer.
    pub clock_ticks: u64,
    /// `-p`: the holders.
    pub owners: Option<&'a Owners>,
}

impl Columns<'_> {
    fn of(report: &SocketList) -> Columns<'_> {
        Columns {
            netns: report.netns.is_some(),
            timers: report.timers,
            clock_ticks: report.collection.clock_ticks,
            owners: report.owners.as_ref().map(|(owners, _)| owners),
        }
    }

    /// The cells of one row, written into `cells` (reused from row to row: no allocation once
    /// warm). `netns` is the socket's namespace, shown when the column is.
    fn fill(&self, netns: Option<&str>, socket: &Socket, field: bool, cells: &mut Vec<String>) {
        let first = usize::from(self.netns);
        let count =
            first + 5 + if self.timers { 2 } else { 0 } + usize::from(self.owners.is_some());
        cells.resize_with(count, String::new);
        for cell in cells.iter_mut() {
            cell.clear();
        }
        if self.netns {
            let name = netns.unwrap_or_default();
            cells[0].push_str(&if field {
                escape::for_field(name)
            } else {
                escape::for_terminal(name)
            });
        }
        let [state, rx, tx, local, peer, rest @ ..] = &mut cells[first..] else {
            return;
        };
        match socket.state {
            TcpState::Unknown(_) => {
                let _ = write!(state, "{}", socket.state);
            }
            known => state.push_str(known.name()),
        }
        push_number(rx, socket.rx_queue);
        // As ss: a listener's Send-Q is its backlog, when the source knows it (sock_diag).
        push_number(tx, socket.backlog.unwrap_or(socket.tx_queue));
        write_endpoint(local, socket.local);
        write_endpoint(peer, socket.remote);
        let mut rest = rest.iter_mut();
        if self.timers
            && let (Some(timer), Some(retrans)) = (rest.next(), rest.next())
        {
            timer.push_str(&timer_text(socket, self.clock_ticks));
            push_number(retrans, socket.retransmits);
        }
        if let (Some(owners), Some(cell)) = (self.owners, rest.next()) {
            write_holders(cell, socket, owners, field);
        }
    }

    /// One row of `--format plain`: single-space separated fields.
    pub fn write_plain(
        &self,
        netns: Option<&str>,
        socket: &Socket,
        cells: &mut Vec<String>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.fill(netns, socket, true, cells);
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.write_all(b" ")?;
            }
            out.write_all(cell.as_bytes())?;
        }
        out.write_all(b"\n")
    }
}

/// The rows in `format`: aligned columns for people, bare fields for awk, or JSON.
pub fn write(
    report: &SocketList,
    format: Format,
    _style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => render_table(report, out),
        Format::Json => render_json(report, out),
        Format::Plain => render_plain(report, out),
        other => Err(super::unsupported(other, "list")),
    }
}

/// Aligned columns under a header, then the notes. Two passes over the rows, the first for the
/// column widths, so no row is kept as text.
fn render_table(report: &SocketList, out: &mut dyn Write) -> io::Result<()> {
    let columns = Columns::of(report);
    let mut header = vec!["State", "Recv-Q", "Send-Q", "Local", "Peer"];
    let mut right = vec![false, true, true, false, false];
    if report.netns.is_some() {
        header.insert(0, "Namespace");
        right.insert(0, false);
    }
    if report.timers {
        header.extend(["Timer", "Retrans"]);
        right.extend([false, true]);
    }
    if report.owners.is_some() {
        header.push("Process");
        right.push(false);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    let mut cells = Vec::new();
    // The last column is not padded: the holders, when shown, need no width (nor lookup).
    let measured = Columns {
        owners: None,
        ..columns
    };
    for (i, socket) in report.sockets.iter().enumerate() {
        measured.fill(report.netns_of(i), &socket, false, &mut cells);
        for (w, cell) in widths.iter_mut().zip(&cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    write_aligned(&header, &widths, &right, out)?;
    for (i, socket) in report.sockets.iter().enumerate() {
        columns.fill(report.netns_of(i), &socket, false, &mut cells);
        write_aligned(&cells, &widths, &right, out)?;
    }
    for note in notes(report) {
        writeln!(out, "{note}")?;
    }
    Ok(())
}

fn write_aligned(
    cells: &[String],
    widths: &[usize],
    right: &[bool],
    out: &mut dyn Write,
) -> io::Result<()> {
    const SPACES: &[u8] = &[b' '; 256];
    let pad = |n: usize, out: &mut dyn Write| -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let chunk = left.min(SPACES.len());
            out.write_all(&SPACES[..chunk])?;
            left -= chunk;
        }
        Ok(())
    };
    let last = cells.len() - 1;
    for (i, cell) in cells.iter().enumerate() {
        let fill = widths[i].saturating_sub(cell.chars().count());
        if right[i] {
            pad(fill, out)?;
        }
        out.write_all(cell.as_bytes())?;
        if i != last {
            if !right[i] {
                pad(fill, out)?;
            }
            out.write_all(b"  ")?;
        }
    }
    out.write_all(b"\n")
}

/// What a reader of the table should know: the filter, gaps in attribution, skipped lines.
fn notes(report: &SocketList) -> Vec<String> {
    let mut notes = super::notes(
        &report.filter,
        report.sockets.len() as u64,
        &report.collection,
    );
    if let Some((_, attribution)) = &report.owners {
        notes.extend(super::attribution::notes(attribution));
    }
    notes
}

/// One socket a line, single-space separated, no header: `state rx tx local peer [timer
/// retrans] [pid/comm,...]`.
fn render_plain(report: &SocketList, out: &mut dyn Write) -> io::Result<()> {
    let columns = Columns::of(report);
    let mut cells = Vec::new();
    for (i, socket) in report.sockets.iter().enumerate() {
        columns.write_plain(report.netns_of(i), &socket, &mut cells, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_ss() {
        assert_eq!(ss_duration(0), "0ms");
        assert_eq!(ss_duration(200), "200ms");
        assert_eq!(ss_duration(1500), "1.500ms");
        assert_eq!(ss_duration(59_000), "59sec");
        assert_eq!(ss_duration(58_450), "58sec");
        assert_eq!(ss_duration(83_000), "1min23sec");
        assert_eq!(ss_duration(7_140_000), "119min");
    }

    fn endpoint(addr: SocketAddr) -> String {
        let mut cell = String::new();
        write_endpoint(&mut cell, addr);
        cell
    }

    #[test]
    fn endpoints_print_like_ss() {
        assert_eq!(endpoint("127.0.0.1:80".parse().unwrap()), "127.0.0.1:80");
        assert_eq!(endpoint("[::1]:80".parse().unwrap()), "[::1]:80");
        assert_eq!(endpoint("0.0.0.0:0".parse().unwrap()), "0.0.0.0:*");
        assert_eq!(endpoint("[::]:0".parse().unwrap()), "[::]:*");
    }
}
