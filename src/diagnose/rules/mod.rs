//! The rules, grouped by what they look at. Each is `fn(&Snapshot, &Thresholds) -> Outcome`.

pub mod limits;
pub mod listen;
pub mod queues;
pub mod states;

use crate::collect::context::KernelContext;
use crate::report::{Culprit, Finding, Severity};

use super::{Processes, Snapshot};

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

/// "java[4242] holds 298 (61200 of 65536 fds open)" for the first process culprit, or why there is
/// none when processes were wanted.
fn who(s: &Snapshot, culprits: &[Culprit], wanted: bool) -> Option<String> {
    let first = culprits
        .iter()
        .find(|c| matches!(c, Culprit::Process { .. }))
        .map(|c| c.to_string());
    match (first, s.processes) {
        (Some(text), _) => Some(text),
        (None, Processes::Skipped) if wanted => {
            Some("processes not looked up (--no-processes)".into())
        }
        (None, Processes::LookedUp) if wanted => {
            Some("their processes could not be identified (see the attribution notes)".into())
        }
        _ => None,
    }
}

/// A finding from its parts; the two-run rules of `check` build theirs with it too.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finding(
    id: &'static str,
    severity: Severity,
    title: String,
    summary: String,
    evidence: serde_json::Value,
    causes: Vec<String>,
    next_steps: Vec<String>,
    culprits: Vec<Culprit>,
    inodes: Vec<u64>,
) -> Finding {
    Finding {
        id,
        severity,
        title,
        summary,
        evidence,
        causes,
        next_steps,
        culprits,
        inodes,
    }
}
