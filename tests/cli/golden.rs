//! Golden output of every format over every fixture scenario. Review changes with
//! `cargo insta review`.

use crate::util::{CLEAN_SCENARIOS, fixture, sockscope, stdout_of};

fn golden(scenario: &str, args: &[&str], name: &str) {
    let out = stdout_of(
        sockscope()
            .arg("--proc-root")
            .arg(fixture(scenario))
            .args(args),
    );
    crate::util::snapshot_settings(None).bind(|| insta::assert_snapshot!(name, out));
}

#[test]
fn every_format_over_every_scenario() {
    for scenario in CLEAN_SCENARIOS.iter().chain(&["malformed"]) {
        for format in ["table", "plain", "json"] {
            golden(
                scenario,
                &["--format", format],
                &format!("{scenario}__{format}"),
            );
        }
    }
}

#[test]
fn filters_show_in_every_format() {
    let args = [
        "--state",
        "close-wait",
        "--state",
        "FIN_WAIT2",
        "--port",
        "5000",
    ];
    for format in ["table", "plain", "json"] {
        let mut all = args.to_vec();
        all.extend(["--format", format]);
        golden("loopback-mix", &all, &format!("filtered__{format}"));
    }
}

#[test]
fn family_flag_names_the_one_file_read() {
    golden("loopback-mix", &["-6"], "ipv6-flag__table");
}

#[test]
fn pid_reads_that_process_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("4242/net");
    std::fs::create_dir_all(&net).unwrap();
    for f in ["tcp", "tcp6"] {
        std::fs::copy(
            crate::util::root()
                .join(fixture("loopback-mix"))
                .join("net")
                .join(f),
            net.join(f),
        )
        .unwrap();
    }
    let plain = stdout_of(
        sockscope()
            .arg("--proc-root")
            .arg(dir.path())
            .args(["--pid", "4242", "--format", "plain"]),
    );
    let direct = stdout_of(
        sockscope()
            .arg("--proc-root")
            .arg(fixture("loopback-mix"))
            .args(["--format", "plain"]),
    );
    assert_eq!(plain, direct);
}

#[test]
fn family_flags_skip_the_other_file() {
    let json = stdout_of(
        sockscope()
            .arg("--proc-root")
            .arg(fixture("loopback-mix"))
            .args(["-6", "--json"]),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["total"], 8);
    assert_eq!(v["families"]["ipv4"]["LISTEN"], 0);
    assert_eq!(v["collection"]["files"][0]["read"], false);
    assert_eq!(v["collection"]["sockets_seen"], 8);
}
