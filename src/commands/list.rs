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
use crate::report::{NetnsColumn, SocketList, SortKey};

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

/// Sorts sockets, or anything carrying one, by `key`.
pub fn sort<T>(items: &mut [T], key: SortKey, socket: impl Fn(&T) -> &Socket) {
    match key {
        SortKey::State => items.sort_by_key(|t| default_order(socket(t))),
        SortKey::Local => items.sort_by_key(|t| {
            let s = socket(t);
            (s.local, s.remote, state_rank(s.state))
        }),
        SortKey::Peer => items.sort_by_key(|t| {
            let s = socket(t);
            (s.remote, s.local, state_rank(s.state))
        }),
        SortKey::Rx => items.sort_by_key(|t| {
            let s = socket(t);
            (Reverse(s.rx_queue), default_order(s))
        }),
        // A listener's Send-Q is its backlog, not data waiting: listeners go after the rest.
        SortKey::Tx => items.sort_by_key(|t| {
            let s = socket(t);
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
    // Each socket keeps the namespace it came from, by index into `names`.
    let mut names: Vec<String> = Vec::new();
    let mut last: Option<u64> = None;
    let mut rows: Vec<(Socket, u32)> = Vec::new();
    let analysis = pipeline::analyse_each(
        &scope,
        &Plan::default(),
        &Settings::default(),
        &mut |label, s| {
            let inode = label.map(|l| l.inode);
            if names.is_empty() || last != inode {
                names.push(label.map(|l| l.name()).unwrap_or_default());
                last = inode;
            }
            rows.push((*s, names.len() as u32 - 1));
        },
        err,
    )?;
    sort(&mut rows, args.sort.into(), |(s, _)| s);
    let (sockets, of): (Vec<Socket>, Vec<u32>) = rows.into_iter().unzip();
    let netns = scope
        .namespaces
        .sweeps()
        .then_some(NetnsColumn { names, of });
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
        netns,
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
