//! The parser on real kernel lines, malformed lines and hostile readers.

use super::*;

// Every line below was read from /proc/net/tcp{,6} on Linux 6.18.44 (this project's dev
// machine, 2026-11-24) in a network namespace holding sockets made for the purpose, the same
// way tests/fixtures/loopback-mix was captured.
const LISTEN_V4: &str = "   0: 0100007F:1388 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 4564 3 0000000083b23103 100 0 0 10 0                      ";
const CLOSE_WAIT_V4: &str = "   2: 0100007F:1388 0100007F:DD06 08 00000000:00000001 00:00000000 00000000     0        0 4574 1 0000000001623f0e 20 4 0 10 -1                      ";
const ACCEPT_QUEUE_CHILD: &str = "   3: 0100007F:1388 0100007F:DD36 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000098533b21 20 0 0 10 -1                         ";
const ORPHAN_FIN_WAIT2: &str = "   6: 0100007F:DD0E 0100007F:1388 05 00000000:00000000 03:000016D0 00000000     0        0 0 3 00000000eb6497f8                                      ";
const TIME_WAIT_V4: &str = "   7: 0100007F:DD14 0100007F:1388 06 00000000:00000000 03:000016D4 00000000     0        0 0 3 00000000b627f287                                      ";
const FIN_WAIT1_TX: &str = "   8: 0100007F:DD20 0100007F:1388 04 003AF38F:00000000 01:00000010 00000000     0        0 4583 2 000000009d2fc9f1 81 0 0 1 -1                       ";
const SYN_SENT: &str = "  16: 0100007F:A704 0100007F:138B 02 00000001:00000000 01:00000034 00000001     0        0 4751 2 000000005c00c43f 100 0 0 1 -1                      ";
const LISTEN_V6_LOOPBACK: &str = "   0: 00000000000000000000000001000000:1389 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4565 1 0000000044b6a92b 100 0 0 10 0";
const MAPPED_V4_ON_V6: &str = "   6: 0000000000000000FFFF00000100007F:138A 0000000000000000FFFF00000100007F:9E80 01 00000000:00000000 00:00000000 00000000     0        0 4572 1 000000002264771e 20 0 0 10 -1";
// A request socket in get_openreq4's format (tr 1, retrnsmt = SYN-ACK resends, inode 0,
// refcnt 0). Written by hand: loopback completes handshakes before a capture can see them.
const REQUEST_SOCKET: &str = "   4: 0100007F:1388 0100007F:C350 03 00000000:00000000 01:00000064 00000002  1000        0 0 0 0000000000000000";

fn parse(line: &str, family: Family) -> Result<Socket, Malformation> {
    parse_line(trim(line.as_bytes()), family)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn full_listen_socket() {
    let s = parse(LISTEN_V4, Family::Ipv4).unwrap();
    assert_eq!(s.state, TcpState::Listen);
    assert_eq!(s.kind, SocketKind::Full);
    assert_eq!(s.local, addr("127.0.0.1:5000"));
    assert_eq!(s.remote, addr("0.0.0.0:0"));
    assert_eq!(s.rx_queue, 2, "accept-queue length");
    assert_eq!(s.inode, 4564);
    assert_eq!(s.timer, TimerKind::Off);
}

#[test]
fn close_wait_keeps_the_fin_byte_in_rx() {
    let s = parse(CLOSE_WAIT_V4, Family::Ipv4).unwrap();
    assert_eq!(s.state, TcpState::CloseWait);
    assert_eq!(s.remote, addr("127.0.0.1:56582"));
    assert_eq!(s.rx_queue, 1);
    assert_eq!(s.probes, 0);
}

#[test]
fn accept_queue_child_has_inode_zero() {
    let s = parse(ACCEPT_QUEUE_CHILD, Family::Ipv4).unwrap();
    assert_eq!(
        (s.state, s.inode, s.kind),
        (TcpState::Established, 0, SocketKind::Full)
    );
}

#[test]
fn mini_sockets_have_twelve_fields() {
    let fw2 = parse(ORPHAN_FIN_WAIT2, Family::Ipv4).unwrap();
    assert_eq!(fw2.state, TcpState::FinWait2);
    assert_eq!(fw2.kind, SocketKind::TimeWait);
    assert_eq!(fw2.timer, TimerKind::TimeWait);
    assert_eq!(fw2.timer_ticks, 0x16D0);
    let tw = parse(TIME_WAIT_V4, Family::Ipv4).unwrap();
    assert_eq!(
        (tw.state, tw.kind, tw.inode),
        (TcpState::TimeWait, SocketKind::TimeWait, 0)
    );
}

#[test]
fn request_socket() {
    let s = parse(REQUEST_SOCKET, Family::Ipv4).unwrap();
    assert_eq!((s.state, s.kind), (TcpState::SynRecv, SocketKind::Request));
    assert_eq!(
        (s.retransmits, s.uid, s.timer),
        (2, 1000, TimerKind::Retransmit)
    );
}

#[test]
fn queues_timers_and_retransmits() {
    let s = parse(FIN_WAIT1_TX, Family::Ipv4).unwrap();
    assert_eq!((s.state, s.tx_queue), (TcpState::FinWait1, 0x3AF38F));
    assert_eq!((s.timer, s.timer_ticks), (TimerKind::Retransmit, 0x10));
    let s = parse(SYN_SENT, Family::Ipv4).unwrap();
    assert_eq!(
        (s.state, s.tx_queue, s.retransmits),
        (TcpState::SynSent, 1, 1)
    );
}

#[test]
fn ipv6_and_v4_mapped_addresses() {
    let s = parse(LISTEN_V6_LOOPBACK, Family::Ipv6).unwrap();
    assert_eq!(s.local, addr("[::1]:5001"));
    assert_eq!(s.family, Family::Ipv6);
    let s = parse(MAPPED_V4_ON_V6, Family::Ipv6).unwrap();
    assert_eq!(s.local, addr("127.0.0.1:5002"), "v4-mapped shown as IPv4");
    assert_eq!(s.remote, addr("127.0.0.1:40576"));
    assert_eq!(s.family, Family::Ipv6, "family stays the socket's own");
}

#[test]
fn future_kernels_may_append_fields() {
    let line = format!("{} 7 8 9", LISTEN_V6_LOOPBACK);
    assert_eq!(parse(&line, Family::Ipv6).unwrap().inode, 4565);
}

#[test]
fn unknown_state_codes_are_kept() {
    let line = LISTEN_V4.replacen(" 0A ", " 0D ", 1);
    assert_eq!(
        parse(&line, Family::Ipv4).unwrap().state,
        TcpState::Unknown(0x0D)
    );
}

#[test]
fn malformed_lines_are_rejected_with_a_reason() {
    let cases: &[(String, Family, Malformation)] = &[
        (
            "   0: 0100007F:1388".into(),
            Family::Ipv4,
            Malformation::FieldCount(2),
        ),
        (
            TIME_WAIT_V4.replace(" 00000000b627f287", " 1 2 3"),
            Family::Ipv4,
            Malformation::FieldCount(14),
        ),
        (
            LISTEN_V4.replacen(" 0A ", " ZZ ", 1),
            Family::Ipv4,
            Malformation::State,
        ),
        (
            LISTEN_V4.replacen(" 0A ", " 10A ", 1),
            Family::Ipv4,
            Malformation::State,
        ),
        (
            LISTEN_V4.replacen("0100007F:", "0100007:", 1),
            Family::Ipv4,
            Malformation::AddressLength(Family::Ipv4),
        ),
        (
            LISTEN_V4.to_string(),
            Family::Ipv6,
            Malformation::AddressLength(Family::Ipv6),
        ),
        (
            LISTEN_V4.replacen("0100007F:", "01G0007F:", 1),
            Family::Ipv4,
            Malformation::Address("local"),
        ),
        (
            LISTEN_V4.replacen(":1388", ":13", 1),
            Family::Ipv4,
            Malformation::Address("local"),
        ),
        (
            LISTEN_V4.replacen(" 4564 ", " 45x4 ", 1),
            Family::Ipv4,
            Malformation::Inode,
        ),
        (
            LISTEN_V4.replacen(" 00000000:00000002 ", " 00000000 ", 1),
            Family::Ipv4,
            Malformation::Queues,
        ),
        (
            LISTEN_V4.replacen("   0: ", "   0 ", 1),
            Family::Ipv4,
            Malformation::SlotNumber,
        ),
        (
            LISTEN_V4.replacen("     0        0 ", "    -1        0 ", 1),
            Family::Ipv4,
            Malformation::Uid,
        ),
    ];
    for (line, family, want) in cases {
        assert_eq!(parse(line, *family), Err(*want), "line: {line}");
    }
}

#[test]
fn non_utf8_bytes_are_a_malformed_field_not_a_panic() {
    let mut line = LISTEN_V4.as_bytes().to_vec();
    let at = line.iter().position(|&b| b == b'A').unwrap();
    line[at] = 0xFF;
    assert_eq!(
        parse_line(trim(&line), Family::Ipv4),
        Err(Malformation::State)
    );
}

fn table(text: &[u8]) -> Vec<Line> {
    TcpTable::new(text, Family::Ipv4).collect()
}

#[test]
fn table_skips_header_and_reports_line_numbers() {
    let text = format!(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n{LISTEN_V4}\ngarbage\n{CLOSE_WAIT_V4}\n"
    );
    let lines = table(text.as_bytes());
    assert_eq!(lines.len(), 3);
    assert!(matches!(lines[0], Line::Socket(_)));
    assert!(matches!(
        lines[1],
        Line::Skipped {
            line: 3,
            why: Malformation::FieldCount(1)
        }
    ));
    assert!(matches!(lines[2], Line::Socket(s) if s.state == TcpState::CloseWait));
}

#[test]
fn empty_input_and_truncated_last_line() {
    // An empty file is no kernel table: the kernel writes the header line even with no socket.
    assert!(matches!(
        table(b"")[..],
        [Line::Skipped {
            line: 1,
            why: Malformation::Empty
        }]
    ));
    assert!(table(b"  sl  local_address rem_address   st\n").is_empty());
    let text = format!("{LISTEN_V4}\n{}", &CLOSE_WAIT_V4[..60]);
    let lines = table(text.as_bytes());
    assert!(matches!(lines[0], Line::Socket(_)));
    assert!(matches!(
        lines[1],
        Line::Skipped {
            line: 2,
            why: Malformation::Truncated
        }
    ));
}

#[test]
fn read_errors_end_the_table() {
    struct Broken;
    impl io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("boom"))
        }
    }
    let lines: Vec<Line> = TcpTable::new(io::BufReader::new(Broken), Family::Ipv4).collect();
    assert!(matches!(&lines[..], [Line::Failed { line: 1, .. }]));
}

#[test]
fn an_endless_line_is_an_error_after_max_line_bytes() {
    // /dev/zero as `tcp`: no newline ever. Reading the line whole allocated until abort.
    let zeros = io::BufReader::new(io::repeat(0).take(64 << 20));
    let mut table = TcpTable::new(zeros, Family::Ipv4);
    match table.next() {
        Some(Line::Failed { line: 1, error }) => {
            assert_eq!(
                error.to_string(),
                "line longer than 4096 bytes: not a kernel socket table"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(table.next().is_none());
    // A line of exactly MAX_LINE bytes and its newline is still read.
    let mut text = vec![b'x'; MAX_LINE];
    text.push(b'\n');
    let lines: Vec<Line> = TcpTable::new(&text[..], Family::Ipv4).collect();
    assert!(matches!(&lines[..], [Line::Skipped { line: 1, .. }]));
}

#[test]
fn lines_that_repeat_the_socket_before_them_are_counted_and_kept() {
    let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    // The same socket under another slot number is still the same socket.
    let next_slot = CLOSE_WAIT_V4.replacen("   2: ", "   3: ", 1);
    let text = format!(
        "{header}\n{LISTEN_V4}\n{CLOSE_WAIT_V4}\n{CLOSE_WAIT_V4}\n{next_slot}\n{LISTEN_V4}\ngarbage\n{LISTEN_V4}\n"
    );
    let mut t = TcpTable::new(text.as_bytes(), Family::Ipv4);
    let sockets = t.by_ref().filter(|l| matches!(l, Line::Socket(_))).count();
    assert_eq!(sockets, 6, "counted, as the kernel's counts would be");
    // Lines 4 and 5 repeat line 3; line 6 follows another socket, line 8 a skipped line.
    assert_eq!(t.repeated(), 2);

    // Every line of a real table is a socket of its own, mini-sockets included.
    let real = [
        LISTEN_V4,
        CLOSE_WAIT_V4,
        ACCEPT_QUEUE_CHILD,
        ORPHAN_FIN_WAIT2,
        TIME_WAIT_V4,
        FIN_WAIT1_TX,
        SYN_SENT,
        REQUEST_SOCKET,
    ];
    let text = format!("{header}\n{}\n", real.join("\n"));
    let mut t = TcpTable::new(text.as_bytes(), Family::Ipv4);
    assert_eq!(t.by_ref().count(), real.len());
    assert_eq!(t.repeated(), 0);
}
