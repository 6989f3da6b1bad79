//! The README's "Diagnostics" table, generated from the rule entries (`rules::ALL`) and the
//! thresholds the code uses; a test keeps the README in sync.

use super::rules::ALL;
use super::thresholds::Thresholds;

/// One row per rule, in catalog order.
pub fn catalog_markdown(t: &Thresholds) -> String {
    let mut out =
        String::from("| id | what it means | default thresholds | why |\n|---|---|---|---|\n");
    for rule in ALL {
        let r = rule.doc(t);
        out.push_str(&format!(
            "| `{}` ({}) | {} | {} | {} |\n",
            r.id, r.catalog, r.meaning, r.defaults, r.why
        ));
    }
    out
}
