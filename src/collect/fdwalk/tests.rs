use super::*;
use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

#[test]
fn records_socket_links_it_keeps_and_counts_every_fd() {
    let dir = tempfile::tempdir().unwrap();
    let fd = dir.path().join("77/fd");
    fs::create_dir_all(&fd).unwrap();
    fs::create_dir_all(dir.path().join("self")).unwrap();
    symlink("socket:[10]", fd.join("3")).unwrap();
    symlink("pipe:[11]", fd.join("4")).unwrap();
    symlink("socket:[12]", fd.join("5")).unwrap();
    let table = walk(dir.path(), &|inode| inode != 12, None).unwrap();
    assert_eq!(table.stats.processes_scanned, 1);
    assert_eq!(table.processes.len(), 1);
    assert_eq!(table.processes[0].pid, 77);
    assert_eq!(table.processes[0].fd_count, 3);
    let held: Vec<(u64, u32)> = table.held.iter().map(|h| (h.inode, h.fd)).collect();
    assert_eq!(held, vec![(10, 3)]);
}

#[test]
fn two_walkers_find_what_one_finds_in_pid_order() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("self")).unwrap();
    for pid in 1..=40u64 {
        let fd = dir.path().join(format!("{pid}/fd"));
        fs::create_dir_all(&fd).unwrap();
        for n in 0..pid % 4 {
            symlink(
                format!("socket:[{}]", pid * 100 + n),
                fd.join(n.to_string()),
            )
            .unwrap();
        }
    }
    let one = walk(dir.path(), &|_| true, None).unwrap();
    let both = Walk::start(dir.path()).finish().unwrap();
    let pids = |t: &FdTable| t.processes.iter().map(|p| p.pid).collect::<Vec<_>>();
    let held = |t: &FdTable| {
        let mut held: Vec<(u64, u32)> = t
            .held
            .iter()
            .map(|h| (h.inode, t.processes[h.process as usize].pid))
            .collect();
        held.sort_unstable();
        held
    };
    assert_eq!(pids(&both), pids(&one));
    assert!(pids(&one).is_sorted() && pids(&one).len() == 30);
    assert_eq!(held(&both), held(&one));
    assert_eq!(both.stats.processes_scanned, 40);
    // Shares merged out of pid order come back in pid order.
    let mut shares = [one, FdTable::default()];
    shares[1].processes = shares[0].processes.split_off(10);
    shares[1].held = shares[0]
        .held
        .split_off(shares[0].held.iter().position(|h| h.process >= 10).unwrap());
    for h in &mut shares[1].held {
        h.process -= 10;
    }
    let [first, second] = shares;
    let merged = FdTable::merge(dir.path(), vec![second, first]);
    assert_eq!(pids(&merged), pids(&both));
    assert_eq!(held(&merged), held(&both));
}

/// A process directory with a stat line, holding `links` (fd, target).
fn process(root: &Path, pid: u32, links: &[(u32, &str)]) {
    let dir = root.join(pid.to_string());
    fs::create_dir_all(dir.join("fd")).unwrap();
    fs::write(
        dir.join("stat"),
        format!("{pid} (server) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0"),
    )
    .unwrap();
    for (fd, target) in links {
        symlink(target, dir.join("fd").join(fd.to_string())).unwrap();
    }
}

#[test]
fn a_process_whose_first_socket_closed_since_the_walk_is_still_named() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("self")).unwrap();
    process(dir.path(), 10, &[(3, "socket:[5]"), (4, "socket:[6]")]);
    process(dir.path(), 11, &[(3, "socket:[7]")]);
    let table = walk(dir.path(), &|_| true, None).unwrap();
    // After the walk: 10 closed socket 5, and 11 exited and its pid went to another
    // process whose fd 3 is something else.
    fs::remove_file(dir.path().join("10/fd/3")).unwrap();
    fs::remove_file(dir.path().join("11/fd/3")).unwrap();
    symlink("pipe:[99]", dir.path().join("11/fd/3")).unwrap();
    let owners = table.owners([5, 6, 7].into_iter());
    let pids = |inode| owners.of(inode).map(|p| p.pid).collect::<Vec<_>>();
    assert_eq!(pids(6), vec![10]);
    assert_eq!(pids(5), vec![10], "still the same process");
    assert_eq!(pids(7), Vec::<u32>::new());
    assert_eq!(owners.stats.processes_vanished, 1);
}

#[test]
fn a_pid_is_walked_once_whatever_its_directory_is_called() {
    let dir = tempfile::tempdir().unwrap();
    process(dir.path(), 5, &[(3, "socket:[8]")]);
    fs::create_dir_all(dir.path().join("05/fd")).unwrap();
    symlink("socket:[8]", dir.path().join("05/fd/3")).unwrap();
    fs::create_dir_all(dir.path().join("+5/fd")).unwrap();
    let table = walk(dir.path(), &|_| true, None).unwrap();
    assert_eq!(table.stats.processes_scanned, 1);
    assert_eq!(table.owners([8].into_iter()).of(8).count(), 1);
}

#[test]
fn a_missing_fd_directory_is_a_vanished_process() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("78")).unwrap();
    let table = walk(dir.path(), &|_| true, None).unwrap();
    assert_eq!(table.stats.processes_vanished, 1);
    assert!(table.owners(0..u64::MAX).processes().is_empty());
}

#[test]
fn nothing_is_read_when_nothing_is_wanted() {
    let owners = owners_of(Path::new("/nonexistent"), &HashSet::new(), None).unwrap();
    assert_eq!(owners.stats.processes_scanned, 0);
}

#[test]
fn a_missing_root_is_an_error_when_owners_are_wanted() {
    assert!(owners_of(Path::new("/nonexistent"), &HashSet::from([1]), None).is_err());
}

#[test]
fn a_crafted_stat_makes_the_process_unreadable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let proc_dir = dir.path().join("4242");
    fs::create_dir_all(proc_dir.join("fd")).unwrap();
    symlink("socket:[10]", proc_dir.join("fd/3")).unwrap();
    fs::write(proc_dir.join("stat"), "4242 )x(").unwrap();
    let owners = owners_of(dir.path(), &HashSet::from([10]), None).unwrap();
    assert_eq!(owners.stats.processes_unreadable, 1);
    assert_eq!(owners.stats.processes_vanished, 0);
}

/// `check --timeout`: past its deadline the walk takes no more processes, and counts them.
#[test]
fn a_walk_past_its_deadline_counts_what_it_did_not_look_at() {
    let dir = tempfile::tempdir().unwrap();
    for pid in 1..=5 {
        process(dir.path(), pid, &[(3, &format!("socket:[{}]", 100 + pid))]);
    }
    let passed = std::time::Instant::now();
    let owners = owners_of(dir.path(), &HashSet::from([101, 105]), Some(passed)).unwrap();
    assert_eq!(owners.stats.processes_scanned, 0);
    assert_eq!(owners.stats.processes_not_walked, 5);
    assert_eq!(owners.of(101).count(), 0);
    let later = passed + std::time::Duration::from_secs(3600);
    let owners = owners_of(dir.path(), &HashSet::from([101, 105]), Some(later)).unwrap();
    assert_eq!(owners.stats.processes_not_walked, 0);
    assert_eq!(owners.of(105).count(), 1);
}
