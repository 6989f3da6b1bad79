use super::*;

#[test]
fn round_trip_and_every_kind_of_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (file, prev) = StateFile::open(&path).unwrap();
    assert!(matches!(prev, Previous::Missing));
    let mut saved = Saved::new();
    saved.close_wait.insert(42, 1000);
    file.save(&saved).unwrap();
    drop(file);
    let (_, prev) = StateFile::open(&path).unwrap();
    assert!(matches!(prev, Previous::Found(s) if s.close_wait.get(&42) == Some(&1000)));

    for (content, expect) in [
        (&b""[..], "is empty"),
        (b"{\"tool\":\"sockscope\",\"sch", "corrupt or truncated"),
        (b"{\"tool\":\"other\"}", "not a sockscope state file"),
        (b"{\"tool\":\"sockscope\",\"schema\":99}", "has schema 99"),
        (
            b"{\"tool\":\"sockscope\",\"schema\":1,\"history\":5}",
            "expected fields",
        ),
    ] {
        std::fs::write(&path, content).unwrap();
        let (_, prev) = StateFile::open(&path).unwrap();
        match prev {
            Previous::Unusable(why) => assert!(why.contains(expect), "{why}"),
            other => panic!("{other:?} for {content:?}"),
        }
    }
}

fn with(edit: impl Fn(&mut serde_json::Value)) -> Previous {
    let mut saved = serde_json::to_value(Saved::new()).unwrap();
    saved["written_at"] = 1_000_000.into();
    saved["written_at_ms"] = 1_000_000_000u64.into();
    saved["last_status"] = "WARNING".into();
    edit(&mut saved);
    parse_at(
        Path::new("state.json"),
        &serde_json::to_vec(&saved).unwrap(),
        1_000_060,
    )
}

fn unusable(p: Previous) -> String {
    match p {
        Previous::Unusable(why) => why,
        other => panic!("used: {other:?}"),
    }
}

#[test]
fn times_in_the_future_are_not_trusted() {
    assert!(matches!(with(|_| {}), Previous::Found(_)));
    // Within the skew: two runs' clocks may differ a little.
    assert!(matches!(
        with(|v| v["notified_at"] = (1_000_060 + CLOCK_SKEW).into()),
        Previous::Found(_)
    ));
    // Ten years ahead would silence --renotify until then.
    let why = unusable(with(|v| {
        v["notified_at"] = (1_000_060 + 315_360_000u64).into()
    }));
    assert!(
        why.contains("state.json' has notified_at 315360000s in the future"),
        "{why}"
    );
    // The clock stepped back an hour since the last run.
    let why = unusable(with(|v| v["written_at"] = 1_003_660.into()));
    assert!(why.contains("has written_at 3600s in the future"), "{why}");
    let why = unusable(with(|v| {
        v["close_wait"] = serde_json::json!({"7": 9_000_000})
    }));
    assert!(why.contains("has close_wait"), "{why}");
    let why = unusable(with(|v| {
        v["accept_queues"] = serde_json::json!({"x": [1, 9_000_000]})
    }));
    assert!(why.contains("has accept_queues"), "{why}");
}

#[test]
fn statuses_must_be_known_and_nothing_read_is_printed_raw() {
    let evil = "\u{1b}]0;owned\u{7}\nCRITICAL";
    let why = unusable(with(|v| v["notified_status"] = evil.into()));
    assert!(
        why.ends_with("has an unknown notified_status; starting afresh"),
        "{why}"
    );
    let why = unusable(with(|v| v["last_status"] = "ok".into()));
    assert!(why.contains("unknown last_status"), "{why}");
    let why = unusable(with(|v| v["boot_id"] = evil.into()));
    assert!(why.contains("boot_id"), "{why}");
    // serde quotes a wrong value in its message: no control character gets through.
    let why = unusable(with(|v| v["history"] = evil.into()));
    assert!(why.contains("expected fields"), "{why}");
    assert!(!why.chars().any(|c| c.is_control()), "{why:?}");
    let why = unusable(with(|v| v["history"] = "a\u{202e}b".into()));
    assert!(!why.contains('\u{202e}'), "{why:?}");
}

#[test]
fn what_was_notified_is_optional_and_checked() {
    // Files of earlier versions have no notified_findings.
    let Previous::Found(saved) = with(|v| {
        v.as_object_mut().unwrap().remove("notified_findings");
    }) else {
        panic!("an older file is used");
    };
    assert_eq!(saved.notified_findings, None);
    let why =
        unusable(with(
            |v| {
                v["notified_findings"] =
                    serde_json::json!([{"id": "close_wait_excess", "severity": "OK"}])
            },
        ));
    assert!(why.contains("unknown severity"), "{why}");
}

#[test]
fn entries_are_capped() {
    let why = unusable(with(|v| v["reset_rates"] = serde_json::json!(vec![1.0; 9])));
    assert!(why.contains("more entries than sockscope writes"), "{why}");
    let why = unusable(with(|v| {
        v["history"] = serde_json::json!({"LISTEN": vec![1; 9]})
    }));
    assert!(why.contains("more entries"), "{why}");
    let many: serde_json::Map<String, serde_json::Value> = (0..MAX_TRACKED as u64 + 10)
        .map(|i| (i.to_string(), (1_000_000 - i).into()))
        .collect();
    let Previous::Found(saved) = with(|v| v["close_wait"] = many.clone().into()) else {
        panic!("a large close_wait is kept, capped");
    };
    assert_eq!(saved.close_wait.len(), MAX_TRACKED);
    // The longest-seen sockets stay: inode 0 is the newest here.
    assert!(!saved.close_wait.contains_key(&0));
    assert!(saved.close_wait.contains_key(&(MAX_TRACKED as u64 + 9)));
}
