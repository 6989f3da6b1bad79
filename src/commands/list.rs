//! `sockscope list`: one row per matching socket, sorted, optionally with its holders.

use std::cmp::Reverse;
use std::io::Write;
use std::time::SystemTime;

use super::{matching_sockets, notes_to_stderr, owners_of, warn_skipped};
use crate::Terminal;
use crate::cli::{Format, ListArgs, SortKey};
use crate::collect::ProcSource;
use crate::collect::owners::Attribution;
use crate::error::Error;
use crate::filter::Filter;
use crate::model::{Socket, TcpState};
use crate::render;
use crate::report::SocketList;

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
        SortKey::Tx => sockets.sort_by_key(|s| (Reverse(s.tx_queue), default_order(s))),
    }
}

pub fn run(
    args: &ListArgs,
    _terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let filter = Filter::new(&args.filter);
    // Only the filtered states are needed: sock_diag can skip the rest in the kernel.
    let source = ProcSource::from_args(&args.source).only_states(|s| filter.wants_state(s));
    let collected_at = SystemTime::now();
    let (mut sockets, collection) = matching_sockets(&source, &filter)?;
    warn_skipped(&collection, err);
    sort(&mut sockets, args.sort);
    let owners = if args.processes {
        let owners = owners_of(&source, &sockets)?;
        let attribution = Attribution::of(&sockets, &owners);
        Some((owners, attribution))
    } else {
        None
    };
    let report = SocketList {
        collected_at,
        sockets,
        owners,
        timers: args.timers,
        filter: filter.describe(),
        collection,
    };
    match args.output.format() {
        Format::Table => render::list::render_table(&report, out)?,
        Format::Json => render::list::render_json(&report, out)?,
        Format::Plain => {
            render::list::render_plain(&report, out)?;
            if let Some((_, attribution)) = &report.owners {
                notes_to_stderr(&attribution.notes(), err);
            }
        }
    }
    Ok(())
}
