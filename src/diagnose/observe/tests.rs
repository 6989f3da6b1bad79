//! What streaming keeps: piles by port and peer, outbound sockets by server, destinations.

use super::*;

fn ctx() -> KernelContext {
    let mut c = KernelContext::default();
    c.sysctl.ip_local_port_range = Some((32768, 60999));
    c
}

#[test]
fn close_wait_unread_and_unaccepted() {
    let mut o = Observations::new(crate::diagnose::observe::Limits::default(), &ctx());
    let mut s = Socket::for_test(TcpState::CloseWait, "10.0.0.1:8080", "10.0.0.5:40000");
    s.rx_queue = 1;
    o.observe(&s);
    s.rx_queue = 0;
    s.inode = 0;
    o.observe(&s);
    assert_eq!(o.close_wait.total, 2);
    assert_eq!((o.close_wait_unread, o.close_wait_unaccepted), (1, 1));
    assert_eq!(o.close_wait.inodes, vec![1]);
    assert_eq!(o.close_wait.by_local_port.get(&8080), Some(&2));
}

#[test]
fn close_wait_this_host_opened_is_counted_by_the_server_endpoint() {
    let mut o = Observations::new(crate::diagnose::observe::Limits::default(), &ctx());
    // A listener the filters leave out is still seen by count_all.
    o.count_all(&Socket::for_test(
        TcpState::Listen,
        "127.0.0.1:41000",
        "0.0.0.0:0",
    ));
    for i in 0..3 {
        let pool = Socket::for_test(
            TcpState::CloseWait,
            &format!("127.0.0.1:{}", 50000 + i),
            "127.0.0.1:5432",
        );
        o.count_all(&pool);
        o.observe(&pool);
    }
    for local in ["127.0.0.1:41000", "10.0.0.1:8080"] {
        let accepted = Socket::for_test(TcpState::CloseWait, local, "10.0.0.5:50001");
        o.count_all(&accepted);
        o.observe(&accepted);
    }
    assert_eq!(o.close_wait.total, 5);
    assert_eq!(o.close_wait.inodes.len(), 5);
    let out = &o.close_wait_outbound;
    assert_eq!(out.total, 3);
    assert_eq!(
        out.by_remote.get(&"127.0.0.1:5432".parse().unwrap()),
        Some(&3)
    );
    assert_eq!(out.inodes.len(), 3);
    // The accepted ones alone by local port and peer.
    let mut ports: Vec<_> = o.close_wait.by_local_port.iter().collect();
    ports.sort();
    assert_eq!(ports, [(&8080, &1), (&41000, &1)]);
    assert_eq!(o.close_wait.by_peer.len(), 1);
    // Without ip_local_port_range, nothing can be told apart: all count as accepted.
    let mut blind = Observations::new(
        crate::diagnose::observe::Limits::default(),
        &KernelContext::default(),
    );
    blind.observe(&Socket::for_test(
        TcpState::CloseWait,
        "127.0.0.1:50000",
        "127.0.0.1:5432",
    ));
    assert_eq!(blind.close_wait_outbound.total, 0);
    assert_eq!(blind.close_wait.by_local_port.get(&50000), Some(&1));
}

#[test]
fn only_ephemeral_local_ports_count_toward_destinations() {
    let mut o = Observations::new(crate::diagnose::observe::Limits::default(), &ctx());
    o.observe(&Socket::for_test(
        TcpState::TimeWait,
        "10.0.0.1:40000",
        "10.0.0.5:5432",
    ));
    o.observe(&Socket::for_test(
        TcpState::Established,
        "10.0.0.1:40001",
        "10.0.0.5:5432",
    ));
    o.observe(&Socket::for_test(
        TcpState::Established,
        "10.0.0.1:8080",
        "10.0.0.9:40002",
    ));
    let key = (
        "10.0.0.1".parse().unwrap(),
        "10.0.0.5".parse().unwrap(),
        5432,
    );
    assert_eq!(o.destinations.get(&key).map(|p| p.held), Some(2));
    assert_eq!(o.destinations.len(), 1);
}

#[test]
fn connections_accepted_on_an_ephemeral_listener_use_no_port() {
    let mut o = Observations::new(crate::diagnose::observe::Limits::default(), &ctx());
    o.observe(&Socket::for_test(
        TcpState::Listen,
        "127.0.0.1:41000",
        "0.0.0.0:0",
    ));
    o.observe(&Socket::for_test(
        TcpState::Established,
        "127.0.0.1:41000",
        "127.0.0.1:45000",
    ));
    o.observe(&Socket::for_test(
        TcpState::Established,
        "127.0.0.1:45000",
        "127.0.0.1:41000",
    ));
    let key = (
        "127.0.0.1".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
        41000,
    );
    assert_eq!(o.destinations.len(), 1, "{:?}", o.destinations);
    assert_eq!(
        o.destinations.get(&key).map(|p| p.held),
        Some(1),
        "only the client side counts"
    );
}

#[test]
fn only_anomalous_sockets_are_kept() {
    let mut o = Observations::new(crate::diagnose::observe::Limits::default(), &ctx());
    for _ in 0..1000 {
        o.observe(&Socket::for_test(
            TcpState::Established,
            "10.0.0.1:8080",
            "10.0.0.5:40000",
        ));
    }
    let mut slow = Socket::for_test(TcpState::Established, "10.0.0.1:8080", "10.0.0.5:40001");
    slow.rx_queue = 2 << 20;
    o.observe(&slow);
    assert_eq!(o.rx_backlog.len(), 1);
    assert!(o.tx_trouble.is_empty());
}
