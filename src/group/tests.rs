use std::collections::HashMap;

use super::*;
use crate::model::TcpState;
use crate::report::Process;
fn socket(state: TcpState, sport: u16, peer: [u8; 4], inode: u64) -> Socket {
    let peer = std::net::Ipv4Addr::from(peer);
    let mut s = Socket::for_test(
        state,
        &format!("127.0.0.1:{sport}"),
        &format!("{peer}:40000"),
    );
    s.inode = inode;
    s
}

#[test]
fn nested_keys_count_per_state_largest_first() {
    let keys = [GroupKey::LocalPort, GroupKey::Peer];
    let mut g = Grouper::new(&keys);
    g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 1));
    g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 2));
    g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 3));
    g.add(&socket(TcpState::Established, 443, [10, 0, 0, 6], 4));
    let groups = g.finish(None, &HashMap::new());
    assert_eq!(groups.len(), 2);
    assert_eq!(
        groups[0].key,
        vec![
            KeyValue::LocalPort(80),
            KeyValue::Peer([10, 0, 0, 5].into())
        ]
    );
    assert_eq!(groups[0].counts.total(), 3);
    assert_eq!(groups[0].counts.get(TcpState::CloseWait), 2);
    assert_eq!(groups[1].counts.get(TcpState::Established), 1);
}

#[test]
fn sockets_without_owners_are_named_not_dropped() {
    let keys = [GroupKey::Process];
    let owners = Owners::default();
    let mut g = Grouper::new(&keys);
    g.add(&socket(TcpState::TimeWait, 80, [10, 0, 0, 5], 0));
    g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 7));
    let keys: Vec<_> = g
        .finish(Some(&owners), &HashMap::new())
        .into_iter()
        .map(|g| g.key)
        .collect();
    assert_eq!(
        keys,
        vec![vec![KeyValue::NoProcess], vec![KeyValue::UnknownOwner]]
    );
}

#[test]
fn a_process_key_nests_with_others_and_shared_sockets_count_for_each_holder() {
    let owners = Owners::new(
        vec![Process::for_test(10, "a"), Process::for_test(11, "b")],
        vec![(1, 0), (1, 1), (2, 0), (2, 0)],
        Default::default(),
    );
    let keys = [GroupKey::LocalPort, GroupKey::Process];
    let mut g = Grouper::new(&keys);
    g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 1));
    g.add(&socket(TcpState::CloseWait, 80, [10, 0, 0, 5], 2));
    g.add(&socket(TcpState::Established, 443, [10, 0, 0, 5], 2));
    g.add(&socket(TcpState::TimeWait, 443, [10, 0, 0, 5], 0));
    g.add(&socket(TcpState::Established, 443, [10, 0, 0, 5], 9));
    g.sort_by_inode();
    assert!(g.inodes().is_sorted());
    let groups: Vec<(Vec<KeyValue>, u64)> = g
        .finish(Some(&owners), &HashMap::new())
        .into_iter()
        .map(|g| (g.key, g.counts.total()))
        .collect();
    let a = || KeyValue::Process {
        pid: 10,
        comm: "a".into(),
    };
    let b = KeyValue::Process {
        pid: 11,
        comm: "b".into(),
    };
    assert_eq!(
        groups,
        vec![
            (vec![KeyValue::LocalPort(80), a()], 2),
            (vec![KeyValue::LocalPort(80), b], 1),
            (vec![KeyValue::LocalPort(443), a()], 1),
            (vec![KeyValue::LocalPort(443), KeyValue::NoProcess], 1),
            (vec![KeyValue::LocalPort(443), KeyValue::UnknownOwner], 1),
        ]
    );
}
#[test]
fn mini_sockets_have_no_uid_not_root() {
    let keys = [GroupKey::Uid];
    let mut g = Grouper::new(&keys);
    let mut tw = socket(TcpState::TimeWait, 80, [10, 0, 0, 5], 0);
    tw.kind = SocketKind::TimeWait;
    g.add(&tw);
    let mut root = socket(TcpState::Established, 80, [10, 0, 0, 5], 7);
    root.uid = 0;
    g.add(&root);
    let mut user = socket(TcpState::Established, 81, [10, 0, 0, 5], 8);
    user.uid = 1000;
    g.add(&user);
    let mut keys: Vec<_> = g
        .finish(None, &HashMap::new())
        .into_iter()
        .map(|g| g.key)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            vec![KeyValue::Uid(0)],
            vec![KeyValue::Uid(1000)],
            vec![KeyValue::NoUid]
        ]
    );
}

#[test]
fn sockets_of_a_shared_namespace_count_for_their_holders_containers() {
    let process = |pid| Process::for_test(pid, "p");
    // Socket 1: two processes of container "web"; socket 2: "web" and "db"; socket 3: a
    // host process; socket 4: nobody found.
    let owners = Owners::new(
        vec![process(10), process(11), process(12), process(13)],
        vec![(1, 0), (1, 1), (2, 1), (2, 2), (3, 3)],
        Default::default(),
    );
    let containers: HashMap<u32, String> =
        [(10, "web".into()), (11, "web".into()), (12, "db".into())].into();
    let keys = [GroupKey::Container];
    let mut g = Grouper::new(&keys);
    assert!(keys.iter().any(|k| k.needs_owners()));
    for inode in 1..=4 {
        g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], inode));
    }
    g.sort_by_inode();
    let groups: Vec<(Vec<KeyValue>, u64)> = g
        .finish(Some(&owners), &containers)
        .into_iter()
        .map(|g| (g.key, g.counts.total()))
        .collect();
    let c = |name: Option<&str>| vec![KeyValue::Container(name.map(String::from))];
    assert_eq!(
        groups,
        vec![(c(None), 2), (c(Some("web")), 2), (c(Some("db")), 1)]
    );
}

#[test]
fn a_process_and_its_container_pair_up_for_a_shared_socket() {
    // Socket 1 is held by a (in web) and b (in db), as after passing an fd between them.
    let owners = Owners::new(
        vec![Process::for_test(10, "a"), Process::for_test(11, "b")],
        vec![(1, 0), (1, 1)],
        Default::default(),
    );
    let containers: HashMap<u32, String> = [(10, "web".into()), (11, "db".into())].into();
    let keys = [GroupKey::Process, GroupKey::Container];
    let mut g = Grouper::new(&keys);
    g.add(&socket(TcpState::Established, 80, [10, 0, 0, 5], 1));
    g.sort_by_inode();
    let mut groups: Vec<Vec<KeyValue>> = g
        .finish(Some(&owners), &containers)
        .into_iter()
        .map(|g| g.key)
        .collect();
    groups.sort();
    let pair = |pid: u32, comm: &str, container: &str| {
        vec![
            KeyValue::Process {
                pid,
                comm: comm.into(),
            },
            KeyValue::Container(Some(container.into())),
        ]
    };
    assert_eq!(groups, vec![pair(10, "a", "web"), pair(11, "b", "db")]);
}
