//! The checked-in completions and man page must match what the binary generates.

use crate::util::{sockscope, stdout_of};

/// The checked-in files are the default build's (with `serve`).
#[cfg(feature = "serve")]
mod fresh {
    use std::path::Path;

    use crate::util::{root, sockscope, stdout_of};

    const REFRESH: &str = "SOCKSCOPE_REFRESH=1 cargo test --test cli completions";

    fn check(args: &[&str], file: &str) {
        let generated = stdout_of(sockscope().args(args));
        let path = root().join("completions").join(file);
        if std::env::var_os("SOCKSCOPE_REFRESH").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale or missing; refresh it with:\n    {REFRESH}",
            Path::new("completions").join(file).display()
        );
    }

    #[test]
    fn completions_are_fresh() {
        for (shell, file) in [
            ("bash", "sockscope.bash"),
            ("zsh", "_sockscope"),
            ("fish", "sockscope.fish"),
            ("elvish", "sockscope.elv"),
            ("powershell", "_sockscope.ps1"),
        ] {
            check(&["completions", shell], file);
        }
    }

    #[test]
    fn completions_man_pages_are_fresh() {
        check(&["man"], "man/sockscope.1");
        for page in ["summary", "list", "top", "check", "watch", "serve"] {
            check(&["man", page], &format!("man/sockscope-{page}.1"));
        }
    }
}

#[test]
fn man_pages_have_every_section() {
    for args in [&["man"][..], &["man", "check"]] {
        let page = stdout_of(sockscope().args(args));
        for section in [
            ".SH EXAMPLES",
            ".SH \"EXIT STATUS\"",
            ".SH \"FILES\"",
            ".SH \"ENVIRONMENT\"",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(page.contains(section), "{args:?} lacks {section}");
        }
    }
    let check = stdout_of(sockscope().args(["man", "check"]));
    assert!(
        check.contains("\\-\\-warn") && check.contains("UNKNOWN"),
        "{check}"
    );
    sockscope().args(["man", "nonsense"]).assert().code(2);
}

/// Every page renders under `groff -man` with every warning on, and not one warning: a raw
/// non-ASCII character (`…`) warns, and so would a request clap_mangen or we got wrong. The
/// examples are commands to paste: not filled, never hyphenated (`node_ex‐porter`).
#[test]
fn man_pages_render_without_a_groff_warning() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let names = ["summary", "list", "top", "check", "watch", "serve"];
    // A build without the serve feature has no serve command, nor its page.
    let built = |n: &&&str| cfg!(feature = "serve") || **n != "serve";
    let pages: Vec<(Vec<&str>, String)> = std::iter::once(None)
        .chain(names.iter().filter(built).map(Some))
        .map(|page| {
            let mut args = vec!["man"];
            args.extend(page.copied());
            let roff = stdout_of(sockscope().args(&args));
            // Anything else is written as a groff escape (`\[u2026]`).
            assert!(roff.is_ascii(), "{args:?}: non-ASCII left raw");
            (args, roff)
        })
        .collect();
    if !crate::util::have_tool("groff", "groff-base") {
        crate::util::skip("groff is not installed");
        return;
    }
    for (args, roff) in pages {
        let render = |opts: &[&str]| {
            let mut groff = Command::new("groff")
                .args(opts)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            groff
                .stdin
                .take()
                .unwrap()
                .write_all(roff.as_bytes())
                .unwrap();
            groff.wait_with_output().unwrap()
        };
        let checked = render(&["-man", "-ww", "-z"]);
        assert!(checked.status.success(), "{args:?}: groff failed");
        let warnings = String::from_utf8_lossy(&checked.stderr);
        assert!(warnings.is_empty(), "{args:?}:\n{warnings}");
        // At 60 columns, every example is still one whole line, unhyphenated.
        let text = render(&["-man", "-Tutf8", "-rLL=60n", "-P", "-cbou"]);
        let text = String::from_utf8_lossy(&text.stdout);
        let examples = text
            .split("EXAMPLES")
            .nth(1)
            .and_then(|rest| rest.split("SEE ALSO").next())
            .unwrap_or_else(|| panic!("{args:?} has no EXAMPLES:\n{text}"));
        // Hyphenation breaks a word with U+2010; justification pads with spaces.
        assert!(!examples.contains('‐'), "{args:?} hyphenates:\n{examples}");
        for command in examples
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("sockscope"))
        {
            assert!(!command.contains("  "), "{args:?} justifies: {command}");
        }
    }
}

/// Bash completion offers what each place takes: `man` its pages (not the options),
/// `--netns` the `/run/netns` names (under `--host-root`) and `host`, `check --format` only
/// check's formats. Driven through the registered completion function in a real bash.
#[test]
fn bash_completes_pages_namespaces_and_checks_formats() {
    let script = stdout_of(sockscope().args(["completions", "bash"]));
    // The function with sockscope's own values is the one registered last, so it runs.
    let last = script.rfind("complete -F").unwrap();
    assert!(script[last..].starts_with("complete -F _sockscope_values"));
    if !crate::util::have_tool("bash", "bash") {
        crate::util::skip("bash is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sockscope.bash");
    std::fs::write(&file, &script).unwrap();
    let host = dir.path().join("host");
    std::fs::create_dir_all(host.join("run/netns")).unwrap();
    for name in ["red", "blue"] {
        std::fs::write(host.join("run/netns").join(name), "").unwrap();
    }
    let driver = r#"
        source "$1"
        fn=$(complete -p sockscope | sed -n 's/.*-F \([^ ]*\).*/\1/p')
        comp() {
            COMP_WORDS=("$@")
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            COMPREPLY=()
            "$fn" sockscope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[*]}"
        }
        comp sockscope man ""
        comp sockscope man t
        comp sockscope --host-root "$2" --netns ""
        comp sockscope --host-root "$2" top --netns r
        comp sockscope --host-root = "$2" --netns = b
        comp sockscope --host-root "$2" check --netns =
        comp sockscope check --format ""
        comp sockscope --state close-wait check --format n
        comp sockscope --format ""
        comp sockscope completions ""
    "#;
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", driver, "driver"])
        .arg(&file)
        .arg(&host)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "summary list top check watch serve",
            "top",
            "host blue red",
            "red",
            "blue",
            "host blue red",
            "text nagios json prometheus",
            "nagios",
            "table json plain text nagios prometheus screen",
            // Not broken: the completions command still offers its shells (and options).
            lines[9],
        ],
        "{stdout}"
    );
    assert!(lines[9].contains("bash elvish fish"), "{stdout}");
}
