//! The parts of the kernel's `struct tcp_info` (`include/uapi/linux/tcp.h`) the evidence reads,
//! as sock_diag hands them over (`INET_DIAG_INFO`). Times are milliseconds ago, round-trip
//! times microseconds, as the kernel keeps them. A field a shorter (older) struct lacks is
//! `None`; the first ones exist on every kernel sockscope runs on.

/// One connection's `tcp_info`, the fields sockscope uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// `tcpi_retransmits`: consecutive RTO retransmits of the current segment.
    pub retransmits: u8,
    /// `tcpi_probes`: unanswered zero-window or keepalive probes.
    pub probes: u8,
    /// `tcpi_backoff`: how often the RTO has doubled (a SYN_SENT socket's SYN resends).
    pub backoff: u8,
    /// `tcpi_options`: the options the handshake negotiated (timestamps, SACK, window
    /// scaling, ECN); 0 for a connect that never got an answer.
    pub options: u8,
    /// `tcpi_rto`, µs.
    pub rto_us: u32,
    /// `tcpi_unacked`: segments sent and not yet acknowledged (data outstanding).
    pub unacked: u32,
    /// `tcpi_lost`.
    pub lost: u32,
    /// `tcpi_last_data_sent`, ms ago.
    pub last_data_sent_ms: u32,
    /// `tcpi_last_data_recv`, ms ago.
    pub last_data_recv_ms: u32,
    /// `tcpi_last_ack_recv`, ms ago. For CLOSE_WAIT, the peer's FIN was its last segment: this
    /// is how long ago the peer closed.
    pub last_ack_recv_ms: u32,
    /// `tcpi_rtt`, µs (smoothed).
    pub rtt_us: u32,
    /// `tcpi_rttvar`, µs.
    pub rttvar_us: u32,
    /// `tcpi_total_retrans`: segments retransmitted over the connection's life.
    pub total_retrans: u32,
    /// `tcpi_segs_out` (4.2): segments sent, retransmissions included.
    pub segs_out: Option<u32>,
    /// `tcpi_segs_in` (4.2): segments received.
    pub segs_in: Option<u32>,
    /// `tcpi_bytes_acked` (4.1).
    pub bytes_acked: Option<u64>,
    /// `tcpi_bytes_received` (4.1).
    pub bytes_received: Option<u64>,
    /// `tcpi_snd_wnd` (5.4): the window the peer advertises; 0 is a zero window.
    pub snd_wnd: Option<u32>,
}
