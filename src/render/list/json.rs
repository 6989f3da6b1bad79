//! `sockscope list --json`: one object per socket.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::{timer_ms, timer_name};
use crate::model::{Socket, SocketKind, TcpState};
use crate::render::json::{CollectionView, SCHEMA_VERSION, timestamp, write};
use crate::report::SocketList;

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
            let mut view = SocketView::new(&s, report);
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

pub(super) fn render_json(report: &SocketList, out: &mut dyn Write) -> io::Result<()> {
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
