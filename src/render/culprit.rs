//! How people read a culprit: `java[4242] holds 298 (61200 of 65536 fds open)`,
//! `port 8080: 300`, `peer 10.0.0.5: 300`, `10.0.0.1 -> 10.0.0.5:5432: 27412`.

use super::escape::for_terminal;
use crate::report::Culprit;

/// The full wording, for the `Who:` line.
pub fn describe(culprit: &Culprit) -> String {
    match culprit {
        Culprit::Process {
            pid,
            comm,
            count,
            fd_count,
            nofile_soft,
        } => {
            let comm = for_terminal(comm);
            match nofile_soft {
                Some(limit) => {
                    format!("{comm}[{pid}] holds {count} ({fd_count} of {limit} fds open)")
                }
                None => format!("{comm}[{pid}] holds {count} ({fd_count} fds open)"),
            }
        }
        Culprit::LocalPort { port, count } => format!("port {port}: {count}"),
        Culprit::Peer { addr, count } => format!("peer {addr}: {count}"),
        Culprit::Destination {
            local_addr,
            addr,
            port,
            count,
        } => {
            let dst = endpoint(addr, *port);
            match local_addr {
                Some(local) => format!("{local} -> {dst}: {count}"),
                None => format!("{dst}: {count}"),
            }
        }
    }
}

/// Just the name, for a one-line status: `java[4242]`, `port 8080`, `10.0.0.5`.
pub fn name(culprit: &Culprit) -> String {
    match culprit {
        Culprit::Process { pid, comm, .. } => format!("{}[{pid}]", for_terminal(comm)),
        Culprit::LocalPort { port, .. } => format!("port {port}"),
        Culprit::Peer { addr, .. } => addr.clone(),
        Culprit::Destination { addr, port, .. } => endpoint(addr, *port),
    }
}

/// `10.0.0.5:5432`, `[fd00::5]:5432`.
fn endpoint(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}
