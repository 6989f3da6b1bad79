use super::*;

#[test]
fn masks_and_requests() {
    let r = request(Family::Ipv6, ALL_STATES, 0);
    assert_eq!(u32_at(&r, 0), 72);
    assert_eq!((r[16], r[17], r[18]), (AF_INET6, IPPROTO_TCP, 0));
    // INET_DIAG_INFO is extension 2: bit 1 of idiag_ext.
    assert_eq!(request(Family::Ipv4, 1 << 8, INFO_EXT)[18], 0b10);
    assert_eq!(u32_at(&r, 20), ALL_STATES);
    // inet_diag_req: no family, ext at byte 3, the states after the 48-byte socket id.
    let both = request_both(1 << 8, INFO_EXT);
    assert_eq!(u32_at(&both, 0), 76);
    assert_eq!(u16::from_ne_bytes([both[4], both[5]]), TCPDIAG_GETSOCK);
    assert_eq!((both[16], both[19]), (0, 0b10));
    assert_eq!(u32_at(&both, 68), 1 << 8);
}

#[test]
fn the_cookie_is_two_halves_low_first() {
    let mut m = [0u8; 72];
    m[44..48].copy_from_slice(&0x0005_aefau32.to_ne_bytes());
    m[48..52].copy_from_slice(&2u32.to_ne_bytes());
    assert_eq!(cookie_of(&m), Some(2 << 32 | 0x0005_aefa));
    assert_eq!(cookie_of(&m[..50]), None);
    assert_eq!(DESTROY_GROUPS, 0b101);
}

#[test]
fn a_listener_and_a_time_wait_message() {
    // inet_diag_msg as the kernel lays it out: a listener on 127.0.0.1:5000, 2 queued of 128.
    let mut m = [0u8; 72];
    m[0] = AF_INET;
    m[1] = 0x0A;
    m[4..6].copy_from_slice(&5000u16.to_be_bytes());
    m[8..12].copy_from_slice(&[127, 0, 0, 1]);
    m[56..60].copy_from_slice(&2u32.to_ne_bytes());
    m[60..64].copy_from_slice(&128u32.to_ne_bytes());
    m[68..72].copy_from_slice(&4564u32.to_ne_bytes());
    let s = parse_msg(&m, 100).unwrap();
    assert_eq!(s.local, "127.0.0.1:5000".parse().unwrap());
    assert_eq!(
        (s.state, s.rx_queue, s.tx_queue, s.backlog),
        (TcpState::Listen, 2, 0, Some(128))
    );
    assert_eq!(s.inode, 4564);
    m[1] = 0x06;
    m[2] = 3;
    m[52..56].copy_from_slice(&58_000u32.to_ne_bytes());
    let s = parse_msg(&m, 100).unwrap();
    assert_eq!(
        (s.kind, s.timer_ticks, s.backlog),
        (SocketKind::TimeWait, 5800, None)
    );
    assert!(parse_msg(&m[..40], 100).is_none());
}

/// A netlink message around an `inet_diag_msg` for 127.0.0.1:`port`, then `attrs`.
fn framed(state: u8, timer: u8, port: u16, attrs: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 72];
    m[0] = AF_INET;
    m[1] = state;
    m[2] = timer;
    m[4..6].copy_from_slice(&port.to_be_bytes());
    m[8..12].copy_from_slice(&[127, 0, 0, 1]);
    m.extend_from_slice(attrs);
    let mut out = Vec::new();
    out.extend_from_slice(&((NLMSG_HDRLEN + m.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    out.extend_from_slice(&[0; 10]);
    out.extend_from_slice(&m);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

fn rtattr(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut a = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(payload);
    while !a.len().is_multiple_of(4) {
        a.push(0);
    }
    a
}

#[test]
fn messages_with_and_without_tcp_info() {
    let mut info = vec![0u8; 232];
    info[56..60].copy_from_slice(&41_672u32.to_ne_bytes());
    let mut with = rtattr(8, &[0]);
    with.extend(rtattr(2, &info));
    let mut short = rtattr(8, &[0]);
    short.extend(rtattr(2, &info[..100]));
    let mut bad = vec![2u8, 0, 2, 0];
    bad.extend(rtattr(2, &info));
    let mut buf = framed(8, 0, 1, &with);
    buf.extend(framed(6, 3, 2, &[]));
    buf.extend(framed(8, 0, 3, &short));
    buf.extend(framed(8, 0, 4, &bad));
    let mut done = framed(0, 0, 0, &[]);
    done.truncate(NLMSG_HDRLEN);
    done[0..4].copy_from_slice(&(NLMSG_HDRLEN as u32).to_ne_bytes());
    done[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
    buf.extend(done);
    let mut seen = Vec::new();
    let walked = walk_messages_info(&buf, 100, &mut |s, info| {
        seen.push((s.local.port(), info.map(|i| i.last_ack_recv_ms)));
    })
    .unwrap();
    assert_eq!(walked, (4, true));
    assert_eq!(
        seen,
        vec![(1, Some(41_672)), (2, None), (3, None), (4, None)]
    );
    // The count's walk sees the same sockets, attributes or not.
    let mut ports = Vec::new();
    assert_eq!(
        walk_messages(&buf, 100, &mut |s| ports.push(s.local.port())).unwrap(),
        (4, true)
    );
    assert_eq!(ports, vec![1, 2, 3, 4]);
}

#[test]
fn the_live_system_answers() {
    let Ok(fd) = open() else {
        println!("skipped: netlink sock_diag is not available here");
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut found = None;
    dump(&fd, Family::Ipv4, ALL_STATES, 100, &mut |s| {
        if s.local.port() == port {
            found = Some(*s);
        }
    })
    .unwrap();
    let s = found.expect("our listener in the dump");
    assert_eq!(s.state, TcpState::Listen);
    assert!(s.backlog.is_some_and(|b| b > 0));
}

/// One request for both families gives what one per family gives: the same sockets, each with
/// its own family's addresses, and with tcp_info where asked.
#[test]
fn both_families_in_one_dump_are_the_sockets_of_each() {
    let Ok(fd) = open() else {
        println!("skipped: netlink sock_diag is not available here");
        return;
    };
    let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let v6 = std::net::TcpListener::bind("[::1]:0").ok();
    let mut ours: Vec<u16> = vec![v4.local_addr().unwrap().port()];
    ours.extend(v6.iter().map(|l| l.local_addr().unwrap().port()));
    let _client = std::net::TcpStream::connect(v4.local_addr().unwrap()).unwrap();
    let key = |s: &Socket| (s.family, s.state, s.local, s.remote);
    let mine = |s: &Socket| ours.contains(&s.local.port()) || ours.contains(&s.remote.port());

    let mut each_family = Vec::new();
    for family in Family::ALL {
        dump(&fd, family, ALL_STATES, 100, &mut |s| {
            if mine(s) {
                each_family.push(key(s))
            }
        })
        .unwrap();
    }
    let mut both = Vec::new();
    let n = dump_both(&fd, ALL_STATES, 100, &mut |s| {
        if mine(s) {
            both.push(key(s))
        }
    })
    .unwrap();
    let mut with_info = Vec::new();
    dump_info_both(&fd, 1 << 10, 100, &mut |s, info| {
        if mine(s) {
            with_info.push((s.state, info.is_some()))
        }
    })
    .unwrap();
    each_family.sort();
    both.sort();
    assert!(n >= both.len() as u64);
    // The listeners, the client and the accepted end (not accepted yet, still a full socket).
    assert_eq!(both.len(), 3 + usize::from(v6.is_some()), "{both:?}");
    assert_eq!(both, each_family);
    if v6.is_some() {
        assert!(both.iter().any(|k| k.0 == Family::Ipv6), "{both:?}");
    }
    // Only the listeners (state mask 1 << 10), each with tcp_info.
    assert_eq!(
        with_info,
        vec![(TcpState::Listen, true); 1 + usize::from(v6.is_some())]
    );
}
