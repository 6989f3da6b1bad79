//! What sock_diag appends to an `inet_diag_msg` when asked through `idiag_ext`: the netlink
//! attributes after the 72-byte message (`struct rtattr`, 4-byte aligned), and the kernel's
//! `struct tcp_info` (`INET_DIAG_INFO`, `include/uapi/linux/tcp.h`) decoded from as many bytes as
//! arrived. Pure parsing, no I/O: a malformed attribute ends the walk, a short struct leaves the
//! later fields `None`, and nothing is ever read past what the kernel sent.

use crate::model::TcpInfo;

/// `INET_DIAG_INFO` (`linux/inet_diag.h`): the attribute that carries `struct tcp_info`.
pub const INET_DIAG_INFO: u16 = 2;

/// The `inet_diag_msg` the attributes follow.
const INET_DIAG_MSG_LEN: usize = 72;

/// `struct rtattr`: `u16 rta_len` (header included), `u16 rta_type`.
const RTA_HDRLEN: usize = 4;

/// The high bits of `rta_type` are flags (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`).
const RTA_TYPE_MASK: u16 = 0x3fff;

/// `struct tcp_info` as Linux 2.6 first shipped it, up to `tcpi_total_retrans`: the fields every
/// kernel sends. A shorter attribute is not a `tcp_info`.
const TCP_INFO_MIN: usize = 104;

/// The payload of the first attribute of type `kind` among `attrs`. A header shorter than
/// itself or longer than what is left ends the walk: nothing after it can be trusted.
fn attribute(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= RTA_HDRLEN {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let this = u16::from_ne_bytes([attrs[2], attrs[3]]) & RTA_TYPE_MASK;
        if len < RTA_HDRLEN || len > attrs.len() {
            return None;
        }
        if this == kind {
            return Some(&attrs[RTA_HDRLEN..len]);
        }
        let aligned = (len + 3) & !3;
        attrs = attrs.get(aligned..)?;
    }
    None
}

/// The `tcp_info` of one sock_diag message (`inet_diag_msg` and its attributes); `None` when
/// the kernel sent none (TIME_WAIT and request mini-sockets, or INFO not asked for) or when
/// what it sent is malformed.
pub fn tcp_info_of(message: &[u8]) -> Option<TcpInfo> {
    decode(attribute(
        message.get(INET_DIAG_MSG_LEN..)?,
        INET_DIAG_INFO,
    )?)
}

/// Decodes `struct tcp_info` from the bytes that arrived: `None` below the 2.6 struct; a field
/// a shorter (older kernel's) struct lacks is `None`.
fn decode(b: &[u8]) -> Option<TcpInfo> {
    if b.len() < TCP_INFO_MIN {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        let bytes = b.get(at..at + 4)?;
        Some(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    let u64_at = |at: usize| -> Option<u64> {
        let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(u64::from_ne_bytes(bytes))
    };
    // Offsets from include/uapi/linux/tcp.h, checked against /usr/include/linux/tcp.h (6.1).
    Some(TcpInfo {
        retransmits: b[2],
        probes: b[3],
        backoff: b[4],
        options: b[5],
        rto_us: u32_at(8)?,
        unacked: u32_at(24)?,
        lost: u32_at(32)?,
        last_data_sent_ms: u32_at(44)?,
        last_data_recv_ms: u32_at(52)?,
        last_ack_recv_ms: u32_at(56)?,
        rtt_us: u32_at(68)?,
        rttvar_us: u32_at(72)?,
        total_retrans: u32_at(100)?,
        bytes_acked: u64_at(120),
        bytes_received: u64_at(128),
        segs_out: u32_at(136),
        segs_in: u32_at(140),
        snd_wnd: u32_at(228),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `struct tcp_info` of `len` bytes whose u32 at offset `at` holds `at` (so every field
    /// says where it was read from), with the u8 fields 0..8 holding their offset too.
    fn info_bytes(len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        for at in (8..len.saturating_sub(3)).step_by(4) {
            b[at..at + 4].copy_from_slice(&(at as u32).to_ne_bytes());
        }
        for (at, byte) in b.iter_mut().enumerate().take(8) {
            *byte = at as u8;
        }
        b
    }

    fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((RTA_HDRLEN + payload.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(payload);
        while !a.len().is_multiple_of(4) {
            a.push(0);
        }
        a
    }

    /// A 72-byte `inet_diag_msg` followed by `attrs`.
    fn message(attrs: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; INET_DIAG_MSG_LEN];
        m[0] = 2;
        m[1] = 8;
        m.extend_from_slice(attrs);
        m
    }

    #[test]
    fn every_field_is_read_at_its_kernel_offset() {
        let info = decode(&info_bytes(232)).unwrap();
        assert_eq!((info.retransmits, info.probes, info.backoff), (2, 3, 4));
        assert_eq!(info.options, 5);
        assert_eq!((info.rto_us, info.unacked, info.lost), (8, 24, 32));
        assert_eq!(
            (
                info.last_data_sent_ms,
                info.last_data_recv_ms,
                info.last_ack_recv_ms
            ),
            (44, 52, 56)
        );
        assert_eq!(
            (info.rtt_us, info.rttvar_us, info.total_retrans),
            (68, 72, 100)
        );
        // The u64 fields hold two of the u32 markers each.
        let u64_of = |at: u64| at | (at + 4) << 32;
        let expected = |at: u64| {
            if cfg!(target_endian = "little") {
                u64_of(at)
            } else {
                at << 32 | (at + 4)
            }
        };
        assert_eq!(info.bytes_acked, Some(expected(120)));
        assert_eq!(info.bytes_received, Some(expected(128)));
        assert_eq!((info.segs_out, info.snd_wnd), (Some(136), Some(228)));
        assert_eq!(info.segs_in, Some(140));
    }

    #[test]
    fn older_kernels_send_shorter_structs() {
        // 2.6: up to tcpi_total_retrans; 4.1: bytes_acked/received; 4.2: segs_out; 5.4: snd_wnd.
        let v26 = decode(&info_bytes(104)).unwrap();
        assert_eq!(v26.total_retrans, 100);
        assert_eq!(
            (v26.bytes_acked, v26.segs_out, v26.snd_wnd),
            (None, None, None)
        );
        let v41 = decode(&info_bytes(136)).unwrap();
        assert!(v41.bytes_acked.is_some() && v41.bytes_received.is_some());
        assert_eq!((v41.segs_out, v41.snd_wnd), (None, None));
        let v42 = decode(&info_bytes(144)).unwrap();
        assert_eq!((v42.segs_out, v42.snd_wnd), (Some(136), None));
        // A newer kernel's longer struct: the known fields, the rest ignored.
        let v618 = decode(&info_bytes(280)).unwrap();
        assert_eq!(v618.snd_wnd, Some(228));
        // Half of bytes_acked is not bytes_acked.
        assert_eq!(decode(&info_bytes(124)).unwrap().bytes_acked, None);
        assert_eq!(decode(&info_bytes(103)), None);
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn info_is_found_among_the_other_attributes() {
        // What a 6.x kernel sends for a full socket when INFO is asked: SHUTDOWN (u8, padded),
        // INFO, then CONG ("cubic") and others.
        let mut attrs = attr(8, &[0]);
        attrs.extend(attr(INET_DIAG_INFO, &info_bytes(232)));
        attrs.extend(attr(4, b"cubic\0"));
        let info = tcp_info_of(&message(&attrs)).unwrap();
        assert_eq!(info.last_ack_recv_ms, 56);
        // Without INFO (a mini-socket, or INFO not asked): none.
        assert_eq!(tcp_info_of(&message(&attr(8, &[0]))), None);
        assert_eq!(tcp_info_of(&message(&[])), None);
        assert_eq!(tcp_info_of(&[0u8; 40]), None);
        // An INFO too short to be a tcp_info.
        assert_eq!(
            tcp_info_of(&message(&attr(INET_DIAG_INFO, &info_bytes(64)))),
            None
        );
        // A flag bit in the type is not another type.
        let mut flagged = attr(INET_DIAG_INFO, &info_bytes(232));
        flagged[2..4].copy_from_slice(&(INET_DIAG_INFO | 0x4000).to_ne_bytes());
        assert!(tcp_info_of(&message(&flagged)).is_some());
    }

    #[test]
    fn malformed_attributes_end_the_walk() {
        let info = attr(INET_DIAG_INFO, &info_bytes(232));
        for bad_len in [0u16, 1, 3] {
            // A length shorter than the header: the walk cannot advance past it.
            let mut attrs = vec![0u8; 4];
            attrs[0..2].copy_from_slice(&bad_len.to_ne_bytes());
            attrs[2..4].copy_from_slice(&8u16.to_ne_bytes());
            attrs.extend_from_slice(&info);
            assert_eq!(tcp_info_of(&message(&attrs)), None, "len {bad_len}");
        }
        // A length past the end of the message.
        let mut long = info.clone();
        long[0..2].copy_from_slice(&(info.len() as u16 + 4).to_ne_bytes());
        assert_eq!(tcp_info_of(&message(&long)), None);
        // Cut anywhere inside the attribute.
        for cut in 0..info.len() {
            assert_eq!(tcp_info_of(&message(&info[..cut])), None, "cut at {cut}");
        }
        // The last attribute needs no padding after it.
        let mut unpadded = attr(INET_DIAG_INFO, &info_bytes(105));
        unpadded.truncate(RTA_HDRLEN + 105);
        assert!(tcp_info_of(&message(&unpadded)).is_some());
    }
}
