//! The rules, grouped by what they look at. Each is `fn(&Input, &Thresholds) -> Outcome`.

pub mod limits;
pub mod listen;
pub mod queues;
pub mod states;

use crate::model::KernelContext;
use crate::report::Culprit;

use super::{Input, Processes};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Why a rule's input is missing, from what the context reader recorded.
fn missing(ctx: &KernelContext, what: &str, per_netns: bool) -> String {
    match ctx.missing.iter().find(|(p, _)| p.ends_with(what)) {
        Some((path, why)) => format!("{what} unknown: cannot read '{}': {why}", path.display()),
        None if per_netns => format!(
            "{what} unknown: with --pid, /proc/sys shows this process's network namespace, not the target's"
        ),
        None => format!("{what} unknown: not a well-formed value"),
    }
}

/// Why no process is named when one was wanted (the `Who:` line names those found).
fn who(s: &Input, culprits: &[Culprit], wanted: bool) -> Option<String> {
    let named = culprits
        .iter()
        .any(|c| matches!(c, Culprit::Process { .. }));
    match (named, s.processes) {
        (true, _) => None,
        (false, Processes::Skipped) if wanted => {
            Some("processes not looked up (--no-processes)".into())
        }
        (false, Processes::LookedUp) if wanted => {
            Some("their processes could not be identified (see the attribution notes)".into())
        }
        _ => None,
    }
}
