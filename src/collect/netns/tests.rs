//! Namespace discovery and visits, on fixture trees and (as root) on real namespaces.

use super::*;

#[test]
fn the_live_host_has_this_process_namespace() {
    let d = discover(Path::new("/proc"), Path::new("/")).unwrap();
    let own = nsfs::open(Path::new("/proc/self/ns/net"), Follow::Yes)
        .unwrap()
        .inode;
    let me = std::process::id();
    let ns = d
        .namespaces
        .iter()
        .find(|ns| ns.inode == own)
        .expect("our own namespace is found");
    assert!(ns.pids.contains(&me));
    assert_eq!(ns.id(), format!("net:[{own}]"));
    // Deduplicated: every inode once.
    let mut inodes: Vec<u64> = d.namespaces.iter().map(|n| n.inode).collect();
    inodes.dedup();
    assert_eq!(inodes.len(), d.namespaces.len());
}

#[test]
fn the_steadiest_member_is_the_oldest_other_than_us_and_sockscope_last() {
    let dir = tempfile::tempdir().unwrap();
    let me = std::process::id();
    for (pid, comm, started) in [
        (10, "sockscope", 50),
        (20, "sleep", 100),
        (30, "java", 90),
        (me, "cli", 1),
    ] {
        let d = dir.path().join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        // The shape of a real /proc/PID/stat line, cut after starttime (field 22).
        let stat = format!(
            "{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 {started} 3133440\n"
        );
        std::fs::write(d.join("stat"), stat).unwrap();
    }
    let steady = |pids: &[u32]| steady_member(dir.path(), pids);
    assert_eq!(steady(&[10, 20, 30, me]), Some(30));
    assert_eq!(steady(&[10, 20]), Some(20));
    assert_eq!(
        steady(&[10, me]),
        Some(10),
        "another sockscope when nothing else"
    );
    assert_eq!(steady(&[me]), None, "never this process");
    assert_eq!(
        steady(&[40, 20]),
        Some(20),
        "a process gone meanwhile is passed over"
    );
}

#[test]
fn sysctls_are_read_from_inside_the_namespace_entered() {
    // Whether /proc/sys/net follows the entering thread: set a value in a new namespace
    // and read it back through a visit, from a process that stays where it is.
    let name = format!("sockscope-u{}", std::process::id());
    let ip = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !rustix::process::geteuid().is_root() || !ip(&["netns", "add", &name]) {
        println!("skipped: needs root and ip netns add");
        return;
    }
    let set = ip(&[
        "netns",
        "exec",
        &name,
        "sysctl",
        "-qw",
        "net.ipv4.ip_local_port_range=40000 40999",
    ]);
    let path = PathBuf::from(format!("/run/netns/{name}"));
    let mut got = Vec::new();
    let errand = Errand {
        path: &path,
        socket: true,
        sysctls: Some(Path::new("/proc")),
    };
    visit_many(&[errand, errand], 1, |i, visit| {
        got.push((i, visit));
        true
    });
    ip(&["netns", "del", &name]);
    assert!(set, "sysctl -w in the new namespace");
    assert_eq!(got.len(), 2);
    let (_, Ok(visit)) = &mut got[0] else {
        panic!("{got:?}");
    };
    assert!(matches!(visit.entered(), Some(Ok(_))));
    let inside = visit.sysctls.take().unwrap();
    let ctx = context::read_context(
        Path::new("/proc"),
        None,
        &context::PerNetns::Read(inside),
        None,
    );
    assert_eq!(ctx.sysctl.ip_local_port_range, Some((40000, 40999)));
    let here = context::read_context(Path::new("/proc"), None, &context::PerNetns::Here, None);
    assert_ne!(here.sysctl.ip_local_port_range, Some((40000, 40999)));
}

#[test]
fn our_own_namespace_can_be_entered_by_anyone() {
    // setns into the namespace one is already in needs CAP_SYS_ADMIN all the same.
    match open_sock_diag(Path::new("/proc/self/ns/net")) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            println!("skipped: setns is refused to this user ({e})");
        }
        Err(e) => println!("skipped: netlink unavailable here ({e})"),
    }
    assert!(open_sock_diag(Path::new("/nonexistent/ns")).is_err());
}
