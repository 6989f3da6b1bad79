//! Property tests for every parser the fuzz targets under `fuzz/` cover: what the kernel (or
//! sockscope itself) writes parses back to the same values, and any other input is rejected
//! or skipped by a stated rule (a torn state file is never used, sockstat's values come from
//! its TCP line only), never a panic: each test asserts something an answer could get wrong.
//! Bounded to a few hundred cases each, so the whole module runs in about a second; the fuzz
//! targets search far longer.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use sockscope::internals::{
    Family, Line, Range, TcpTable, parse_counters, parse_msg, parse_sockstat, parse_state,
    parse_sysctls, tcp_info_of, walk_messages, walk_messages_info,
};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[derive(Debug, Clone)]
struct Fields {
    local: (Ipv4Addr, u16),
    remote: (Ipv4Addr, u16),
    state: u8,
    tx: u32,
    rx: u32,
    timer: u8,
    when: u32,
    retr: u32,
    uid: u32,
    inode: u32,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        (any::<u32>(), any::<u16>(), any::<u32>(), any::<u16>()),
        (1u8..=11, any::<u32>(), any::<u32>(), 0u8..=4),
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
    )
        .prop_map(
            |((la, lp, ra, rp), (state, tx, rx, timer), (when, retr, uid, inode))| Fields {
                local: (Ipv4Addr::from(la), lp),
                remote: (Ipv4Addr::from(ra), rp),
                state,
                tx,
                rx,
                timer,
                when,
                retr,
                uid,
                inode,
            },
        )
}

/// A netlink `struct rtattr`: length (header included), type, payload, padding to 4 bytes.
fn rtattr(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut a = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&kind.to_ne_bytes());
    a.extend_from_slice(payload);
    while !a.len().is_multiple_of(4) {
        a.push(0);
    }
    a
}

/// One sock_diag reply (`payload`: the `inet_diag_msg` and its attributes), then `NLMSG_DONE`.
fn framed(payload: &[u8]) -> Vec<u8> {
    let mut buf = ((16 + payload.len()) as u32).to_ne_bytes().to_vec();
    buf.extend_from_slice(&20u16.to_ne_bytes());
    buf.extend_from_slice(&[0; 10]);
    buf.extend_from_slice(payload);
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
    buf.extend_from_slice(&16u32.to_ne_bytes());
    buf.extend_from_slice(&3u16.to_ne_bytes());
    buf.extend_from_slice(&[0; 10]);
    buf
}

/// A full-socket line as `get_tcp4_sock` prints it.
fn tcp4_line(slot: usize, f: &Fields) -> String {
    let hex = |ip: Ipv4Addr| u32::from_ne_bytes(ip.octets());
    format!(
        "{slot:4}: {:08X}:{:04X} {:08X}:{:04X} {:02X} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:5} {:8} {} 1 0000000000000000 20 4 30 10 -1                     ",
        hex(f.local.0),
        f.local.1,
        hex(f.remote.0),
        f.remote.1,
        f.state,
        f.tx,
        f.rx,
        f.timer,
        f.when,
        f.retr,
        f.uid,
        0,
        f.inode
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A state file as `check` writes it, last written at `written_at`.
fn state_doc(written_at: u64, rates: &[f64], notified_at: u64) -> String {
    serde_json::json!({
        "tool": "sockscope", "schema": 1, "written_at": written_at,
        "written_at_ms": written_at * 1000, "boot_id": null,
        "history": {"LISTEN": [1, 2]}, "counters": {"Tcp.X": 1},
        "close_wait": {"7": written_at}, "fin_wait2": {}, "accept_queues": {},
        "reset_rates": rates, "last_status": "OK",
        "notified_status": "WARNING", "notified_at": notified_at,
    })
    .to_string()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tcp_lines_parse_back_to_their_fields(all in prop::collection::vec(fields(), 0..20)) {
        let mut table = String::from("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
        for (i, f) in all.iter().enumerate() {
            table.push_str(&tcp4_line(i, f));
            table.push('\n');
        }
        let parsed: Vec<Line> = TcpTable::new(table.as_bytes(), Family::Ipv4).collect();
        prop_assert_eq!(parsed.len(), all.len());
        for (line, f) in parsed.iter().zip(&all) {
            let Line::Socket(s) = line else {
                return Err(TestCaseError::fail(format!("{line:?}")));
            };
            prop_assert_eq!(s.local, (f.local.0, f.local.1).into());
            prop_assert_eq!(s.remote, (f.remote.0, f.remote.1).into());
            prop_assert_eq!(s.state.code(), f.state);
            prop_assert_eq!((s.tx_queue, s.rx_queue), (f.tx, f.rx));
            prop_assert_eq!(s.timer_ticks, u64::from(f.when));
            prop_assert_eq!((s.retransmits, s.uid, s.inode), (f.retr, f.uid, u64::from(f.inode)));
        }
    }

    #[test]
    fn any_bytes_are_sockets_skips_or_one_failure(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        v6 in any::<bool>(),
    ) {
        let family = if v6 { Family::Ipv6 } else { Family::Ipv4 };
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        let items: Vec<Line> = TcpTable::new(&bytes[..], family).collect();
        prop_assert!(items.len() <= lines);
        let failures = items.iter().filter(|l| matches!(l, Line::Failed { .. })).count();
        prop_assert!(failures <= 1);
    }

    #[test]
    fn sockstat_round_trips(v in prop::array::uniform5(any::<u64>()), extra in any::<u32>()) {
        let text = format!(
            "sockets: used 5\nTCP: inuse {} orphan {} tw {} alloc {} mem {} pressure {extra}\nUDP: inuse 0 mem 0\n",
            v[0], v[1], v[2], v[3], v[4]
        );
        let s = parse_sockstat(&text).expect("a well-formed TCP line");
        prop_assert_eq!([s.inuse, s.orphan, s.tw, s.alloc, s.mem], v);
    }

    #[test]
    fn sockstat_is_read_from_its_tcp_line_alone(
        text in any::<String>(),
        v in prop::array::uniform5(any::<u64>()),
    ) {
        // Other protocols' lines, and whatever a kernel adds, neither make a TCP line up nor
        // change the one there is.
        let others: String = text
            .lines()
            .filter(|l| !l.starts_with("TCP:"))
            .map(|l| format!("{l}\n"))
            .collect();
        prop_assert!(parse_sockstat(&others).is_none(), "{:?}", others);
        let tcp = format!(
            "TCP: inuse {} orphan {} tw {} alloc {} mem {}\n",
            v[0], v[1], v[2], v[3], v[4]
        );
        let s = parse_sockstat(&format!("{others}{tcp}{others}"))
            .ok_or_else(|| TestCaseError::fail("the TCP line was not found"))?;
        prop_assert_eq!([s.inuse, s.orphan, s.tw, s.alloc, s.mem], v);
    }

    #[test]
    fn counters_round_trip(values in prop::collection::vec(any::<i64>(), 1..40)) {
        let names: Vec<String> = (0..values.len()).map(|i| format!("C{i}")).collect();
        let text = format!(
            "TcpExt: {}\nTcpExt: {}\n",
            names.join(" "),
            values.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")
        );
        let parsed = parse_counters(text.as_bytes());
        prop_assert_eq!(parsed.len(), values.len());
        for (name, v) in names.iter().zip(&values) {
            prop_assert_eq!(parsed.get(&format!("TcpExt.{name}")), Some(v));
        }
    }

    #[test]
    fn counters_take_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        for name in parse_counters(&bytes[..]).keys() {
            prop_assert!(name.contains('.'));
        }
    }

    #[test]
    fn sysctls_round_trip(lo in any::<u16>(), hi in any::<u16>(), mem in prop::array::uniform3(any::<u64>())) {
        let (range, list, _, _) = parse_sysctls(&format!("{lo}\t{hi}\n"));
        prop_assert_eq!(range, (lo <= hi).then_some((lo, hi)));
        prop_assert_eq!(list, None);
        let (_, list, _, _) = parse_sysctls(&format!("{lo},{}-{}\n", lo.min(hi), lo.max(hi)));
        prop_assert_eq!(list, Some(vec![(lo, lo), (lo.min(hi), lo.max(hi))]));
        let (_, _, tcp_mem, _) = parse_sysctls(&format!("{}\t{}\t{}\n", mem[0], mem[1], mem[2]));
        prop_assert_eq!(tcp_mem, Some(mem));
    }

    #[test]
    fn sysctls_take_any_text(text in any::<String>()) {
        if let (Some((lo, hi)), _, _, _) = parse_sysctls(&text) {
            prop_assert!(lo <= hi);
        }
    }

    #[test]
    fn ranges_print_back_to_themselves(
        start in prop::option::of(-1e9f64..1e9),
        len in prop::option::of(0f64..1e9),
        inside in any::<bool>(),
    ) {
        let end = len.map(|l| start.unwrap_or(0.0) + l);
        let range = Range { start, end, inside };
        let again: Range = range.to_string().parse().map_err(TestCaseError::fail)?;
        prop_assert_eq!(again, range);
    }

    #[test]
    fn ranges_take_any_text(text in any::<String>()) {
        if let Err(e) = text.parse::<Range>() {
            prop_assert!(e.starts_with("invalid range"));
        }
    }

    #[test]
    fn state_files_written_now_are_used_and_future_ones_are_not(
        ago in 0u64..1_000_000,
        ahead in 301u64..u32::MAX as u64,
        rates in prop::collection::vec(0f64..1e6, 0..8),
    ) {
        let now = now();
        prop_assert!(parse_state(state_doc(now - ago, &rates, now - ago).as_bytes()));
        prop_assert!(!parse_state(state_doc(now - ago, &rates, now + ahead).as_bytes()));
    }

    #[test]
    fn damaged_state_files_are_used_only_while_still_state_files(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        junk in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let good = state_doc(now() - 60, &[1.0], now() - 60).into_bytes();
        prop_assert!(parse_state(&good));
        // A torn write (a full disk, a crash without the atomic rename): any strict prefix.
        prop_assert!(!parse_state(&good[..at.index(good.len())]));
        // After the document, only JSON's own whitespace may follow.
        let blank = junk.iter().all(|b| b" \t\n\r".contains(b));
        prop_assert_eq!(parse_state(&[&good[..], &junk].concat()), blank);
        // One byte changed, or bytes of any kind: used only if still a sockscope state file.
        let mut changed = good.clone();
        changed[at.index(good.len())] = byte;
        for bytes in [changed, bytes] {
            if parse_state(&bytes) {
                let v: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| TestCaseError::fail(format!("used, yet not JSON: {e}")))?;
                prop_assert_eq!(&v["tool"], "sockscope");
                prop_assert_eq!(&v["schema"], 1);
            }
        }
    }

    #[test]
    fn sock_diag_messages_parse_back(
        f in fields(),
        v6 in any::<bool>(),
        backlog in any::<u32>(),
    ) {
        // inet_diag_msg (linux/inet_diag.h): family, state, timer, retrans, then the socket id.
        let mut m = [0u8; 72];
        m[0] = if v6 { 10 } else { 2 };
        m[1] = f.state;
        m[2] = f.timer;
        m[4..6].copy_from_slice(&f.local.1.to_be_bytes());
        m[6..8].copy_from_slice(&f.remote.1.to_be_bytes());
        let put = |m: &mut [u8; 72], at: usize, ip: Ipv4Addr| {
            if v6 {
                m[at..at + 16].copy_from_slice(&ip.to_ipv6_mapped().octets());
            } else {
                m[at..at + 4].copy_from_slice(&ip.octets());
            }
        };
        put(&mut m, 8, f.local.0);
        put(&mut m, 24, f.remote.0);
        m[56..60].copy_from_slice(&f.rx.to_ne_bytes());
        m[60..64].copy_from_slice(&backlog.to_ne_bytes());
        m[64..68].copy_from_slice(&f.uid.to_ne_bytes());
        m[68..72].copy_from_slice(&f.inode.to_ne_bytes());
        let s = parse_msg(&m, 100).expect("a whole message");
        prop_assert_eq!(s.local, (f.local.0, f.local.1).into());
        prop_assert_eq!(s.remote, (f.remote.0, f.remote.1).into());
        prop_assert_eq!((s.state.code(), s.rx_queue, s.uid), (f.state, f.rx, f.uid));
        prop_assert_eq!(s.inode, u64::from(f.inode));
        prop_assert_eq!(s.backlog.is_some(), f.state == 0x0A);

        // The same message in a netlink header, then NLMSG_DONE.
        let mut buf = Vec::new();
        buf.extend_from_slice(&(16u32 + 72).to_ne_bytes());
        buf.extend_from_slice(&20u16.to_ne_bytes());
        buf.extend_from_slice(&[0; 10]);
        buf.extend_from_slice(&m);
        buf.extend_from_slice(&16u32.to_ne_bytes());
        buf.extend_from_slice(&3u16.to_ne_bytes());
        buf.extend_from_slice(&[0; 10]);
        let mut seen = Vec::new();
        let walked = walk_messages(&buf, 100, &mut |s| seen.push(*s)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(walked, (1, true));
        prop_assert_eq!(seen[0].inode, s.inode);
    }

    #[test]
    fn sock_diag_takes_any_bytes(
        mut bytes in prop::collection::vec(any::<u8>(), 0..600),
        family in prop_oneof![Just(2u8), Just(10u8), any::<u8>()],
    ) {
        if let Some(first) = bytes.first_mut() {
            *first = family;
        }
        // A socket from any inet_diag_msg-sized message of an inet family, its ports read
        // where the kernel puts them; nothing from anything else.
        let parsed = parse_msg(&bytes, 100);
        prop_assert_eq!(parsed.is_some(), bytes.len() >= 72 && matches!(family, 2 | 10));
        if let Some(s) = parsed {
            prop_assert_eq!(s.local.port(), u16::from_be_bytes([bytes[4], bytes[5]]));
            prop_assert_eq!(s.remote.port(), u16::from_be_bytes([bytes[6], bytes[7]]));
        }
        let mut n = 0u64;
        if let Ok((count, _)) = walk_messages(&bytes, 100, &mut |_| n += 1) {
            prop_assert_eq!(count, n);
        }
    }

    #[test]
    fn tcp_info_is_read_at_its_offsets_from_as_many_bytes_as_arrived(
        words in prop::collection::vec(any::<u32>(), 80),
        len in 0usize..320,
        before in prop::collection::vec((0u16..64, prop::collection::vec(any::<u8>(), 0..12)), 0..4),
        after in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        // struct tcp_info (include/uapi/linux/tcp.h) of `len` bytes, after other attributes
        // (SHUTDOWN, MEMINFO, CONG…; never INFO's type 2) and before anything at all.
        let raw: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).take(len).collect();
        let mut m = vec![0u8; 72];
        m[0] = 2;
        m[1] = 8;
        for (kind, payload) in &before {
            m.extend(rtattr(if *kind == 2 { 3 } else { *kind }, payload));
        }
        m.extend(rtattr(2, &raw));
        m.extend_from_slice(&after);
        let info = tcp_info_of(&m);
        // Shorter than the 2.6 struct (up to tcpi_total_retrans) is not a tcp_info.
        prop_assert_eq!(info.is_some(), len >= 104);
        let Some(info) = info else { return Ok(()) };
        let u32_at = |at: usize| (raw.len() >= at + 4).then(|| u32::from_ne_bytes(raw[at..at + 4].try_into().unwrap()));
        let u64_at = |at: usize| (raw.len() >= at + 8).then(|| u64::from_ne_bytes(raw[at..at + 8].try_into().unwrap()));
        prop_assert_eq!((info.retransmits, info.probes, info.backoff), (raw[2], raw[3], raw[4]));
        prop_assert_eq!(Some(info.rto_us), u32_at(8));
        prop_assert_eq!(Some(info.unacked), u32_at(24));
        prop_assert_eq!(Some(info.lost), u32_at(32));
        prop_assert_eq!(Some(info.last_data_sent_ms), u32_at(44));
        prop_assert_eq!(Some(info.last_data_recv_ms), u32_at(52));
        prop_assert_eq!(Some(info.last_ack_recv_ms), u32_at(56));
        prop_assert_eq!(Some(info.rtt_us), u32_at(68));
        prop_assert_eq!(Some(info.rttvar_us), u32_at(72));
        prop_assert_eq!(Some(info.total_retrans), u32_at(100));
        // The later fields exist only when the kernel sent them.
        prop_assert_eq!(info.bytes_acked, u64_at(120));
        prop_assert_eq!(info.bytes_received, u64_at(128));
        prop_assert_eq!(info.segs_out, u32_at(136));
        prop_assert_eq!(info.snd_wnd, u32_at(228));
    }

    #[test]
    fn asking_for_tcp_info_changes_no_socket(
        head in prop_oneof![
            prop::collection::vec(any::<u8>(), 72),
            prop::collection::vec(any::<u8>(), 0..100),
        ],
        info in prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        tail in prop::collection::vec(any::<u8>(), 0..300),
        family in prop_oneof![Just(2u8), Just(10u8), any::<u8>()],
        extra in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        // Any payload in a well-formed netlink message (often an inet_diag_msg and an INFO
        // attribute, then anything): the walk with tcp_info hands on the same sockets as the
        // count's walk, each with the tcp_info its message carries.
        let mut payload = head;
        if let Some(info) = &info {
            payload.extend(rtattr(2, info));
        }
        payload.extend_from_slice(&tail);
        if let Some(first) = payload.first_mut() {
            *first = family;
        }
        let buf = framed(&payload);
        let mut plain = Vec::new();
        let counted = walk_messages(&buf, 100, &mut |s| plain.push(*s));
        let mut with = Vec::new();
        let walked = walk_messages_info(&buf, 100, &mut |s, info| with.push((*s, info.copied())));
        prop_assert_eq!(counted.ok(), walked.ok());
        prop_assert_eq!(plain.len(), with.len());
        for (a, (b, info)) in plain.iter().zip(&with) {
            prop_assert_eq!(a, b);
            prop_assert_eq!(*info, tcp_info_of(&payload));
        }
        // A tcp_info found lies inside the message: what follows it changes nothing.
        if let Some(info) = tcp_info_of(&payload) {
            let mut longer = payload.clone();
            longer.extend_from_slice(&extra);
            prop_assert_eq!(tcp_info_of(&longer), Some(info));
        }
    }
}
