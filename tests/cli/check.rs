//! `sockscope check`: exit codes, every format over OK, WARNING, CRITICAL and UNKNOWN, the
//! Prometheus output read back by a real exposition-format parser, the atomic textfile, and real
//! sockets.

use std::net::Ipv4Addr;

use crate::util::{fixture, run_check, snapshot_settings, sockscope};

/// loopback-mix holds 3 CLOSE_WAIT: these thresholds put it in each status.
const CASES: &[(&str, &[&str], i32)] = &[
    ("ok", &[], 0),
    ("warning", &["--warn", "close-wait=2"], 1),
    (
        "critical",
        &["--warn", "close-wait=1", "--crit", "CLOSE_WAIT=2"],
        2,
    ),
];

fn check(args: &[&str]) -> (i32, String) {
    let run = run_check(&fixture("loopback-mix"), args);
    (run.code, run.stdout)
}

#[test]
fn exit_codes_and_every_format() {
    let mut settings = snapshot_settings(None);
    settings.add_filter(
        r"sockscope_last_run_timestamp_seconds [0-9.]+",
        "sockscope_last_run_timestamp_seconds [TIME]",
    );
    settings.add_filter(
        r"sockscope_collection_duration_seconds [0-9.]+",
        "sockscope_collection_duration_seconds [DURATION]",
    );
    for (name, args, code) in CASES {
        for format in ["text", "nagios", "json", "prometheus"] {
            let mut all = args.to_vec();
            all.extend(["--format", format]);
            let (got, out) = check(&all);
            assert_eq!(got, *code, "{name} {format}:\n{out}");
            if *name == "ok" && format == "text" {
                assert_eq!(out, "", "cron must get nothing when all is well");
            }
            // One form for every status, text and Nagios alike: `SOCKSCOPE STATUS - text`.
            if matches!(format, "text" | "nagios") && !out.is_empty() {
                assert!(status_line(&out), "{name} {format}:\n{out}");
            }
            settings.bind(|| insta::assert_snapshot!(format!("check_{name}__{format}"), out));
        }
    }
}

#[test]
fn every_failure_to_measure_is_unknown() {
    for format in ["text", "nagios", "json", "prometheus"] {
        let out = sockscope()
            .args(["check", "--format", format, "--proc-root"])
            .arg(fixture("no-tcp"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("unknown") || text.contains("UNKNOWN") || text.contains(" 3"),
            "{text}"
        );
        if matches!(format, "text" | "nagios") {
            assert!(status_line(&text), "{format}: {text}");
        }
        snapshot_settings(None)
            .bind(|| insta::assert_snapshot!(format!("check_unknown__{format}"), text));
    }
    // Bad arguments, and --help, are UNKNOWN too: clap's usage code 2 would read as CRITICAL.
    for args in [
        &["check", "--warn", "close-wait=5:1"][..],
        &["check", "--crit", "bogus=1"],
        &["check", "--bogus"],
        &["check", "--help"],
    ] {
        let out = sockscope().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
    }
    let out = sockscope()
        .args(["check", "--warn", "close-wait=5:1"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("SOCKSCOPE UNKNOWN - "), "{text}");
    assert!(text.contains("start is greater than end"), "{text}");
}

/// `SOCKSCOPE STATUS - text`: the monitoring plugins' form, whatever the status.
fn status_line(out: &str) -> bool {
    let first = out.lines().next().unwrap_or_default();
    ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
        .iter()
        .any(|word| first.starts_with(&format!("SOCKSCOPE {word} - ")))
}

#[test]
fn prometheus_output_parses_and_has_every_series() {
    let (code, text) = check(&["--warn", "close-wait=2", "--format", "prometheus"]);
    assert_eq!(code, 1);
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
    let sockets: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "sockscope_sockets")
        .collect();
    assert_eq!(
        sockets.len(),
        24,
        "11 states and unknown x 2 families, zeros included"
    );
    let close_wait = sockets
        .iter()
        .find(|s| {
            s.labels.get("state") == Some("close_wait") && s.labels.get("family") == Some("ipv4")
        })
        .unwrap();
    assert!(matches!(close_wait.value, prometheus_parse::Value::Gauge(v) if v == 2.0));
    let finding = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "sockscope_finding"
                && s.labels.get("id") == Some("state_count")
                && s.labels.get("severity") == Some("warning")
        })
        .unwrap();
    assert!(matches!(finding.value, prometheus_parse::Value::Gauge(v) if v == 1.0));
    for name in [
        "sockscope_status",
        "sockscope_last_run_timestamp_seconds",
        "sockscope_collection_duration_seconds",
    ] {
        assert!(
            scrape.samples.iter().any(|s| s.metric == name),
            "{name} missing"
        );
    }
    assert!(
        scrape.docs.contains_key("sockscope_sockets"),
        "HELP lines present"
    );
    // promtool's lint: a name never says its own type.
    assert_eq!(
        crate::util::names_with_their_type(&text),
        Vec::<String>::new()
    );
}

#[test]
fn textfile_is_written_atomically_beside_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sockscope.prom");
    let (code, out) = check(&["--textfile", path.to_str().unwrap()]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "text output stays silent when OK"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("sockscope_status 0"), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("sockscope.prom")]);
    // A directory that does not exist is UNKNOWN, naming the path.
    let (code, out) = check(&[
        "--textfile",
        "/nonexistent/dir/sockscope.prom",
        "--format",
        "nagios",
    ]);
    assert_eq!(code, 3);
    assert!(
        out.contains("cannot write '/nonexistent/dir/sockscope.prom'"),
        "{out}"
    );
}

/// An UNKNOWN run replaces the textfile, so node_exporter stops serving the last run's status:
/// `sockscope_status 3`, `sockscope_up 0` and why, as a comment. A bad configuration fails
/// before the check runs, an unreadable table while it measures: both reach the file.
#[test]
fn unknown_replaces_the_textfile_with_status_3_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let textfile = dir.path().join("sockscope.prom");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[rules.no_such_rule]\nwarn = 1\n").unwrap();
    let path = textfile.to_str().unwrap();
    let (code, _) = check(&["--crit", "close-wait=1", "--textfile", path]);
    assert_eq!(code, 2);
    let text = std::fs::read_to_string(&textfile).unwrap();
    assert!(text.contains("sockscope_status 2\n"), "{text}");
    assert!(text.contains("sockscope_up 1\n"), "{text}");
    for (root, args, why) in [
        (
            fixture("loopback-mix"),
            vec!["--config", bad.to_str().unwrap()],
            "# sockscope check could not measure: bad configuration in",
        ),
        (
            fixture("no-tcp"),
            vec![],
            "# sockscope check could not measure: cannot read",
        ),
    ] {
        let mut all = vec!["--crit", "close-wait=1", "--textfile", path];
        all.extend(args);
        let run = run_check(&root, &all);
        assert_eq!(run.code, 3, "{}", run.stdout);
        assert!(
            run.stdout.starts_with("SOCKSCOPE UNKNOWN"),
            "{}",
            run.stdout
        );
        let text = std::fs::read_to_string(&textfile).unwrap();
        assert!(text.contains(why), "{text}");
        assert!(text.contains("sockscope_status 3\n"), "{text}");
        assert!(text.contains("sockscope_up 0\n"), "{text}");
        assert!(!text.contains("sockscope_status 2"), "{text}");
        let lines = text.lines().map(|l| Ok(l.to_string()));
        prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
    }
}

/// Perfdata says `U` for a state the `--state` filter left out (it was not measured: 0 would
/// be a lie), and gives each `[ports.N]` range its own value, so the line shows what decided.
#[test]
fn perfdata_says_u_for_what_was_not_measured_and_gives_per_port_values() {
    use crate::util::scenario::{CLOSE_WAIT, Scenario, sock};
    let perfdata = |out: &str| {
        let first = out.lines().next().unwrap_or_default();
        format!(" {} ", first.split_once(" | ").map_or("", |(_, p)| p))
    };
    // loopback-mix: 13 ESTABLISHED, 3 CLOSE_WAIT.
    let (code, out) = check(&[
        "--state",
        "established",
        "--warn",
        "close-wait=10",
        "--format",
        "nagios",
    ]);
    assert_eq!(code, 0, "{out}");
    let perf = perfdata(&out);
    assert!(perf.contains(" established=13;;;0; "), "{perf}");
    assert!(perf.contains(" close_wait=U;10;;0; "), "{perf}");
    assert!(perf.contains(" listen=U;;;0; "), "{perf}");

    // 130 CLOSE_WAIT on :8080, 10 on :9090: the port's own range decides (CRITICAL), the rest
    // is within the global one.
    let scenario = Scenario::new()
        .many(130, |i| {
            let s = sock(CLOSE_WAIT);
            ("10.0.0.1:8080".into(), format!("10.0.0.5:{}", 40000 + i), s)
        })
        .many(10, |i| {
            let s = sock(CLOSE_WAIT);
            ("10.0.0.1:9090".into(), format!("10.0.0.6:{}", 40000 + i), s)
        });
    let dir = scenario.write();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[states]\nclose-wait = { warn = 100, crit = 500 }\n[ports.8080]\nclose-wait = { warn = 50, crit = 120 }\n",
    )
    .unwrap();
    let nagios = |extra: &[&str]| {
        let mut args = vec!["--format", "nagios", "--config", config.to_str().unwrap()];
        args.extend(extra);
        let run = run_check(dir.path(), &args);
        (run.code, run.stdout)
    };
    let (code, out) = nagios(&[]);
    assert_eq!(code, 2, "{out}");
    let perf = perfdata(&out);
    assert!(perf.contains(" close_wait=140;100;500;0; "), "{perf}");
    assert!(
        perf.contains(" close_wait_port_8080=130;50;120;0; "),
        "{perf}"
    );
    let (code, out) = nagios(&["--state", "established"]);
    assert_eq!(code, 0, "{out}");
    let perf = perfdata(&out);
    assert!(
        perf.contains(" close_wait_port_8080=U;50;120;0; "),
        "{perf}"
    );
}

/// `-t/--timeout`: the owner walk stops at its share of the time and says what it skipped, and
/// the check still reports what it found; what cannot stop in time is UNKNOWN, in the format
/// asked for, before a monitoring system would kill it. The slowness is injected, never
/// waited for: `slow-walk` makes the walk take 100 ms per process, `hang` never measures.
#[test]
fn timeout_cuts_the_owner_walk_short_and_never_hangs() {
    use crate::util::scenario::{CLOSE_WAIT, Scenario, sock};
    // 30 CLOSE_WAIT held by java[4242]; 40 idle processes come before it in the walk.
    let tree = Scenario::new()
        .owned_by(4242, "java", 30, |i| {
            let s = sock(CLOSE_WAIT);
            ("10.0.0.1:8080".into(), format!("10.0.0.5:{}", 50000 + i), s)
        })
        .write();
    for pid in 100..140 {
        crate::util::fake_process(tree.path(), pid, "idle", &[] as &[(u32, &str)]);
    }
    let run = |fault: &str, args: &[&str]| {
        let started = std::time::Instant::now();
        let out = sockscope()
            .env("SOCKSCOPE_TEST_FAULT", fault)
            .arg("check")
            .args(args)
            .arg("--proc-root")
            .arg(tree.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            started.elapsed(),
        )
    };
    // The whole walk would take 4 s: it stops at three quarters of 2 s.
    let (code, out, took) = run("slow-walk", &["--format", "json", "--timeout", "2s"]);
    assert_eq!(code, 1, "the leak is still reported: {out}");
    assert!(took < std::time::Duration::from_secs(4), "{took:?}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("the owner lookup stopped at the --timeout deadline"),
        "{v:#}"
    );
    assert!(!v["findings"].to_string().contains("java"), "{v:#}");
    // cron's text and the Nagios long output say it too.
    for format in ["text", "nagios"] {
        let (code, out, _) = run("slow-walk", &["--format", format, "--timeout", "2s"]);
        assert_eq!(code, 1, "{format}: {out}");
        assert!(
            out.to_lowercase()
                .contains("the owner lookup stopped at the --timeout deadline before looking at "),
            "{format}: {out}"
        );
    }
    // A measurement that never ends: UNKNOWN at the deadline, in every format.
    for format in ["text", "nagios", "json", "prometheus"] {
        let (code, out, took) = run("hang", &["--format", format, "-t", "200ms"]);
        assert_eq!(code, 3, "{format}: {out}");
        assert!(took < std::time::Duration::from_secs(30), "{took:?}");
        assert!(
            out.contains("timed out after 200ms (-t/--timeout)"),
            "{format}: {out}"
        );
    }
    // A real wait, not an injected one: another run holds the state lock, which this run
    // would wait 5 s for. The textfile says UNKNOWN too.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let prom = dir.path().join("sockscope.prom");
    let held = std::fs::File::create(dir.path().join("state.json.lock")).unwrap();
    held.lock().unwrap();
    let (code, out, took) = run(
        "",
        &[
            "--format",
            "nagios",
            "-t",
            "300ms",
            "--state-file",
            state.to_str().unwrap(),
            "--textfile",
            prom.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3, "{out}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    assert!(
        out.starts_with("SOCKSCOPE UNKNOWN - timed out after 300ms (-t/--timeout): "),
        "{out}"
    );
    let textfile = std::fs::read_to_string(&prom).unwrap();
    assert!(textfile.contains("\nsockscope_status 3\n"), "{textfile}");
    drop(held);
    // As the monitoring plugins take it: whole seconds.
    let (code, out, _) = run("", &["--format", "nagios", "--timeout", "10"]);
    assert_eq!(code, 1, "{out}");
}

/// This process holds CLOSE_WAIT sockets on one port: `check --warn close-wait=...` exits 1 for
/// that port and 0 for a clean one.
#[test]
fn real_close_wait_sockets_make_check_warn() {
    let (listener, held) = crate::util::hold_close_wait(3);
    let port = listener.local_addr().unwrap().port().to_string();
    let clean =
        crate::util::fresh_listener(Ipv4Addr::LOCALHOST.into()).expect("a loopback listener");
    let clean_port = clean.local_addr().unwrap().port().to_string();
    let run = |port: &str| {
        let out = sockscope()
            .args([
                "check",
                "--format",
                "nagios",
                "--warn",
                "close-wait=2",
                "--port",
                port,
            ])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let mut result = run(&port);
    for _ in 0..40 {
        if result.0 == Some(1) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        result = run(&port);
    }
    assert_eq!(result.0, Some(1), "{}", result.1);
    assert!(
        result.1.starts_with("SOCKSCOPE WARNING - close_wait=3"),
        "{}",
        result.1
    );
    let (code, out) = run(&clean_port);
    assert_eq!(code, Some(0), "{out}");
    drop(held);
}

#[test]
fn config_file_thresholds_ports_and_disabled_rules() {
    use crate::util::scenario::{Scenario, sock, time_wait_mini};
    // 300 TIME_WAIT on :443 (a proxy) and 30 elsewhere; a LAST_ACK rule that would fire.
    let scenario = Scenario::new()
        .many(300, |i| {
            let s = time_wait_mini(sock(0x06));
            (
                "10.0.0.1:443".into(),
                format!("10.0.9.{}:{}", i % 200, 30000 + i),
                s,
            )
        })
        .many(30, |i| {
            let s = time_wait_mini(sock(0x06));
            (format!("10.0.0.1:{}", 20000 + i), "10.0.0.5:5432".into(), s)
        });
    let dir = scenario.write();
    let config = dir.path().join("config.toml");
    let run = |args: &[&str]| {
        let mut all = vec!["--format", "nagios", "--config", config.to_str().unwrap()];
        all.extend(args);
        let run = run_check(dir.path(), &all);
        (run.code, run.stdout)
    };
    std::fs::write(&config, "[states]\ntime-wait = { warn = 100 }\n").unwrap();
    let (code, out) = run(&[]);
    assert_eq!(code, 1, "330 TIME_WAIT > 100: {out}");
    // :443 judged on its own: the rest (30) is within the global range, :443 within its own.
    std::fs::write(
        &config,
        "[states]\ntime-wait = { warn = 100 }\n[ports.443]\ntime-wait = { warn = 1000 }\n",
    )
    .unwrap();
    let (code, out) = run(&[]);
    assert_eq!(code, 0, "{out}");
    std::fs::write(&config, "[states]\ntime-wait = { warn = 100 }\n[ports.443]\ntime-wait = { warn = 200, crit = 250 }\n").unwrap();
    let (code, out) = run(&[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("time_wait_port_443=300"), "{out}");
    // The command line wins over the file.
    std::fs::write(&config, "[states]\ntime-wait = { warn = 100 }\n").unwrap();
    let (code, _) = run(&["--warn", "time-wait=1000"]);
    assert_eq!(code, 0);
    // A disabled rule raises nothing.
    std::fs::write(&config, "[rules.risky_settings]\nenabled = false\n").unwrap();
    let (code, _) = run(&["--warn", "time-wait=1000"]);
    assert_eq!(code, 0);
    // A bad file is UNKNOWN, naming the file and the valid choices.
    std::fs::write(&config, "[rules.close_wait]\nwarn = 1\n").unwrap();
    let (code, out) = run(&[]);
    assert_eq!(code, 3);
    assert!(
        out.contains("config.toml") && out.contains("valid: close_wait_excess"),
        "{out}"
    );
}

#[test]
fn nagios_keeps_stderr_empty_and_says_everything_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "garbage").unwrap();
    let out = sockscope()
        .args(["check", "--format", "nagios", "--state-file"])
        .arg(&state)
        .arg("--proc-root")
        .arg(fixture("malformed"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("SOCKSCOPE OK - "), "{text}");
    assert!(text.contains("NOTE: 7 malformed lines"), "{text}");
    assert!(
        text.contains("NOTE: state file") && text.contains("corrupt"),
        "{text}"
    );
}

/// Every socket is counted somewhere in Prometheus, unknown state codes included.
#[test]
fn prometheus_counts_every_socket() {
    let root = fixture("odd-states");
    let total = run_check(&root, &["--format", "json"]).json()["total"]
        .as_u64()
        .unwrap();
    let text = run_check(&root, &["--format", "prometheus"]).stdout;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let (mut sum, mut unknown) = (0.0, 0.0);
    for s in scrape
        .samples
        .iter()
        .filter(|s| s.metric == "sockscope_sockets")
    {
        if let prometheus_parse::Value::Gauge(v) = s.value {
            sum += v;
            if s.labels.get("state") == Some("unknown") {
                unknown += v;
            }
        }
    }
    assert!(unknown > 0.0, "odd-states holds unknown codes");
    assert_eq!(sum as u64, total);
}

/// node_exporter runs as its own user: the textfile is readable by others (0644, as its docs
/// expect), whatever the umask (cron jobs often run under 077), and stays so when replaced; the
/// state file stays private.
#[test]
fn textfile_is_world_readable_and_state_file_private() {
    use std::os::unix::fs::PermissionsExt;
    for umask in ["022", "077", "777"] {
        let dir = tempfile::tempdir().unwrap();
        let textfile = dir.path().join("sockscope.prom");
        let state = dir.path().join("state.json");
        std::fs::write(&textfile, "old").unwrap();
        std::fs::set_permissions(&textfile, std::fs::Permissions::from_mode(0o644)).unwrap();
        // The copy's accept queues never move: two runs a second apart (a loaded machine) would
        // find accept() stalled, which is not what this test is about.
        let config = dir.path().join("sockscope.toml");
        std::fs::write(&config, "[rules.accept_queue_stalled]\nenabled = false\n").unwrap();
        let bin = assert_cmd::cargo::cargo_bin("sockscope");
        let script = format!(
            "umask {umask}; exec '{}' check --config '{}' --textfile '{}' --state-file '{}' --proc-root '{}'",
            bin.display(),
            config.display(),
            textfile.display(),
            state.display(),
            crate::util::root().join(fixture("loopback-mix")).display()
        );
        let run = || {
            std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap()
        };
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Twice: a new file, then one replaced.
        for _ in 0..2 {
            assert_eq!(run().code(), Some(0), "umask {umask}");
            assert_eq!(mode(&textfile), 0o644, "umask {umask}");
            assert_eq!(mode(&state), 0o600, "umask {umask}");
        }
        assert!(
            std::fs::read_to_string(&textfile)
                .unwrap()
                .contains("sockscope_sockets")
        );
    }
}
