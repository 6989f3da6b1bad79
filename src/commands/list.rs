//! `sockscope list`: one row per matching socket, sorted, optionally with its holders.

use std::cmp::Reverse;
use std::io::Write;

use super::notes_to_stderr;
use crate::Terminal;
use crate::cli::{Format, ListArgs, SharedArgs};
use crate::diagnose::Settings;
use crate::error::Error;
use crate::model::{Socket, TcpState};
use crate::pipeline::{self, Plan};
use crate::render;
use crate::report::{SocketList, SortKey};

/// Lifecycle position, unknown codes last: the order people read states in.
fn state_rank(state: TcpState) -> (usize, u8) {
    let rank = TcpState::LIFECYCLE
        .iter()
        .position(|&s| s == state)
        .unwrap_or(TcpState::LIFECYCLE.len());
    (rank, state.code())
}

type Order = ((usize, u8), std::net::SocketAddr, std::net::SocketAddr);

fn default_order(s: &Socket) -> Order {
    (state_rank(s.state), s.local, s.remote)
}

pub fn sort(sockets: &mut [Socket], key: SortKey) {
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
    }
}

pub fn run(
    shared: &SharedArgs,
    args: &ListArgs,
    _terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let format = shared.format("list")?;
    let mut scope = shared.scope();
    // Only the filtered states are needed: sock_diag can skip the rest in the kernel.
    scope.source = scope.source.only_states(scope.filter.kernel_states());
    let mut sockets: Vec<Socket> = Vec::new();
    let analysis = pipeline::analyse(
        &scope,
        &Plan::default(),
        &Settings::default(),
        &mut |s| sockets.push(*s),
        err,
    )?;
    sort(&mut sockets, args.sort.into());
    let owners = if args.processes {
        Some(pipeline::owners_of_sockets(&scope.source, &sockets)?)
    } else {
        None
    };
    let report = SocketList {
        collected_at: analysis.report.collected_at,
        sockets,
        owners,
        timers: args.timers,
        filter: analysis.report.filter,
        collection: analysis.report.collection,
    };
    match format {
        Format::Table => render::list::render_table(&report, out)?,
        Format::Json => render::list::render_json(&report, out)?,
        Format::Plain => {
            render::list::render_plain(&report, out)?;
            if let Some((_, attribution)) = report.owners.as_ref().filter(|_| shared.output.verbose)
            {
                notes_to_stderr(&render::attribution::notes(attribution), err);
            }
        }
    }
    Ok(())
}
