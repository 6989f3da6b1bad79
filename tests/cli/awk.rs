//! Differential test: `--format plain` prints what the netstat/awk one-liner computes.
//!
//! netstat prints each line of /proc/net/tcp{,6} with its state's name and the one-liner counts
//! the last column; the awk program below does both steps on the raw files, independently of
//! our parser.

use std::process::Command;

use crate::util::{CLEAN_SCENARIOS, fixture, have_tool, root, skip, sockscope, stdout_of};

const ONE_LINER: &str = r#"
BEGIN {
    split("ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN CLOSING", N, " ")
    N[12] = "SYN_RECV"   # TCP_NEW_SYN_RECV: only sock_diag reports it; we count it as ss does
}
FNR > 1 && NF >= 12 {
    h = toupper($4); c = 0
    for (i = 1; i <= length(h); i++) c = c * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1
    ++S[(c in N) ? N[c] : "UNKNOWN"]
}
END { for (a in S) print a, S[a] }
"#;

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn plain_equals_the_awk_one_liner() {
    if !have_tool("awk", "mawk") {
        return skip("awk is not installed");
    }
    for scenario in CLEAN_SCENARIOS {
        let dir = root().join(fixture(scenario)).join("net");
        let files: Vec<_> = ["tcp", "tcp6"]
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.exists())
            .collect();
        let awk = Command::new("awk")
            .arg(ONE_LINER)
            .args(&files)
            .output()
            .unwrap();
        assert!(awk.status.success());
        let ours = stdout_of(
            sockscope()
                .arg("--proc-root")
                .arg(fixture(scenario))
                .args(["--format", "plain"]),
        );
        assert_eq!(
            sorted_lines(&ours),
            sorted_lines(&String::from_utf8(awk.stdout).unwrap()),
            "scenario {scenario}"
        );
    }
}
