//! Many sockets kept compactly (`list` at a million sockets): a fixed 48-byte row per socket,
//! no heap per socket, sorted in place. A [`Socket`] is about 120 bytes; a row keeps the same
//! facts losslessly:
//!
//! - IPv4 addresses inline; IPv6 addresses (rare next to IPv4-mapped ones) as an index into a
//!   table of the distinct IPv6 addresses, renumbered in address order before sorting, so rows
//!   compare as integers in the order [`std::net::SocketAddr`] compares;
//! - the listener's backlog in the Send-Q slot (sock_diag reports a listener's Send-Q as 0);
//! - what does not fit 32 bits (an inode or timer past 2^32 from a hand-made `/proc`) in a side
//!   table, so no value is ever cut;
//! - the arrival order, so an in-place unstable sort orders ties exactly as a stable sort would.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Family, Socket, SocketKind, TcpState, TimerKind};

const IPV6: u8 = 1;
const KIND_TIME_WAIT: u8 = 1 << 1;
const KIND_REQUEST: u8 = 2 << 1;
const KIND_MASK: u8 = 3 << 1;
const LOCAL_V6: u8 = 1 << 3;
const REMOTE_V6: u8 = 1 << 4;
/// `tx_queue` holds the backlog; the socket's own Send-Q is 0.
const BACKLOG: u8 = 1 << 5;
/// `inode` indexes `SocketTable::wide`.
const WIDE: u8 = 1 << 6;

#[derive(Debug, Clone, Copy)]
struct Row {
    /// The inode, or with [`WIDE`] an index into the side table.
    inode: u32,
    timer_ticks: u32,
    /// IPv4 address, or with `LOCAL_V6`/`REMOTE_V6` an index into the IPv6 table.
    local: u32,
    remote: u32,
    tx_queue: u32,
    rx_queue: u32,
    retransmits: u32,
    uid: u32,
    probes: u32,
    seq: u32,
    local_port: u16,
    remote_port: u16,
    state: u8,
    timer: u8,
    flags: u8,
}

/// What does not fit a row: the inode, timer and backlog in full.
#[derive(Debug, Clone, Copy)]
struct Wide {
    inode: u64,
    timer_ticks: u64,
    backlog: Option<u32>,
}

/// The fields rows sort by, as integers that order like the socket's own fields.
#[derive(Debug, Clone, Copy)]
pub struct SortFields {
    pub state: TcpState,
    /// (IPv6, address, port) in one integer: orders like `SocketAddr`.
    pub local: u64,
    pub remote: u64,
    pub rx_queue: u32,
    pub tx_queue: u32,
}

#[derive(Debug, Clone, Default)]
pub struct SocketTable {
    rows: Vec<Row>,
    v6: Vec<Ipv6Addr>,
    /// Looked up for every IPv6 socket pushed: foldhash, not SipHash.
    v6_index: super::FastMap<Ipv6Addr, u32>,
    wide: Vec<Wide>,
    /// The arrival number of each group's first row (groups: the namespaces of a sweep, which
    /// arrive one after another), so a row's group needs no room in the row.
    groups: Vec<u32>,
}

fn timer_code(kind: TimerKind) -> u8 {
    match kind {
        TimerKind::Off => 0,
        TimerKind::Retransmit => 1,
        TimerKind::Keepalive => 2,
        TimerKind::TimeWait => 3,
        TimerKind::Persist => 4,
        TimerKind::Unknown(code) => code,
    }
}

impl SocketTable {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Starts a new group: the rows pushed from now on belong to it (the first group is 0).
    pub fn start_group(&mut self) {
        self.groups
            .push(u32::try_from(self.rows.len()).unwrap_or(u32::MAX));
    }

    /// The group of the `i`th row in table order; `None` before any group was started.
    pub fn group(&self, i: usize) -> Option<usize> {
        let seq = self.rows.get(i)?.seq;
        self.groups
            .partition_point(|&first| first <= seq)
            .checked_sub(1)
    }

    fn address(&mut self, ip: IpAddr) -> (u32, bool) {
        match ip {
            IpAddr::V4(ip) => (u32::from(ip), false),
            IpAddr::V6(ip) => {
                let next = u32::try_from(self.v6.len()).unwrap_or(u32::MAX);
                let index = *self.v6_index.entry(ip).or_insert(next);
                if index == next {
                    self.v6.push(ip);
                }
                (index, true)
            }
        }
    }

    pub fn push(&mut self, s: &Socket) {
        let (local, local_v6) = self.address(s.local.ip());
        let (remote, remote_v6) = self.address(s.remote.ip());
        let mut flags = match s.family {
            Family::Ipv4 => 0,
            Family::Ipv6 => IPV6,
        } | match s.kind {
            SocketKind::Full => 0,
            SocketKind::TimeWait => KIND_TIME_WAIT,
            SocketKind::Request => KIND_REQUEST,
        };
        if local_v6 {
            flags |= LOCAL_V6;
        }
        if remote_v6 {
            flags |= REMOTE_V6;
        }
        let mut tx_queue = s.tx_queue;
        let narrow = (u32::try_from(s.inode), u32::try_from(s.timer_ticks));
        let (inode, timer_ticks) = match (narrow, s.backlog) {
            ((Ok(inode), Ok(ticks)), None) => (inode, ticks),
            ((Ok(inode), Ok(ticks)), Some(backlog)) if s.tx_queue == 0 => {
                flags |= BACKLOG;
                tx_queue = backlog;
                (inode, ticks)
            }
            _ => {
                flags |= WIDE;
                let index = u32::try_from(self.wide.len()).unwrap_or(u32::MAX);
                self.wide.push(Wide {
                    inode: s.inode,
                    timer_ticks: s.timer_ticks,
                    backlog: s.backlog,
                });
                (index, 0)
            }
        };
        let seq = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
        self.rows.push(Row {
            inode,
            timer_ticks,
            local,
            remote,
            tx_queue,
            rx_queue: s.rx_queue,
            retransmits: s.retransmits,
            uid: s.uid,
            probes: s.probes,
            seq,
            local_port: s.local.port(),
            remote_port: s.remote.port(),
            state: s.state.code(),
            timer: timer_code(s.timer),
            flags,
        });
    }

    fn ip(&self, value: u32, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(self.v6[value as usize])
        } else {
            IpAddr::V4(Ipv4Addr::from(value))
        }
    }

    fn socket(&self, r: &Row) -> Socket {
        let wide = (r.flags & WIDE != 0).then(|| self.wide[r.inode as usize]);
        let backlog = match wide {
            Some(w) => w.backlog,
            None => (r.flags & BACKLOG != 0).then_some(r.tx_queue),
        };
        Socket {
            family: if r.flags & IPV6 != 0 {
                Family::Ipv6
            } else {
                Family::Ipv4
            },
            kind: match r.flags & KIND_MASK {
                KIND_TIME_WAIT => SocketKind::TimeWait,
                KIND_REQUEST => SocketKind::Request,
                _ => SocketKind::Full,
            },
            local: SocketAddr::new(self.ip(r.local, r.flags & LOCAL_V6 != 0), r.local_port),
            remote: SocketAddr::new(self.ip(r.remote, r.flags & REMOTE_V6 != 0), r.remote_port),
            state: TcpState::from_code(r.state),
            tx_queue: if r.flags & BACKLOG != 0 {
                0
            } else {
                r.tx_queue
            },
            rx_queue: r.rx_queue,
            timer: TimerKind::from_code(r.timer),
            timer_ticks: wide.map_or(u64::from(r.timer_ticks), |w| w.timer_ticks),
            retransmits: r.retransmits,
            uid: r.uid,
            probes: r.probes,
            inode: wide.map_or(u64::from(r.inode), |w| w.inode),
            backlog,
        }
    }

    /// The sockets in table order.
    pub fn iter(&self) -> impl Iterator<Item = Socket> + '_ {
        self.rows.iter().map(|r| self.socket(r))
    }

    /// Every socket's inode, in table order.
    pub fn inodes(&self) -> impl Iterator<Item = u64> + Clone + '_ {
        self.rows.iter().map(|r| {
            if r.flags & WIDE != 0 {
                self.wide[r.inode as usize].inode
            } else {
                u64::from(r.inode)
            }
        })
    }

    /// Renumbers the IPv6 table in address order, so indices compare as the addresses do.
    fn order_v6(&mut self) {
        let renumber = sort_renumbering(&mut self.v6);
        self.v6_index = super::FastMap::default();
        for r in &mut self.rows {
            if r.flags & LOCAL_V6 != 0 {
                r.local = renumber[r.local as usize];
            }
            if r.flags & REMOTE_V6 != 0 {
                r.remote = renumber[r.remote as usize];
            }
        }
    }

    /// Sorts in place by `key`, ties in the order the sockets were pushed (as a stable sort).
    pub fn sort_by_key<K: Ord>(&mut self, key: impl Fn(&SortFields) -> K) {
        self.order_v6();
        let fields = |r: &Row| SortFields {
            state: TcpState::from_code(r.state),
            local: endpoint_key(r.local, r.flags & LOCAL_V6 != 0, r.local_port),
            remote: endpoint_key(r.remote, r.flags & REMOTE_V6 != 0, r.remote_port),
            rx_queue: r.rx_queue,
            tx_queue: if r.flags & BACKLOG != 0 {
                0
            } else {
                r.tx_queue
            },
        };
        self.rows.sort_unstable_by_key(|r| (key(&fields(r)), r.seq));
    }
}

/// Sorts `items` and returns, for each item's old index, its new one (to renumber what refers
/// to them by index).
pub fn sort_renumbering<T: Ord + Copy>(items: &mut Vec<T>) -> Vec<u32> {
    let mut order: Vec<u32> = (0..u32::try_from(items.len()).unwrap_or(u32::MAX)).collect();
    order.sort_unstable_by_key(|&i| items[i as usize]);
    let mut renumber = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old as usize] = u32::try_from(new).unwrap_or(u32::MAX);
    }
    *items = order.iter().map(|&i| items[i as usize]).collect();
    renumber
}

fn endpoint_key(address: u32, v6: bool, port: u16) -> u64 {
    (u64::from(v6) << 48) | (u64::from(address) << 16) | u64::from(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockets() -> Vec<Socket> {
        let mut listen = Socket::for_test(TcpState::Listen, "[::]:80", "[::]:0");
        listen.backlog = Some(4096);
        let mut wide = Socket::for_test(TcpState::Established, "[::1]:80", "[::1]:5000");
        wide.inode = 1 << 40;
        wide.timer_ticks = 1 << 33;
        wide.timer = TimerKind::Unknown(9);
        let mut odd = Socket::for_test(TcpState::Listen, "10.0.0.1:22", "0.0.0.0:0");
        odd.tx_queue = 7;
        odd.backlog = Some(128);
        let mut tw = Socket::for_test(TcpState::TimeWait, "127.0.0.1:80", "127.0.0.1:4000");
        tw.kind = SocketKind::TimeWait;
        tw.family = Family::Ipv6;
        tw.inode = 0;
        tw.timer = TimerKind::TimeWait;
        tw.timer_ticks = 5900;
        vec![
            wide,
            listen,
            Socket::for_test(TcpState::Unknown(0x0D), "[2001:db8::1]:1", "[::1]:2"),
            odd,
            tw,
            Socket::for_test(TcpState::SynRecv, "127.0.0.1:80", "127.0.0.1:4001"),
        ]
    }

    #[test]
    fn rows_give_back_the_sockets_pushed() {
        let mut table = SocketTable::default();
        for s in sockets() {
            table.push(&s);
        }
        assert_eq!(table.iter().collect::<Vec<_>>(), sockets());
        assert_eq!(
            table.inodes().collect::<Vec<_>>(),
            sockets().iter().map(|s| s.inode).collect::<Vec<_>>()
        );
        assert_eq!(std::mem::size_of::<Row>(), 48);
    }

    #[test]
    fn sorting_orders_like_the_sockets_and_keeps_ties_in_arrival_order() {
        let mut table = SocketTable::default();
        let mut expected = sockets();
        // Two listeners equal in every sort field (SO_REUSEPORT), told apart by inode.
        let mut twin = Socket::for_test(TcpState::Listen, "10.0.0.1:22", "0.0.0.0:0");
        twin.inode = 99;
        expected.push(twin);
        for s in &expected {
            table.push(s);
        }
        table.sort_by_key(|f| (f.local, f.remote));
        expected.sort_by_key(|s| (s.local, s.remote));
        assert_eq!(table.iter().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn rows_keep_their_group_through_a_sort() {
        let mut table = SocketTable::default();
        assert_eq!(table.group(0), None);
        let all = sockets();
        // Groups of 2, 0 (an empty namespace) and 4 rows.
        table.start_group();
        for s in &all[..2] {
            table.push(s);
        }
        table.start_group();
        table.start_group();
        for s in &all[2..] {
            table.push(s);
        }
        let group_of = |s: &Socket| {
            if all[..2].contains(s) { 0 } else { 2 }
        };
        table.sort_by_key(|f| std::cmp::Reverse(f.local));
        let mut seen = Vec::new();
        for (i, s) in table.iter().enumerate() {
            assert_eq!(table.group(i), Some(group_of(&s)), "{s:?}");
            seen.push(table.group(i));
        }
        assert!(
            seen.windows(2).any(|w| w[0] > w[1]),
            "the sort mixed the groups"
        );
        assert_eq!(table.group(all.len()), None);
    }
}
