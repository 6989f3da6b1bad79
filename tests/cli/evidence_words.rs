//! The evidence's words on /proc trees built at test time: a fake `/proc/PID/task` with each
//! thread's state, wait channel and syscall, read as the live system would be (golden table
//! and findings JSON). The real servers are in `evidence.rs`; these pin the wording.

use crate::util::scenario::*;

/// java[4242]: 25 CLOSE_WAIT on :8080 (fds 3 to 27), 8 connections to a database at
/// 10.0.0.9:5432 (fds 28 to 35) and 100 ESTABLISHED clients (fds 36 on).
fn leaking_java() -> Scenario {
    Scenario::new()
        .owned_by(4242, "java", 25, |i| {
            (
                "10.0.0.1:8080".into(),
                format!("10.0.0.5:{}", 40000 + i),
                sock(CLOSE_WAIT),
            )
        })
        .owned_by(4242, "java", 8, |i| {
            (
                format!("10.0.0.1:{}", 50000 + i),
                "10.0.0.9:5432".into(),
                sock(ESTABLISHED),
            )
        })
        .owned_by(4242, "java", 100, |i| {
            (
                "10.0.0.1:8080".into(),
                format!("10.0.1.{}:{}", i % 200, 30000 + i),
                sock(ESTABLISHED),
            )
        })
        .thread(
            4242,
            4242,
            "java",
            'S',
            "futex_do_wait",
            "202 0x7f1 0x80 0x0 0x0 0x0 0x0 0x7ffe 0x7f2",
        )
        .thread(
            4242,
            4250,
            "GC Thread#0",
            'S',
            "futex_do_wait",
            "202 0x7f3 0x80 0x0 0x0 0x0 0x0 0x7ffe 0x7f2",
        )
}

/// Each finding's table block and JSON, with the tree's path hidden.
fn golden(name: &str, s: Scenario) {
    let (table, v, dir) = s.run(&[]);
    crate::util::snapshot_settings(Some(dir.path())).bind(|| {
        insta::assert_snapshot!(format!("evidence_{name}__table"), table);
        insta::assert_json_snapshot!(format!("evidence_{name}__json"), v["findings"]);
    });
}

#[test]
fn workers_waiting_on_a_database_name_it() {
    let mut s = leaking_java();
    for t in 0..8u32 {
        // recvfrom(fd, …) on the t-th connection to the database.
        let syscall = format!("45 0x{:x} 0x7f00 0x2000 0x0 0x0 0x0 0x7ffe 0x7f2", 28 + t);
        s = s.thread(
            4242,
            4300 + t,
            &format!("http-nio-8080-e{t}"),
            'S',
            "sk_wait_data",
            &syscall,
        );
    }
    let (_, v, _dir) = s.run(&[]);
    let cw = &v["findings"][0];
    assert_eq!(cw["id"], "close_wait_excess");
    let first = cw["causes"][0].as_str().unwrap();
    assert!(
        first.starts_with("8 of 10 threads are blocked reading from 10.0.0.9:5432"),
        "{first}"
    );
    golden("database", s);
}

#[test]
fn workers_on_a_lock_held_by_a_sleeper_name_the_futex() {
    let mut s = leaking_java();
    for t in 0..8u32 {
        s = s.thread(
            4242,
            4300 + t,
            "worker",
            'S',
            "futex_do_wait",
            "202 0x55aa 0x189 0x0 0x0 0x0 0x0 0x7ffe 0x7f2",
        );
    }
    s = s.thread(
        4242,
        4400,
        "holder",
        'S',
        "hrtimer_nanosleep",
        "230 0x1 0x1 0x7ffe 0x0 0x0 0x0 0x7ffe 0x7f2",
    );
    let (_, v, _dir) = s.run(&[]);
    let first = v["findings"][0]["causes"][0].as_str().unwrap();
    assert!(
        first
            .starts_with("10 of 11 threads are waiting on a futex (a lock, a condition or a pool)"),
        "{first}"
    );
    golden("lock", s);
}
