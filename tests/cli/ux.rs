//! What a new user meets: output that fits the terminal, help and arguments that say what they
//! mean, and the same numbers in every format.

use crate::util::scenario::{CLOSE_WAIT, ESTABLISHED, Scenario, sock};
use crate::util::{fixture, run_check, snapshot_settings, sockscope, stdout_of};

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
