//! What a new user meets: output that fits the terminal, help and arguments that say what they
//! mean, and the same numbers in every format.

use crate::util::scenario::{CLOSE_WAIT, ESTABLISHED, Scenario, sock};
use crate::util::{fixture, run_check, skip, snapshot_settings, sockscope, stdout_of};

fn leak() -> Scenario {
    Scenario::new()
        .many(60, |i| {
            (
                "10.0.0.1:8080".to_string(),
                format!("10.0.1.{}:{}", i % 200, 40000 + i),
                sock(ESTABLISHED),
            )
        })
        .owned_by(4242, "java", 40, |i| {
            let mut s = sock(CLOSE_WAIT);
            s.rx = 1;
            (
                "10.0.0.1:8080".to_string(),
                format!("10.0.0.5:{}", 50000 + i),
                s,
            )
        })
}

/// Findings wrap to the width a terminal (or COLUMNS) gives, indented under their heading;
/// commands to run next are never broken (they must paste whole); piped output keeps whole
/// lines.
#[test]
fn findings_wrap_to_the_terminal_width() {
    let dir = leak().write();
    for columns in [60, 120] {
        let out = stdout_of(
            sockscope()
                .env("COLUMNS", columns.to_string())
                .arg("--proc-root")
                .arg(dir.path()),
        );
        let commands = ["ss ", "lsof ", "ls ", "sudo ", "sockscope "];
        for line in out
            .lines()
            .filter(|l| !commands.iter().any(|c| l.trim_start().starts_with(c)))
        {
            assert!(
                line.chars().count() <= columns,
                "{} columns > {columns}: {line}",
                line.chars().count()
            );
        }
        snapshot_settings(Some(dir.path()))
            .bind(|| insta::assert_snapshot!(format!("wrapped_{columns}"), out));
    }
    let piped = stdout_of(
        sockscope()
            .env_remove("COLUMNS")
            .arg("--proc-root")
            .arg(dir.path()),
    );
    assert!(piped.lines().any(|l| l.chars().count() > 120), "{piped}");
    // The closing notes (skipped checks here) wrap too.
    let out = stdout_of(
        sockscope()
            .env("COLUMNS", "60")
            .arg("--proc-root")
            .arg(fixture("odd-states")),
    );
    assert!(out.contains("Skipped"), "{out}");
    let commands = ["ss ", "lsof ", "ls ", "sudo ", "sockscope "];
    for line in out
        .lines()
        .filter(|l| !commands.iter().any(|c| l.trim_start().starts_with(c)))
    {
        assert!(line.chars().count() <= 60, "{line}");
    }
}

/// `top` with nested keys stays inside 60 columns.
#[test]
fn top_tables_fit_sixty_columns() {
    let out = stdout_of(
        sockscope()
            .env("COLUMNS", "60")
            .args(["top", "--by", "local-port", "--by", "peer"])
            .arg("--proc-root")
            .arg(fixture("loopback-mix")),
    );
    for line in out.lines() {
        assert!(line.chars().count() <= 60, "{line}");
    }
    crate::util::snapshot_settings(None)
        .bind(|| insta::assert_snapshot!("top_two_keys_at_60_columns", out));
    // The folded states column holds one whole state a line: `ESTABLISHED 12`.
    let names = [
        "LISTEN",
        "SYN_SENT",
        "SYN_RECV",
        "ESTABLISHED",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "TIME_WAIT",
        "CLOSE",
        "CLOSE_WAIT",
        "LAST_ACK",
        "CLOSING",
        "UNKNOWN",
    ];
    let states: Vec<&str> = out
        .lines()
        .filter_map(|l| l.rsplit('|').nth(1))
        .map(str::trim)
        .filter(|cell| !cell.is_empty() && *cell != "States")
        .collect();
    assert!(!states.is_empty(), "{out}");
    for cell in &states {
        let (name, count) = cell.rsplit_once(' ').unwrap_or((cell, ""));
        assert!(
            names.contains(&name) && count.parse::<u64>().is_ok(),
            "a state was broken: {cell:?} in\n{out}"
        );
    }
}

/// Shared options work before or after the subcommand, as ss users type them.
#[test]
fn shared_options_go_before_or_after_the_command() {
    let root = fixture("loopback-mix");
    let after = stdout_of(
        sockscope()
            .args(["top", "--state", "close-wait", "--proc-root"])
            .arg(&root),
    );
    let before = stdout_of(
        sockscope()
            .args(["--state", "close-wait", "--proc-root"])
            .arg(&root)
            .arg("top"),
    );
    assert_eq!(before, after);
    let run = run_check(&root, &["--json"]);
    assert_eq!(run.code, 0, "check --json: {}", run.stdout);
    assert_eq!(run.json()["status"], "ok");
}

/// Each mistake names the argument, the problem and the valid forms.
#[test]
fn argument_mistakes_are_explained() {
    let root = fixture("loopback-mix");
    for (args, code, expect) in [
        (&["check", "--warn", "closewait=10"][..], 3, "connected"),
        (&["check", "--warn", "close-wait=-5"], 3, "never negative"),
        (&["--port", "::80"], 2, "'::80' is not a port"),
        (&["--port", "+80"], 2, "'+80' is not a port"),
        (
            &["list", "--format", "nagios"],
            2,
            "list takes table, json or plain",
        ),
        (
            &["check", "--format", "plain"],
            3,
            "[possible values: text, nagios, json, prometheus]",
        ),
        (
            &["--format", "plain", "check"],
            3,
            "check takes text, nagios, json or prometheus",
        ),
    ] {
        let out = sockscope()
            .args(args)
            .arg("--proc-root")
            .arg(&root)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains(expect), "{args:?}: {text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let run = run_check(
        &root,
        &["--textfile", &format!("{}/", dir.path().display())],
    );
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("is a directory"), "{}", run.stdout);
}

/// Plain output is for scripts and cron: attribution notes only with --verbose.
#[test]
fn plain_output_keeps_stderr_quiet_unless_verbose() {
    let root = fixture("loopback-mix");
    for args in [&["list", "-p"][..], &["top", "--by", "process"]] {
        let quiet = sockscope()
            .args(args)
            .args(["--format", "plain", "--proc-root"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(quiet.status.success());
        assert_eq!(String::from_utf8_lossy(&quiet.stderr), "", "{args:?}");
        let verbose = sockscope()
            .args(args)
            .args(["--format", "plain", "-v", "--proc-root"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&verbose.stderr).contains("sockscope: note:"),
            "{args:?}"
        );
    }
}

/// `list --json` carries the listener backlog the table shows as Send-Q (null from /proc).
#[test]
fn list_json_has_the_backlog_of_listeners() {
    let v: serde_json::Value = serde_json::from_str(&stdout_of(
        sockscope()
            .args(["list", "--json", "--state", "listening", "--proc-root"])
            .arg(fixture("loopback-mix")),
    ))
    .unwrap();
    let sockets = v["sockets"].as_array().unwrap();
    assert!(!sockets.is_empty());
    assert!(
        sockets
            .iter()
            .all(|s| s["backlog"].is_null() && s.get("backlog").is_some())
    );
}

/// Live, through sock_diag: a listener's backlog is a number, and a kernel-side state filter
/// says what the count covers instead of "X of X".
#[test]
fn live_backlog_and_what_the_filter_line_counts() {
    let Some(listener) = crate::util::fresh_listener(std::net::Ipv4Addr::LOCALHOST.into()) else {
        return skip("no loopback listener");
    };
    let port = listener.local_addr().unwrap().port().to_string();
    let json =
        stdout_of(sockscope().args(["list", "--json", "--state", "listening", "--port", &port]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    if v["collection"]["source"] != "netlink" {
        return skip(format!(
            "sock_diag unavailable here ({})",
            v["collection"]["source_reason"]
        ));
    }
    assert!(
        v["sockets"][0]["backlog"].as_u64().is_some_and(|b| b > 0),
        "{json}"
    );
    let table = stdout_of(sockscope().args(["list", "--state", "listening", "--port", &port]));
    assert!(
        table.contains("1 socket matches; sockets in other states were skipped by the kernel"),
        "{table}"
    );
    drop(listener);
}
