//! The README's table of diagnostics is generated from the thresholds the code uses.

use sockscope::internals::rule_table_markdown;

use crate::util::root;

/// Both tests may rewrite README.md with SOCKSCOPE_REFRESH: one at a time.
static README: std::sync::Mutex<()> = std::sync::Mutex::new(());

const BEGIN: &str =
    "<!-- diagnostics:begin (generated: SOCKSCOPE_REFRESH=1 cargo test --test cli docs) -->\n";
const END: &str = "<!-- diagnostics:end -->";

#[test]
fn docs_readme_lists_every_rule_with_its_defaults() {
    let _one = README.lock().unwrap_or_else(|e| e.into_inner());
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let generated = rule_table_markdown();
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!(
            "README.md lacks the diagnostics markers; refresh with SOCKSCOPE_REFRESH=1 cargo test --test cli docs"
        );
    };
    let current = &readme[start + BEGIN.len()..end];
    if std::env::var_os("SOCKSCOPE_REFRESH").is_some() {
        let updated = format!("{}{BEGIN}{generated}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        current == generated,
        "README.md's diagnostics table is stale; refresh it with:\n    SOCKSCOPE_REFRESH=1 cargo test --test cli docs"
    );
}

const METRICS_BEGIN: &str =
    "<!-- metrics:begin (generated: SOCKSCOPE_REFRESH=1 cargo test --test cli docs) -->\n";
const METRICS_END: &str = "<!-- metrics:end -->";

#[test]
fn docs_readme_lists_every_metric_serve_writes() {
    let _one = README.lock().unwrap_or_else(|e| e.into_inner());
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let generated = sockscope::internals::metric_list_markdown();
    assert!(generated.contains("| `sockscope_sockets` | gauge |"));
    let (Some(start), Some(end)) = (readme.find(METRICS_BEGIN), readme.find(METRICS_END)) else {
        panic!(
            "README.md lacks the metrics markers; refresh with SOCKSCOPE_REFRESH=1 cargo test --test cli docs"
        );
    };
    let current = &readme[start + METRICS_BEGIN.len()..end];
    if std::env::var_os("SOCKSCOPE_REFRESH").is_some() {
        let updated = format!(
            "{}{METRICS_BEGIN}{generated}{}",
            &readme[..start],
            &readme[end..]
        );
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        current == generated,
        "README.md's metric list is stale; refresh it with:\n    SOCKSCOPE_REFRESH=1 cargo test --test cli docs"
    );
}
