//! `sockscope list`: one row per matching socket, sorted, optionally with its holders.

use std::cmp::Reverse;
use std::io::Write;

use super::{notes_to_stderr, warn};
use crate::cli::{ListJob, Output};
use crate::error::Error;
use crate::model::{Socket, SocketTable, SortFields, TcpState};
use crate::pipeline;
use crate::render::{self, Format};
use crate::report::{NetnsLabel, SocketList, SortKey};

/// Lifecycle position, unknown codes last: the order people read states in.
fn state_rank(state: TcpState) -> (usize, u8) {
    let rank = TcpState::LIFECYCLE
        .iter()
        .position(|&s| s == state)
        .unwrap_or(TcpState::LIFECYCLE.len());
    (rank, state.code())
}

type Order = ((usize, u8), u64, u64);

fn default_order(s: &SortFields) -> Order {
    (state_rank(s.state), s.local, s.remote)
}

fn sort(sockets: &mut SocketTable, key: SortKey) {
    match key {
        SortKey::State => sockets.sort_by_key(default_order),
        SortKey::Local => sockets.sort_by_key(|s| (s.local, s.remote, state_rank(s.state))),
        SortKey::Peer => sockets.sort_by_key(|s| (s.remote, s.local, state_rank(s.state))),
        SortKey::Rx => sockets.sort_by_key(|s| (Reverse(s.rx_queue), default_order(s))),
        // A listener's Send-Q is its backlog, not data waiting: listeners go after the rest.
        SortKey::Tx => sockets.sort_by_key(|s| {
            (
                s.state == TcpState::Listen,
                Reverse(s.tx_queue),
                default_order(s),
            )
        }),
        SortKey::None => {}
    }
}

pub fn run(
    job: &ListJob,
    output: &Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let request = &job.request;
    let sweeps = request.scope.namespaces.sweeps();
    if job.sort == SortKey::None && output.format == Format::Plain && !job.processes {
        return stream_plain(job, sweeps, out, err);
    }
    // Each namespace's sockets are a group of the table, named in `names`.
    let mut sockets = SocketTable::default();
    let mut names: Vec<String> = Vec::new();
    let mut last: Option<Option<u64>> = None;
    let mut keep = |label: Option<&NetnsLabel>, s: &Socket| {
        let inode = label.map(|l| l.inode);
        if last != Some(inode) {
            last = Some(inode);
            names.push(label.map(NetnsLabel::name).unwrap_or_default());
            sockets.start_group();
        }
        sockets.push(s);
    };
    // With -p the walk of /proc/*/fd runs beside the dump, and on while the rows are sorted.
    let finished = pipeline::run(request, &mut keep)?;
    warn(&render::warnings(&finished.report), err);
    sort(&mut sockets, job.sort);
    let owners = match finished.walk {
        Some(walk) => {
            let mut wanted: Vec<u64> = sockets.inodes().filter(|&i| i != 0).collect();
            wanted.sort_unstable();
            let holding = walk.holding(wanted.into_iter(), sockets.inodes(), false)?;
            Some((holding.owners, holding.attribution))
        }
        None => None,
    };
    let report = SocketList {
        collected_at: finished.report.collected_at,
        sockets,
        owners,
        timers: job.timers,
        filter: finished.report.filter,
        collection: finished.report.collection,
        netns: sweeps.then_some(names),
    };
    render::list::write(&report, output.format, &output.style, out)?;
    if output.format == Format::Plain
        && output.verbose
        && let Some((_, attribution)) = &report.owners
    {
        notes_to_stderr(&render::attribution::notes(attribution), err);
    }
    Ok(())
}

/// `--sort none --format plain`: each row written as the kernel hands the socket over, nothing
/// kept (flat memory, like `ss`).
fn stream_plain(
    job: &ListJob,
    sweeps: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let columns = render::list::Columns {
        netns: sweeps,
        timers: job.timers,
        // Known before any socket is read: rows are written as they stream.
        clock_ticks: crate::collect::clock_ticks(),
        owners: None,
    };
    let mut cells = Vec::new();
    let mut failed = None;
    // The namespace's name, built once per namespace.
    let mut name: Option<(Option<u64>, String)> = None;
    let finished = pipeline::run(&job.request, &mut |label, s| {
        let inode = label.map(|l| l.inode);
        if name.as_ref().is_none_or(|(i, _)| *i != inode) {
            name = Some((inode, label.map(NetnsLabel::name).unwrap_or_default()));
        }
        let netns = name.as_ref().map(|(_, n)| n.as_str());
        if failed.is_none()
            && let Err(e) = columns.write_plain(netns, s, &mut cells, out)
        {
            failed = Some(e);
        }
    })?;
    warn(&render::warnings(&finished.report), err);
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
