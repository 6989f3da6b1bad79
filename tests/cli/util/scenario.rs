//! A /proc tree built at test time: socket lines in the kernel's format, context files and
//! processes holding the sockets. Every test that needs a fake /proc builds it here.

use std::fs;
use std::net::SocketAddr;

use tempfile::TempDir;

use super::{fake_process, sockscope, stdout_of};

/// A /proc tree: socket lines in the kernel's format, context files, processes.
pub struct Scenario {
    pub v4: Vec<String>,
    v6: Vec<String>,
    sysctl: Vec<(&'static str, String)>,
    sockstat: String,
    pub conntrack: Option<(u64, u64)>,
    processes: Vec<(u32, &'static str, Vec<u64>)>,
    /// (pid, tid, name, state, wchan, syscall line) of fake threads under /proc/PID/task.
    threads: Vec<(u32, u32, String, char, String, String)>,
    next_inode: u64,
}

/// Which socket line form to write.
#[derive(Clone, Copy)]
pub enum Form {
    Full,
    /// 12 fields: TIME_WAIT / orphaned FIN_WAIT2 (timer 3) or a request socket (timer 1).
    Mini,
}

#[derive(Clone, Copy)]
pub struct Sock {
    pub state: u8,
    pub rx: u32,
    pub tx: u32,
    pub timer: u8,
    pub retrans: u32,
    pub probes: u32,
    pub form: Form,
    /// false: inode 0 (orphan, accept queue, mini-socket).
    pub owned: bool,
    /// Ticks until the timer fires, when not the usual 0x100 (full) or 0x1000 (mini).
    pub when: Option<u32>,
    /// The socket's uid (full sockets only; mini-sockets print 0).
    pub uid: u32,
}

/// A TIME_WAIT mini-socket line (12 fields, no owner).
pub fn time_wait_mini(mut s: Sock) -> Sock {
    s.form = Form::Mini;
    s.timer = 3;
    s.owned = false;
    s
}

pub fn sock(state: u8) -> Sock {
    Sock {
        state,
        rx: 0,
        tx: 0,
        timer: 0,
        retrans: 0,
        probes: 0,
        form: Form::Full,
        owned: true,
        when: None,
        uid: 1000,
    }
}

pub const ESTABLISHED: u8 = 0x01;
pub const SYN_SENT: u8 = 0x02;
pub const SYN_RECV: u8 = 0x03;
pub const FIN_WAIT1: u8 = 0x04;
pub const FIN_WAIT2: u8 = 0x05;
pub const TIME_WAIT: u8 = 0x06;
pub const CLOSE_WAIT: u8 = 0x08;
pub const LAST_ACK: u8 = 0x09;
pub const LISTEN: u8 = 0x0A;
pub const CLOSING: u8 = 0x0B;

/// The kernel's `%08X:%04X` / 4×`%08X:%04X` address form.
pub fn hex_endpoint(addr: &str) -> (String, bool) {
    let a: SocketAddr = addr.parse().unwrap();
    let port = a.port();
    match a {
        SocketAddr::V4(v4) => (
            format!("{:08X}:{port:04X}", u32::from_ne_bytes(v4.ip().octets())),
            false,
        ),
        SocketAddr::V6(v6) => {
            let o = v6.ip().octets();
            let words: String = o
                .chunks(4)
                .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            (format!("{words}:{port:04X}"), true)
        }
    }
}

impl Scenario {
    /// Context like a stock 6.x kernel on a mid-sized machine.
    pub fn new() -> Scenario {
        Scenario {
            v4: Vec::new(),
            v6: Vec::new(),
            sysctl: vec![
                ("ipv4/ip_local_port_range", "32768\t60999".into()),
                ("ipv4/ip_local_reserved_ports", "".into()),
                ("ipv4/tcp_max_tw_buckets", "131072".into()),
                ("ipv4/tcp_max_orphans", "131072".into()),
                ("ipv4/tcp_fin_timeout", "60".into()),
                ("ipv4/tcp_syncookies", "1".into()),
                ("ipv4/tcp_max_syn_backlog", "2048".into()),
                ("ipv4/tcp_mem", "287898\t383867\t575796".into()),
                ("ipv4/tcp_tw_reuse", "2".into()),
                ("core/somaxconn", "4096".into()),
            ],
            sockstat: "TCP: inuse 10 orphan 0 tw 0 alloc 10 mem 5".into(),
            conntrack: None,
            processes: Vec::new(),
            threads: Vec::new(),
            next_inode: 5000,
        }
    }

    pub fn set(mut self, key: &'static str, value: &str) -> Scenario {
        self.sysctl.retain(|(k, _)| *k != key);
        self.sysctl.push((key, value.into()));
        self
    }

    pub fn sockstat(mut self, orphan: u64, tw: u64, mem: u64) -> Scenario {
        self.sockstat = format!("TCP: inuse 10 orphan {orphan} tw {tw} alloc 10 mem {mem}");
        self
    }

    /// Adds `n` sockets; `make(i)` describes the i-th. Returns their inodes (0 for unowned).
    pub fn add(&mut self, n: usize, make: impl Fn(usize) -> (String, String, Sock)) -> Vec<u64> {
        let mut inodes = Vec::new();
        for i in 0..n {
            let (local, remote, s) = make(i);
            let inode = if s.owned {
                self.next_inode += 1;
                self.next_inode
            } else {
                0
            };
            inodes.push(inode);
            let (l, v6) = hex_endpoint(&local);
            let (r, _) = hex_endpoint(&remote);
            let table = if v6 { &mut self.v6 } else { &mut self.v4 };
            let sl = table.len();
            let line = match s.form {
                Form::Full => format!(
                    "{sl:4}: {l} {r} {:02X} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:5} {:8} {inode} 1 0000000000000000 20 4 30 10 -1",
                    s.state,
                    s.tx,
                    s.rx,
                    s.timer,
                    s.when.unwrap_or(0x100),
                    s.retrans,
                    s.uid,
                    s.probes
                ),
                Form::Mini => format!(
                    "{sl:4}: {l} {r} {:02X} 00000000:00000000 {:02X}:{:08X} {:08X}     0        0 0 3 0000000000000000",
                    s.state,
                    s.timer,
                    s.when.unwrap_or(0x1000),
                    s.retrans
                ),
            };
            table.push(line);
        }
        inodes
    }

    pub fn many(mut self, n: usize, make: impl Fn(usize) -> (String, String, Sock)) -> Scenario {
        self.add(n, make);
        self
    }

    pub fn owned_by(
        mut self,
        pid: u32,
        comm: &'static str,
        n: usize,
        make: impl Fn(usize) -> (String, String, Sock),
    ) -> Scenario {
        let inodes = self.add(n, make);
        // One process holding several groups of sockets: its fds go on from the last group's.
        match self.processes.iter_mut().find(|(p, _, _)| *p == pid) {
            Some((_, _, held)) => held.extend(inodes),
            None => self.processes.push((pid, comm, inodes)),
        }
        self
    }

    /// A thread of process `pid` as `/proc/PID/task/TID` shows it: its state (`S`, `R`…), wait
    /// channel and `syscall` line (`45 0x3 …` is recvfrom on fd 3; fds count from 3 in the
    /// order of the process's sockets).
    pub fn thread(
        mut self,
        pid: u32,
        tid: u32,
        name: &str,
        state: char,
        wchan: &str,
        syscall: &str,
    ) -> Scenario {
        self.threads
            .push((pid, tid, name.into(), state, wchan.into(), syscall.into()));
        self
    }

    pub fn write(&self) -> TempDir {
        let dir = tempfile::tempdir().unwrap();
        self.write_at(dir.path());
        dir
    }

    /// The tree at `p` (a host root's `proc`, say).
    pub fn write_at(&self, p: &std::path::Path) {
        fs::create_dir_all(p.join("net")).unwrap();
        let header4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        let header6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        let table = |h: &str, lines: &[String]| {
            format!(
                "{h}\n{}",
                lines.iter().map(|l| format!("{l}\n")).collect::<String>()
            )
        };
        fs::write(p.join("net/tcp"), table(header4, &self.v4)).unwrap();
        fs::write(p.join("net/tcp6"), table(header6, &self.v6)).unwrap();
        fs::write(
            p.join("net/sockstat"),
            format!("sockets: used 20\n{}\nUDP: inuse 0 mem 0\n", self.sockstat),
        )
        .unwrap();
        fs::write(p.join("net/sockstat6"), "TCP6: inuse 1\n").unwrap();
        fs::write(p.join("net/netstat"), "TcpExt: ListenOverflows ListenDrops TCPTimeWaitOverflow SyncookiesSent TCPReqQFullDrop\nTcpExt: 0 0 0 0 0\n").unwrap();
        fs::write(
            p.join("net/snmp"),
            "Tcp: RtoAlgorithm MaxConn CurrEstab RetransSegs\nTcp: 1 -1 3 0\n",
        )
        .unwrap();
        for (key, value) in &self.sysctl {
            let path = p.join("sys/net").join(key);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, format!("{value}\n")).unwrap();
        }
        if let Some((count, max)) = self.conntrack {
            let nf = p.join("sys/net/netfilter");
            fs::create_dir_all(&nf).unwrap();
            fs::write(nf.join("nf_conntrack_count"), format!("{count}\n")).unwrap();
            fs::write(nf.join("nf_conntrack_max"), format!("{max}\n")).unwrap();
        }
        for (pid, comm, inodes) in &self.processes {
            let links: Vec<(u32, String)> = inodes
                .iter()
                .filter(|&&i| i != 0)
                .enumerate()
                .map(|(i, inode)| (i as u32 + 3, format!("socket:[{inode}]")))
                .collect();
            fake_process(p, *pid, comm, &links);
            fs::write(p.join(pid.to_string()).join("comm"), format!("{comm}\n")).unwrap();
        }
        for (pid, tid, name, state, wchan, syscall) in &self.threads {
            let task = p.join(format!("{pid}/task/{tid}"));
            fs::create_dir_all(&task).unwrap();
            let stat = format!(
                "{tid} ({name}) {state} 1 {pid} {pid} 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 1000 3133440 352\n"
            );
            fs::write(task.join("stat"), stat).unwrap();
            fs::write(task.join("wchan"), wchan).unwrap();
            fs::write(task.join("syscall"), format!("{syscall}\n")).unwrap();
        }
    }

    /// Runs sockscope over the tree; returns (table, findings JSON).
    pub fn run(&self, extra: &[&str]) -> (String, serde_json::Value, TempDir) {
        let dir = self.write();
        let table = stdout_of(sockscope().args(extra).arg("--proc-root").arg(dir.path()));
        let json = stdout_of(
            sockscope()
                .args(extra)
                .arg("--json")
                .arg("--proc-root")
                .arg(dir.path()),
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        (table, v, dir)
    }
}
