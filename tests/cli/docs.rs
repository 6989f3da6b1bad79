//! The README shows what the program prints, generated from the program itself: the table of
//! diagnostics from the thresholds the code uses, the JSON document and the Nagios line from a
//! fixture, the examples of plain output, filters, `top` and `list` from a saved copy of /proc
//! built here. A stale README fails here with the command that refreshes it.

use sockscope::internals::rule_table_markdown;

use crate::util::scenario::*;
use crate::util::{root, sockscope, stdout_of};

const REFRESH: &str = "SOCKSCOPE_REFRESH=1 cargo test --test cli docs";

/// Checks (or with SOCKSCOPE_REFRESH, rewrites) the README text between the `NAME` markers.
fn generated(name: &str, content: &str) {
    // The tests run in parallel and each rewrites the same file when refreshing.
    static README: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _only_one = README.lock().unwrap_or_else(|e| e.into_inner());
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let begin = format!("<!-- {name}:begin (generated: {REFRESH}) -->\n");
    let end = format!("<!-- {name}:end -->");
    let (Some(start), Some(stop)) = (readme.find(&begin), readme.find(&end)) else {
        panic!("README.md lacks the {name} markers; add them and refresh with:\n    {REFRESH}");
    };
    let current = &readme[start + begin.len()..stop];
    if std::env::var_os("SOCKSCOPE_REFRESH").is_some() {
        let updated = format!("{}{begin}{content}{}", &readme[..start], &readme[stop..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        current == content,
        "README.md's {name} is stale; refresh it with:\n    {REFRESH}"
    );
}

#[test]
fn docs_readme_lists_every_rule_with_its_defaults() {
    generated("diagnostics", &rule_table_markdown());
}

/// Times vary between runs; the README shows one fixed pair.
fn steady(text: &str) -> String {
    let at = regex_lite_replace(text, "\"collected_at\": \"", "\"", "2026-11-29T12:00:00Z");
    regex_lite_replace(&at, "\"duration_ms\": ", ",", "0.2")
}

/// Replaces what stands between `before` and the next `after` with `with`, everywhere.
fn regex_lite_replace(text: &str, before: &str, after: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(before) {
        out.push_str(&rest[..i + before.len()]);
        rest = &rest[i + before.len()..];
        let j = rest.find(after).unwrap_or(0);
        out.push_str(with);
        rest = &rest[j..];
    }
    out.push_str(rest);
    out
}

#[test]
fn docs_readme_json_example_is_what_the_program_prints() {
    let json =
        stdout_of(sockscope().args(["--json", "--proc-root", "tests/fixtures/loopback-mix"]));
    generated("json-example", &format!("```json\n{}```\n", steady(&json)));
}

#[test]
fn docs_readme_nagios_example_is_what_the_program_prints() {
    let out = sockscope()
        .args([
            "check",
            "--format",
            "nagios",
            "--warn",
            "close-wait=2",
            "--crit",
            "close-wait=10",
            "--proc-root",
            "tests/fixtures/loopback-mix",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    generated("nagios-example", &format!("```\n{text}```\n"));
}

#[cfg(feature = "serve")]
#[test]
fn docs_readme_lists_every_metric_serve_writes() {
    let list = sockscope::internals::metric_list_markdown();
    assert!(list.contains("| `sockscope_sockets` | gauge |"));
    generated("metrics", &list);
}

/// The saved copy of /proc the README's examples of the summary, filters, `top` and `list` are
/// printed from: a server on 127.0.0.1:8080 (python3, pid 30812) that never closes the
/// connections its clients close, their clients' ends in FIN_WAIT2, an IPv6 service on
/// [::1]:8443 (nginx) and outgoing connections that ended in TIME_WAIT.
fn readme_copy() -> Scenario {
    let clients = 30;
    Scenario::new()
        .owned_by(30812, "python3", 1, |_| {
            ("127.0.0.1:8080".into(), "0.0.0.0:0".into(), sock(LISTEN))
        })
        .owned_by(30812, "python3", clients, |i| {
            let mut s = sock(CLOSE_WAIT);
            s.rx = u32::from(i % 4 != 0);
            (
                "127.0.0.1:8080".into(),
                format!("127.0.0.1:{}", 36200 + 2 * i),
                s,
            )
        })
        .many(clients, |i| {
            let mut s = sock(FIN_WAIT2);
            (s.form, s.timer, s.owned) = (Form::Mini, 3, false);
            (
                format!("127.0.0.1:{}", 36200 + 2 * i),
                "127.0.0.1:8080".into(),
                s,
            )
        })
        .owned_by(30812, "python3", 8, |i| {
            (
                "127.0.0.1:8080".into(),
                format!("127.0.0.1:{}", 37100 + i),
                sock(ESTABLISHED),
            )
        })
        .owned_by(30950, "loadgen", 8, |i| {
            (
                format!("127.0.0.1:{}", 37100 + i),
                "127.0.0.1:8080".into(),
                sock(ESTABLISHED),
            )
        })
        .owned_by(912, "nginx", 1, |_| {
            ("[::1]:8443".into(), "[::]:0".into(), sock(LISTEN))
        })
        .owned_by(912, "nginx", 4, |i| {
            let mut s = sock(ESTABLISHED);
            if i == 0 {
                // Retransmitting a reply: 1200 bytes unacknowledged, the third try pending.
                (s.tx, s.timer, s.when, s.retrans) = (1200, 1, Some(40), 2);
            }
            ("[::1]:8443".into(), format!("[::1]:{}", 51000 + i), s)
        })
        .owned_by(912, "nginx", 2, |i| {
            let mut s = sock(CLOSE_WAIT);
            s.rx = 1;
            ("[::1]:8443".into(), format!("[::1]:{}", 51100 + i), s)
        })
        .owned_by(31007, "curl", 4, |i| {
            let mut s = sock(ESTABLISHED);
            (s.timer, s.when) = (2, Some(7140 * 100));
            (format!("[::1]:{}", 51000 + i), "[::1]:8443".into(), s)
        })
        .many(2, |i| {
            let mut s = sock(FIN_WAIT2);
            (s.form, s.timer, s.owned, s.when) = (Form::Mini, 3, false, Some(4200));
            (format!("[::1]:{}", 51100 + i), "[::1]:8443".into(), s)
        })
        .many(12, |i| {
            (
                format!("10.0.2.15:{}", 48000 + i),
                "10.0.9.4:5432".into(),
                time_wait_mini(sock(TIME_WAIT)),
            )
        })
}

/// The headline's duration (`in 3.7 ms`) varies between runs; the README shows one.
fn steady_duration(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let head = line.strip_suffix(" ms").unwrap_or(line);
        match head.rfind(" in ") {
            Some(i)
                if head.len() < line.len()
                    && head[i + 4..]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.') =>
            {
                out.push_str(&head[..i]);
                out.push_str(" in 0.2 ms\n");
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// `$ sockscope ARGS` and what it prints, run on the saved copy `copy` from its parent
/// directory, so the paths in the output are the ones shown.
fn example(parent: &std::path::Path, args: &[&str]) -> String {
    let out = stdout_of(
        sockscope()
            .current_dir(parent)
            .env_remove("COLUMNS")
            .args(args)
            .args(["--proc-root", "copy"]),
    );
    let out = steady_duration(&out);
    format!(
        "```\n$ sockscope {} --proc-root copy\n{out}```\n",
        args.join(" ")
    )
}

#[test]
fn docs_readme_examples_are_what_the_program_prints() {
    let parent = tempfile::tempdir().unwrap();
    readme_copy().write_at(&parent.path().join("copy"));
    let p = parent.path();
    generated("plain-example", &example(p, &["--format", "plain"]));
    generated(
        "filter-example",
        &example(p, &["--state", "close-wait", "--state", "fin-wait-2", "-6"]),
    );
    generated(
        "top-example",
        &example(p, &["top", "--by", "process", "--state", "close-wait"]),
    );
    generated(
        "list-example",
        &example(p, &["list", "-p", "-o", "--port", "8443"]),
    );
}

/// node_exporter's textfile directory, the one Debian's prometheus-node-exporter reads.
const TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";

/// Every place that tells where the textfile goes names one directory: each names it, and
/// every absolute `--textfile` path and textfile mount in them is in it (under `/host` in a
/// container looking at the host).
#[test]
fn docs_textfile_directory_is_one_everywhere() {
    let files = [
        "README.md",
        "src/commands/man.rs",
        "completions/man/sockscope-check.1",
        "deploy/sockscope.service",
        "deploy/docker-run.sh",
        "deploy/kubernetes/textfile/daemonset.yaml",
    ];
    let mut drifted = Vec::new();
    for file in files {
        // groff escapes the dashes in the man page.
        let text = std::fs::read_to_string(root().join(file))
            .unwrap()
            .replace("\\-", "-");
        if !text.contains(TEXTFILE_DIR) {
            drifted.push(format!("{file} does not name {TEXTFILE_DIR}"));
        }
        for stale in ["node_exporter/textfile", "textfile_collector"] {
            if text.contains(stale) {
                drifted.push(format!("{file} names another directory: {stale}"));
            }
        }
        for (i, _) in text.match_indices("--textfile ") {
            let path: String = text[i + "--textfile ".len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"`'\",)".contains(*c))
                .collect();
            let path = path.strip_prefix("/host").unwrap_or(&path);
            if path.starts_with('/')
                && path != "/dev/null"
                && !path.starts_with(&format!("{TEXTFILE_DIR}/"))
            {
                drifted.push(format!("{file}: --textfile {path}"));
            }
        }
    }
    assert!(
        drifted.is_empty(),
        "the textfile directory drifted:\n  {}",
        drifted.join("\n  ")
    );
}
