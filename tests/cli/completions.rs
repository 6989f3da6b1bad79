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
