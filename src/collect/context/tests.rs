//! The context parsers on real kernel text, and where each sysctl is read from.

use super::*;

// From /proc/net/sockstat on Linux 6.18.44, and a line with the proposed `pressure` pair.
#[test]
fn sockstat_pairs() {
    let text = "sockets: used 9\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 0\nUDP: inuse 0 mem 0\n";
    assert_eq!(
        parse_sockstat(text),
        Some(Sockstat {
            inuse: 1,
            orphan: 0,
            tw: 0,
            alloc: 1,
            mem: 0
        })
    );
    let future = "TCP: inuse 5 orphan 1 tw 2 alloc 7 mem 3 pressure 0\n";
    assert_eq!(parse_sockstat(future).map(|s| s.tw), Some(2));
    assert_eq!(
        parse_sockstat("TCP: inuse x orphan 0 tw 0 alloc 1 mem 0\n"),
        None
    );
    assert_eq!(parse_sockstat("TCP: inuse 1\n"), None);
    assert_eq!(parse_sockstat(""), None);
}

#[test]
fn counters_by_name_with_signed_values_and_odd_lines() {
    let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 3 17 19\n\
                Tcp: RtoAlgorithm MaxConn RetransSegs\nTcp: 1 -1 42\n\
                IpExt: A B\nIpExt: 1 x\nNoColon\nLonely: header only\n";
    let c = parse_counters(text.as_bytes());
    assert_eq!(c.get("TcpExt.ListenOverflows"), Some(&17));
    assert_eq!(c.get("Tcp.MaxConn"), Some(&-1));
    assert_eq!(c.get("Tcp.RetransSegs"), Some(&42));
    assert_eq!(c.get("IpExt.A"), Some(&1));
    assert_eq!(c.get("IpExt.B"), None, "not a number: left out");
    assert_eq!(c.get("Lonely.header"), None);
}

#[test]
fn sysctl_shapes() {
    assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
    assert_eq!(parse_port_range(""), None);
    assert_eq!(parse_port_range("60999 32768"), None);
    assert_eq!(parse_port_list("\n"), Some(vec![]));
    assert_eq!(
        parse_port_list("8080,9000-9010\n"),
        Some(vec![(8080, 8080), (9000, 9010)])
    );
    assert_eq!(parse_port_list("80,x"), None);
    assert_eq!(
        parse_tcp_mem("287898\t383867\t575796\n"),
        Some([287898, 383867, 575796])
    );
    assert_eq!(parse_tcp_mem("1 2"), None);
    assert_eq!(parse_tcp_mem("1 2 3 4"), None);
}

#[test]
fn a_missing_tree_gives_an_empty_context_with_reasons() {
    let ctx = read_context(
        Path::new("/nonexistent"),
        Some(Path::new("/nonexistent/net")),
        &PerNetns::Here,
        None,
    );
    assert_eq!(ctx.sockstat, None);
    assert_eq!(ctx.sysctl, crate::model::Sysctls::default());
    assert!(
        ctx.missing
            .iter()
            .any(|(p, why)| p.ends_with("sockstat") && why.contains("no such file"))
    );
}

#[test]
fn a_namespace_own_sysctls_come_from_inside_it_and_the_host_wide_ones_from_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let ipv4 = dir.path().join("sys/net/ipv4");
    std::fs::create_dir_all(&ipv4).unwrap();
    for (name, value) in [
        ("ip_local_port_range", "32768\t60999\n"),
        ("tcp_max_orphans", "8192\n"),
        ("tcp_fin_timeout", "60\n"),
    ] {
        std::fs::write(ipv4.join(name), value).unwrap();
    }
    let inside = dir.path().join("inside");
    std::fs::create_dir_all(inside.join("sys/net/ipv4")).unwrap();
    std::fs::write(
        inside.join("sys/net/ipv4/ip_local_port_range"),
        "1024\t65535\n",
    )
    .unwrap();
    let read = read_net_sysctls(&inside);
    let ctx = read_context(dir.path(), None, &PerNetns::Read(read), None);
    assert_eq!(ctx.sysctl.ip_local_port_range, Some((1024, 65535)));
    assert_eq!(
        ctx.sysctl.tcp_max_orphans,
        Some(8192),
        "host-wide: the root's"
    );
    assert_eq!(ctx.sysctl.tcp_fin_timeout, None, "not inside: unknown");
    assert!(
        ctx.missing
            .iter()
            .any(|(p, why)| p.ends_with("tcp_fin_timeout") && why.contains("no such file"))
    );
    // Unknown, and why: every per-namespace one is missing with that reason.
    let why = "entering this one was refused";
    let ctx = read_context(dir.path(), None, &PerNetns::Unknown(Some(why.into())), None);
    assert_eq!(ctx.sysctl.ip_local_port_range, None);
    assert_eq!(ctx.sysctl.tcp_max_orphans, Some(8192));
    let refused: Vec<_> = ctx.missing.iter().filter(|(_, w)| w == why).collect();
    assert_eq!(refused.len(), 8, "{refused:?}");
    assert!(ctx.missing.iter().any(|(p, why)| p.ends_with("PID/net")
        && why == "the namespace has no process to read its counters through"));
    // --pid: unknown, the rules say why.
    let ctx = read_context(dir.path(), None, &PerNetns::Unknown(None), None);
    assert!(
        ctx.missing
            .iter()
            .all(|(p, _)| !p.ends_with("ip_local_port_range"))
    );
    assert_eq!(ctx.sysctl.tcp_max_orphans, Some(8192));
}

#[test]
fn fifos_devices_and_huge_files_are_missing_with_a_reason_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let net = root.join("net");
    std::fs::create_dir_all(&net).unwrap();
    std::fs::create_dir_all(root.join("sys/net/ipv4")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        net.join("sockstat"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("sys/net/ipv4/tcp_mem")).unwrap();
    let huge = vec![b'1'; CONTEXT_LIMIT as usize + 1];
    std::fs::write(root.join("sys/net/ipv4/tcp_fin_timeout"), huge).unwrap();
    let ctx = read_context(root, Some(&net), &PerNetns::Here, None);
    let why = |name: &str| {
        ctx.missing
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .map(|(_, why)| why.clone())
            .unwrap_or_default()
    };
    assert_eq!(why("sockstat"), "is a FIFO, not a regular file");
    assert_eq!(why("tcp_mem"), "is a character device, not a regular file");
    assert_eq!(
        why("tcp_fin_timeout"),
        "is larger than 1 MiB; refusing to read it"
    );
    assert_eq!(ctx.sysctl.tcp_fin_timeout, None);
}

#[test]
fn a_sweep_reads_the_host_wide_sysctls_once_and_conntrack_only_at_home() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("sys/net/ipv4")).unwrap();
    std::fs::create_dir_all(root.join("sys/net/netfilter")).unwrap();
    std::fs::write(root.join("sys/net/ipv4/tcp_max_orphans"), "8192\n").unwrap();
    std::fs::write(root.join("sys/net/netfilter/nf_conntrack_count"), "10\n").unwrap();
    std::fs::write(root.join("sys/net/netfilter/nf_conntrack_max"), "100\n").unwrap();
    let host = read_host_wide(root);
    // Changed after the sweep read it: every namespace gets the value read once.
    std::fs::write(root.join("sys/net/ipv4/tcp_max_orphans"), "1\n").unwrap();
    let elsewhere = PerNetns::Unknown(Some("not entered".into()));
    let ctx = read_context(root, None, &elsewhere, Some(&host));
    assert_eq!(ctx.sysctl.tcp_max_orphans, Some(8192));
    assert!(
        ctx.missing
            .iter()
            .any(|(p, why)| p.ends_with("tcp_mem") && why.contains("no such file")),
        "{:?}",
        ctx.missing
    );
    assert_eq!(ctx.conntrack, None, "another namespace's count is not ours");
    let home = read_context(root, None, &PerNetns::Here, None);
    assert_eq!(home.sysctl.tcp_max_orphans, Some(1));
    assert_eq!(home.conntrack, Some((10, 100)));
}
