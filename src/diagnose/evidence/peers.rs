//! How a peer behaves, from the tcp_info of the connections to it: how many, how many wait for
//! an answer and for how long, round-trip time, retransmissions, zero windows.

use std::net::SocketAddr;

use super::Connection;
use crate::report::PeerHealth;

/// The health of `peer` over `conns` (the connections to it that have tcp_info).
pub fn health<'a>(peer: SocketAddr, conns: impl IntoIterator<Item = &'a Connection>) -> PeerHealth {
    let mut h = PeerHealth {
        peer,
        connections: 0,
        waiting: 0,
        no_reply_s: None,
        rtt_ms: None,
        retransmitted_pct: None,
        zero_window: 0,
    };
    let mut rtts = Vec::new();
    let (mut retrans, mut sent) = (0u64, 0u64);
    for info in conns.into_iter().filter_map(|c| c.info.as_ref()) {
        h.connections += 1;
        // Sent since the peer last sent anything, or not yet acknowledged: a request in flight.
        if info.last_data_sent_ms <= info.last_data_recv_ms || info.unacked > 0 {
            h.waiting += 1;
            let silent = f64::from(info.last_data_recv_ms) / 1000.0;
            h.no_reply_s = Some(h.no_reply_s.map_or(silent, |s: f64| s.max(silent)));
        }
        if info.rtt_us > 0 {
            rtts.push(info.rtt_us);
        }
        if let Some(segs) = info.segs_out {
            retrans += u64::from(info.total_retrans);
            sent += u64::from(segs);
        }
        if info.snd_wnd == Some(0) {
            h.zero_window += 1;
        }
    }
    if !rtts.is_empty() {
        rtts.sort_unstable();
        h.rtt_ms = Some(f64::from(rtts[rtts.len() / 2]) / 1000.0);
    }
    if sent > 0 {
        h.retransmitted_pct = Some(100.0 * retrans as f64 / sent as f64);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TcpInfo, TcpState};

    fn conn(info: TcpInfo) -> Connection {
        Connection {
            local: "127.0.0.1:40000".parse().unwrap(),
            peer: "127.0.0.9:5432".parse().unwrap(),
            state: TcpState::Established,
            info: Some(info),
        }
    }

    #[test]
    fn a_silent_database_and_a_lossy_one() {
        // Each worker sent its query 41 s ago, just after connecting, and got nothing back.
        let silent = TcpInfo {
            last_data_sent_ms: 41_000,
            last_data_recv_ms: 41_010,
            rtt_us: 100,
            segs_out: Some(3),
            ..TcpInfo::default()
        };
        let conns: Vec<Connection> = (0..8).map(|_| conn(silent)).collect();
        let h = health("127.0.0.9:5432".parse().unwrap(), &conns);
        assert_eq!((h.connections, h.waiting), (8, 8));
        assert!((h.no_reply_s.unwrap() - 41.01).abs() < 1e-9);
        assert_eq!(h.rtt_ms, Some(0.1));
        assert_eq!(h.retransmitted_pct, Some(0.0));
        // Answered a moment ago, 12 of 100 segments resent, a zero window.
        let lossy = TcpInfo {
            last_data_sent_ms: 500,
            last_data_recv_ms: 20,
            rtt_us: 800_000,
            total_retrans: 12,
            segs_out: Some(100),
            snd_wnd: Some(0),
            ..TcpInfo::default()
        };
        let h = health("10.0.0.5:443".parse().unwrap(), &[conn(lossy)]);
        assert_eq!((h.waiting, h.no_reply_s, h.zero_window), (0, None, 1));
        assert_eq!(h.rtt_ms, Some(800.0));
        assert_eq!(h.retransmitted_pct, Some(12.0));
    }
}
