//! `sockscope list`: one row per socket, like `ss -tan`. A header and aligned columns for
//! people, bare whitespace-separated fields for awk, or JSON.

use std::io::{self, Write};
use std::net::SocketAddr;

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::escape;
use super::json::{CollectionView, SCHEMA_VERSION, timestamp, write};
use crate::model::{Socket, SocketKind, TcpState, TimerKind};
use crate::report::Owners;
use crate::report::SocketList;

/// `ss`-style endpoint: `127.0.0.1:80`, `[::1]:80`, and `*` for port 0 (listeners' peers).
pub fn endpoint(addr: SocketAddr) -> String {
    match (addr, addr.port()) {
        (SocketAddr::V4(a), 0) => format!("{}:*", a.ip()),
        (SocketAddr::V6(a), 0) => format!("[{}]:*", a.ip()),
        (a, _) => a.to_string(),
    }
}

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
fn holders(socket: &Socket, owners: &Owners, field: bool) -> String {
    if socket.inode == 0 {
        return "-".into();
    }
    let names: Vec<String> = owners
        .of(socket.inode)
        .map(|p| {
            if field {
                format!("{}/{}", p.pid, escape::for_field(&p.comm))
            } else {
                format!("{}[{}]", escape::for_terminal(&p.comm), p.pid)
            }
        })
        .collect();
    if names.is_empty() {
        "?".into()
    } else {
        names.join(",")
    }
}

fn row(report: &SocketList, i: usize, socket: &Socket, field: bool) -> Vec<String> {
    let mut cells = Vec::with_capacity(9);
    if let Some(name) = report.netns_of(i) {
        cells.push(if field {
            escape::for_field(name).into_owned()
        } else {
            escape::for_terminal(name).into_owned()
        });
    }
    cells.extend([
        socket.state.to_string(),
        socket.rx_queue.to_string(),
        // As ss: a listener's Send-Q is its backlog, when the source knows it (sock_diag).
        socket.backlog.unwrap_or(socket.tx_queue).to_string(),
        endpoint(socket.local),
        endpoint(socket.remote),
    ]);
    if report.timers {
        cells.push(timer_text(socket, report.collection.clock_ticks));
        cells.push(socket.retransmits.to_string());
    }
    if let Some((owners, _)) = &report.owners {
        cells.push(holders(socket, owners, field));
    }
    cells
}

/// Aligned columns under a header, then the notes.
pub fn render_table(report: &SocketList, out: &mut dyn Write) -> io::Result<()> {
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
    let rows: Vec<Vec<String>> = report
        .sockets
        .iter()
        .enumerate()
        .map(|(i, s)| row(report, i, s, false))
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for cells in std::iter::once(&header).chain(&rows) {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let sep = if i == last { "" } else { "  " };
            if right[i] {
                write!(out, "{:pad$}{cell}{sep}", "")?;
            } else if i == last {
                write!(out, "{cell}")?;
            } else {
                write!(out, "{cell}{:pad$}{sep}", "")?;
            }
        }
        writeln!(out)?;
    }
    for note in notes(report) {
        writeln!(out, "{note}")?;
    }
    Ok(())
}

/// What a reader of the table should know: the filter, gaps in attribution, skipped lines.
pub fn notes(report: &SocketList) -> Vec<String> {
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
pub fn render_plain(report: &SocketList, out: &mut dyn Write) -> io::Result<()> {
    for (i, socket) in report.sockets.iter().enumerate() {
        writeln!(out, "{}", row(report, i, socket, true).join(" "))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    collected_at: String,
    total: u64,
    sockets: Sockets<'a>,
    collection: CollectionView<'a>,
}

struct Sockets<'a>(&'a SocketList);

impl Serialize for Sockets<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let mut seq = serializer.serialize_seq(Some(report.sockets.len()))?;
        for (i, s) in report.sockets.iter().enumerate() {
            let mut view = SocketView::new(s, report);
            view.netns = report.netns_of(i);
            seq.serialize_element(&view)?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct SocketView<'a> {
    /// The namespace's name, with `--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    state: String,
    family: &'static str,
    /// `full`, or a kernel mini-socket: `time_wait` (TIME_WAIT and orphaned FIN_WAIT2) or
    /// `request` (SYN_RECV).
    kind: &'static str,
    local: Endpoint,
    remote: Endpoint,
    rx_queue: u32,
    tx_queue: u32,
    /// Listeners only: the accept-queue limit (`null` where the source cannot know it, /proc).
    #[serde(skip_serializing_if = "Option::is_none")]
    backlog: Option<Option<u32>>,
    timer: Option<TimerView>,
    retransmits: u32,
    probes: u32,
    uid: u32,
    inode: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    owners: Option<Vec<OwnerView<'a>>>,
}

#[derive(Serialize)]
struct Endpoint {
    addr: String,
    port: u16,
}

#[derive(Serialize)]
struct TimerView {
    kind: String,
    expires_ms: u64,
}

#[derive(Serialize)]
struct OwnerView<'a> {
    pid: u32,
    comm: &'a str,
    uid: u32,
    fd_count: u64,
    nofile_soft: Option<u64>,
}

impl<'a> SocketView<'a> {
    fn new(s: &Socket, report: &'a SocketList) -> SocketView<'a> {
        SocketView {
            netns: None,
            state: s.state.to_string(),
            family: s.family.key(),
            kind: match s.kind {
                SocketKind::Full => "full",
                SocketKind::TimeWait => "time_wait",
                SocketKind::Request => "request",
            },
            local: Endpoint {
                addr: s.local.ip().to_string(),
                port: s.local.port(),
            },
            remote: Endpoint {
                addr: s.remote.ip().to_string(),
                port: s.remote.port(),
            },
            rx_queue: s.rx_queue,
            tx_queue: s.tx_queue,
            backlog: (s.state == TcpState::Listen).then_some(s.backlog),
            timer: timer_name(s.timer).map(|kind| TimerView {
                kind,
                expires_ms: timer_ms(s, report.collection.clock_ticks),
            }),
            retransmits: s.retransmits,
            probes: s.probes,
            uid: s.uid,
            inode: s.inode,
            owners: report.owners.as_ref().map(|(owners, _)| {
                owners
                    .of(s.inode)
                    .map(|p| OwnerView {
                        pid: p.pid,
                        comm: &p.comm,
                        uid: p.uid,
                        fd_count: p.fd_count,
                        nofile_soft: p.nofile_soft,
                    })
                    .collect()
            }),
        }
    }
}

pub fn render_json(report: &SocketList, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        schema_version: SCHEMA_VERSION,
        collected_at: timestamp(report.collected_at),
        total: report.sockets.len() as u64,
        sockets: Sockets(report),
        collection: CollectionView::new(
            &report.collection,
            report.sockets.len() as u64,
            &report.filter,
            report.owners.as_ref().map(|(_, a)| a),
        ),
    };
    write(out, &document)
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

    #[test]
    fn endpoints_print_like_ss() {
        assert_eq!(endpoint("127.0.0.1:80".parse().unwrap()), "127.0.0.1:80");
        assert_eq!(endpoint("[::1]:80".parse().unwrap()), "[::1]:80");
        assert_eq!(endpoint("0.0.0.0:0".parse().unwrap()), "0.0.0.0:*");
        assert_eq!(endpoint("[::]:0".parse().unwrap()), "[::]:*");
    }
}
