//! Rules about sockets piling up in one state: CLOSE_WAIT (A1), SYN_SENT (A6), FIN_WAIT1 (A7),
//! FIN_WAIT2 (A8), LAST_ACK (A9), CLOSING (A10).

use serde_json::json;

use super::{strings, who};
use crate::diagnose::observe::Pile;
use crate::diagnose::thresholds::{Orphans, Thresholds};
use crate::diagnose::{
    Input, Outcome, Processes, TOP_CULPRITS, peer_culprits, percent, plural, port_culprits,
    process_culprits, top,
};
use crate::report::{Culprit, Finding, Severity};

pub fn close_wait(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.close_wait;
    let cw = &s.obs.close_wait;
    let n = cw.total;
    let established = s.obs.established();
    let share_ok = n as f64 >= th.warn_share_of_established * established as f64;
    let processes = process_culprits(s, &cw.inodes);
    let per_process = processes.iter().find_map(|c| match c {
        Culprit::Process { count, .. } => Some(*count),
        _ => None,
    });
    let near_emfile = processes.iter().any(|c| match c {
        Culprit::Process {
            count,
            fd_count,
            nofile_soft: Some(limit),
            ..
        } => *count >= th.warn && *fd_count as f64 >= th.crit_fd_share * *limit as f64,
        _ => false,
    });
    let warn = n >= th.warn && share_ok;
    let crit = n >= th.crit || per_process.is_some_and(|c| c >= th.crit_per_process) || near_emfile;
    // Before owners are known, a pile big enough for one process to reach the per-process limit
    // is worth looking up.
    let lookup = s.processes == Processes::Pending && n >= th.crit_per_process;
    let Some(sev) = Severity::from_levels(warn, crit).or(lookup.then_some(Severity::Warning))
    else {
        return Outcome::Quiet;
    };

    let unread = s.obs.close_wait_unread;
    let unaccepted = s.obs.close_wait_unaccepted;
    let ports = port_culprits(&cw.by_local_port);
    let peers = peer_culprits(&cw.by_peer);
    let mut summary = format!(
        "{} in CLOSE_WAIT ({}): their peers closed the connection and the local application has not called close(). ",
        plural(n, "socket"),
        if established == 0 {
            "and none ESTABLISHED".to_string()
        } else {
            format!("{} of ESTABLISHED", percent(n, established))
        }
    );
    let read = n - unread;
    summary.push_str(&format!(
        "{unread} still {} unread data (the application is not reading {} at all); {read} {} read to the end and still not closed.",
        if unread == 1 { "holds" } else { "hold" },
        if unread == 1 { "it" } else { "them" },
        if read == 1 { "was" } else { "were" },
    ));
    if unaccepted > 0 {
        summary.push_str(&format!(
            " {unaccepted} were closed by the peer before the application even accept()ed them."
        ));
    }
    if let Some(Culprit::LocalPort { port, count }) = ports.first() {
        summary.push_str(&format!(" Most are on local port {port} ({count})"));
        if let Some(Culprit::Peer { addr, count }) = peers.first() {
            summary.push_str(&format!(", and from {addr} ({count})"));
        }
        summary.push('.');
    }
    if let Some(text) = who(s, &processes, true) {
        summary.push_str(&format!(" Holder: {text}."));
    }
    let mut causes = strings(&[
        "A missing close() on an error or end-of-file path, or a connection pool that keeps connections its peers have closed: check the code that releases connections.",
        "Worker threads blocked elsewhere (a lock, a slow downstream, a full pool), so nothing reads the end-of-file and closes.",
        "Peers such as load balancers or databases closing idle connections that a pool keeps without validating them.",
    ]);
    if unread * 2 > n {
        causes.swap(0, 1);
    }
    let mut next = Vec::new();
    if let Some(Culprit::LocalPort { port, .. }) = ports.first() {
        next.push(format!("ss -tnp state close-wait '( sport = :{port} )'"));
    }
    match processes.first() {
        Some(Culprit::Process { pid, .. }) => {
            next.push(format!("lsof -nP -p {pid} -a -iTCP -sTCP:CLOSE_WAIT"));
            next.push(format!(
                "ls /proc/{pid}/fd | wc -l; grep 'open files' /proc/{pid}/limits   # how close it is to EMFILE"
            ));
        }
        _ => next.push("sudo sockscope top --by process --by peer --state close-wait".into()),
    }
    next.push("Review where the application closes connections: error paths, end-of-file handling, pool eviction.".into());
    let mut culprits = processes;
    culprits.extend(ports);
    culprits.extend(peers);
    Outcome::Fired(Finding::new(
        "close_wait_excess",
        sev,
        // Not "stuck": one look cannot tell how long (close_wait_stuck, across runs, can).
        format!(
            "{} in CLOSE_WAIT, closed by the peer and not by the application",
            plural(n, "connection")
        ),
        summary,
        json!({
            "close_wait": n,
            "established": established,
            "unread": unread,
            "read_to_end_not_closed": n - unread,
            "not_accepted": unaccepted,
            "thresholds": {
                "warn": th.warn,
                "warn_share_of_established": th.warn_share_of_established,
                "crit": th.crit,
                "crit_per_process": th.crit_per_process,
                "crit_fd_share": th.crit_fd_share,
            },
        }),
        causes,
        next,
        culprits,
        cw.inodes.clone(),
    ))
}

pub fn syn_sent(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.syn_sent;
    let mut affected: Vec<(std::net::SocketAddr, u64, u64)> = s
        .obs
        .syn_sent
        .iter()
        .filter(|(_, v)| v.retried >= th.warn)
        .map(|(dst, v)| (*dst, v.retried, v.total))
        .collect();
    if affected.is_empty() {
        return Outcome::Quiet;
    }
    affected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let worst = affected[0];
    let crit = worst.1 >= th.crit || affected.len() as u64 >= th.crit_destinations;
    let sev = Severity::warning_or_critical(crit);
    let inodes: Vec<u64> = affected
        .iter()
        .flat_map(|(dst, _, _)| s.obs.syn_sent[dst].inodes.iter().copied())
        .collect();
    let processes = process_culprits(s, &inodes);
    let mut summary = format!(
        "{} to {} resent their SYN {} without an answer",
        plural(worst.1, "connection attempt"),
        worst.0,
        match th.min_retransmits {
            0 | 1 => "at least once".to_string(),
            n => format!("{n}+ times"),
        }
    );
    if affected.len() > 1 {
        summary.push_str(&format!(
            ", and {} more destinations are affected",
            affected.len() - 1
        ));
    }
    summary.push_str(
        ". A refused connection fails at once and a lost SYN is rare; several attempts to one destination all waiting on a resent SYN mean the SYNs are being dropped silently.",
    );
    if let Some(text) = who(s, &processes, !inodes.is_empty()) {
        summary.push_str(&format!(" Initiator: {text}."));
    }
    let (ip, port) = (worst.0.ip(), worst.0.port());
    let mut culprits = processes;
    culprits.extend(
        affected
            .iter()
            .take(TOP_CULPRITS)
            .map(|(dst, n, _)| Culprit::Destination {
                local_addr: None,
                addr: dst.ip().to_string(),
                port: dst.port(),
                count: *n,
            }),
    );
    Outcome::Fired(Finding::new(
        "syn_sent_stuck",
        sev,
        format!("Connections to {} are not being answered", worst.0),
        summary,
        json!({
            "destinations_affected": affected.len(),
            "worst": { "destination": worst.0.to_string(), "retried": worst.1, "syn_sent": worst.2 },
            "thresholds": { "warn": th.warn, "min_retransmits": th.min_retransmits, "crit": th.crit, "crit_destinations": th.crit_destinations },
        }),
        strings(&[
            "A firewall or security group dropping the SYNs (DROP rather than REJECT).",
            "The destination host is down or unroutable.",
            "The destination's listen queue is full (its accept loop has stalled), so it drops SYNs.",
            "A full connection-tracking table on the path.",
        ]),
        vec![
            format!("ss -tnpo state syn-sent '( dst {} )'", match ip {
                std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
                v4 => format!("{v4}:{port}"),
            }),
            format!("nc -vz -w 3 {ip} {port}   # does anything answer?"),
            "nstat -az TcpExtTCPSynRetrans TcpAttemptFails".into(),
            "On the destination: sockscope (accept_queue_overflow, syn_recv_flood) and its firewall rules.".into(),
        ],
        culprits,
        inodes,
    ))
}

/// Shared shape of the orphan-state rules (FIN_WAIT1, LAST_ACK).
fn orphan_state(
    s: &Input,
    id: &'static str,
    state: &str,
    pile: &Pile,
    th: &Orphans,
    text: &Text,
) -> Outcome {
    let n = pile.total;
    let established = s.obs.established();
    // Many at once on any host, a socket retransmitting for long, or a pile-up of FINs already
    // resent that is large next to the connections the host holds.
    let piled_up = pile.resent >= th.warn_resent
        && pile.resent as f64 >= th.warn_resent_share_of_established * established as f64;
    let warn = n >= th.warn || (n > 0 && pile.max_retransmits >= th.warn_retransmits) || piled_up;
    let Some(sev) = Severity::from_levels(warn, n >= th.crit) else {
        return Outcome::Quiet;
    };
    let peers = peer_culprits(&pile.by_peer);
    let ports = port_culprits(&pile.by_local_port);
    let mut summary = format!(
        "{} in {state} ({} of them resent their FIN; {established} ESTABLISHED on the host): {}",
        plural(n, "socket"),
        pile.resent,
        text.meaning
    );
    if pile.max_retransmits > 0 {
        summary.push_str(&format!(
            " The worst has retransmitted {} times.",
            pile.max_retransmits
        ));
    }
    if let Some(Culprit::LocalPort { port, count }) = ports.first() {
        summary.push_str(&format!(" Most are on local port {port} ({count})"));
        if let Some(Culprit::Peer { addr, count }) = peers.first() {
            summary.push_str(&format!(" and point at {addr} ({count})"));
        }
        summary.push('.');
    }
    let state_arg = state
        .to_lowercase()
        .replace('_', "-")
        .replace("wait1", "wait-1");
    let mut next = vec![match ports.first() {
        Some(Culprit::LocalPort { port, .. }) => format!(
            "ss -tno state {state_arg} '( sport = :{port} )'   # timers and retransmits per peer"
        ),
        _ => format!("ss -tno state {state_arg}   # timers and retransmits per peer"),
    }];
    next.push(format!(
        "sockscope top --by local-port --by peer --state {state_arg}"
    ));
    next.extend(text.extra_step.map(str::to_string));
    let mut culprits = ports;
    culprits.extend(peers);
    Outcome::Fired(Finding::new(
        id,
        sev,
        format!("{} stuck in {state}", plural(n, "connection")),
        summary,
        json!({
            "count": n,
            "fin_resent": pile.resent,
            "established": established,
            "max_retransmits": pile.max_retransmits,
            "thresholds": {
                "warn": th.warn,
                "crit": th.crit,
                "warn_retransmits": th.warn_retransmits,
                "warn_resent": th.warn_resent,
                "warn_resent_share_of_established": th.warn_resent_share_of_established,
            },
        }),
        strings(text.causes),
        next,
        culprits,
        Vec::new(),
    ))
}

/// What an orphan-state finding says besides its numbers.
struct Text {
    meaning: &'static str,
    causes: &'static [&'static str],
    /// `None` where it cannot work (a sysctl of a module that is not loaded).
    extra_step: Option<&'static str>,
}

pub fn fin_wait1(s: &Input, t: &Thresholds) -> Outcome {
    orphan_state(
        s,
        "fin_wait1_excess",
        "FIN_WAIT1",
        &s.obs.fin_wait1,
        &t.fin_wait1,
        &Text {
            meaning: "this host sent its FIN and the peer has not acknowledged it, often with data still unsent.",
            causes: &[
                "The peer stopped reading (zero window), so our data and FIN cannot be delivered.",
                "The peer, or a NAT or load balancer on the path, forgot the connection.",
                "Packet loss toward the peer.",
            ],
            extra_step: Some(
                "sysctl net.ipv4.tcp_orphan_retries   # a lower value frees orphaned sockets sooner",
            ),
        },
    )
}

pub fn last_ack(s: &Input, t: &Thresholds) -> Outcome {
    orphan_state(
        s,
        "last_ack_excess",
        "LAST_ACK",
        &s.obs.last_ack,
        &t.last_ack,
        &Text {
            meaning: "the peer closed, this host closed too, and the final ACK never came.",
            causes: &[
                "The peer vanished after sending its FIN.",
                "A firewall or conntrack entry expired before the close finished (conntrack keeps LAST_ACK for 30 s).",
                "ACKs dropped on the path.",
            ],
            // Only with conntrack loaded: without it the key does not exist.
            extra_step: s
                .ctx
                .conntrack
                .is_some()
                .then_some("sysctl net.netfilter.nf_conntrack_tcp_timeout_last_ack"),
        },
    )
}

pub fn fin_wait2(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.fin_wait2;
    let orphaned = &s.obs.fin_wait2_orphaned;
    let held = &s.obs.fin_wait2_held;
    let worst_peer = top(&orphaned.by_peer, 1).into_iter().next();
    let warn = worst_peer
        .as_ref()
        .is_some_and(|(_, n)| *n >= th.warn_orphans_per_peer);
    let info = held.total >= th.info_held;
    let sev = match (warn, info) {
        (true, _) => Severity::Warning,
        (false, true) => Severity::Info,
        _ => return Outcome::Quiet,
    };
    let processes = process_culprits(s, &held.inodes);
    let mut summary = String::new();
    if let Some((peer, n)) = worst_peer.filter(|_| warn) {
        summary.push_str(&format!(
            "{n} orphaned FIN_WAIT2 sockets wait for {peer} to close its side: that peer keeps connections in CLOSE_WAIT (a leak on its side). Each lasts up to tcp_fin_timeout. "
        ));
    }
    if info {
        summary.push_str(&format!(
            "{} FIN_WAIT2 sockets are still held by a process after shutdown(SHUT_WR); no timer ends them.",
            held.total
        ));
        if let Some(text) = who(s, &processes, true) {
            summary.push_str(&format!(" Holder: {text}."));
        }
    }
    let mut culprits = processes;
    culprits.extend(peer_culprits(&orphaned.by_peer));
    Outcome::Fired(Finding::new(
        "fin_wait2_excess",
        sev,
        format!(
            "{} waiting in FIN_WAIT2",
            plural(orphaned.total + held.total, "connection")
        ),
        summary.trim_end().to_string(),
        json!({
            "orphaned": orphaned.total,
            "held": held.total,
            "fin_timeout_s": s.ctx.sysctl.tcp_fin_timeout,
            "thresholds": { "warn_orphans_per_peer": th.warn_orphans_per_peer, "info_held": th.info_held },
        }),
        strings(&[
            "The peer does not close its side: look for a CLOSE_WAIT leak there (sockscope on the peer).",
            "This host half-closes connections (shutdown) and keeps them open waiting for the peer.",
        ]),
        vec![
            "sockscope top --by peer --state fin-wait-2".into(),
            "sysctl net.ipv4.tcp_fin_timeout".into(),
        ],
        culprits,
        held.inodes.clone(),
    ))
}

pub fn closing(s: &Input, t: &Thresholds) -> Outcome {
    let th = &t.closing;
    let n = s.obs.closing.total;
    let Some(sev) = Severity::from_levels(n >= th.warn, n >= th.crit) else {
        return Outcome::Quiet;
    };
    Outcome::Fired(Finding::new(
        "closing_excess",
        sev,
        format!("{} stuck in CLOSING", plural(n, "connection")),
        format!(
            "{} in CLOSING: both sides closed at once and this host's FIN is still unacknowledged. That is rare in healthy traffic.",
            plural(n, "socket")
        ),
        json!({ "count": n, "thresholds": { "warn": th.warn, "crit": th.crit } }),
        strings(&[
            "ACKs lost on the path.",
            "A middlebox that mangles or drops FIN segments.",
        ]),
        vec![
            "ss -tno state closing".into(),
            "sockscope top --by peer --state closing".into(),
        ],
        peer_culprits(&s.obs.closing.by_peer),
        Vec::new(),
    ))
}

#[cfg(test)]
#[path = "states_tests.rs"]
mod tests;
