//! What the rules over sockets stuck across runs share (`close_wait_stuck`, `fin_wait2_stuck`):
//! the same inodes, seen for at least `--stuck-after`, with their holders.

use std::collections::BTreeMap;

use serde::Serialize;

use super::culprits::holders;
use crate::diagnose::Outcome;
use crate::diagnose::evidence::Purpose;
use crate::diagnose::runs::Runs;
use crate::model::TcpState;
use crate::report::{Facts, Finding, Seen, Severity};

/// What a stuck-socket finding says of its state.
#[derive(Debug)]
pub struct StuckWords {
    /// `CLOSE_WAIT`
    pub state: &'static str,
    pub tcp_state: TcpState,
    /// The state as `--state` takes it.
    pub arg: &'static str,
    /// What staying there means, as a clause.
    pub meaning: &'static str,
}

/// Rule `id`'s finding when some of the sockets `seen` (inode → first seen) have stayed for
/// `--stuck-after`.
pub fn judge_stuck(
    runs: &Runs,
    id: &'static str,
    seen: &BTreeMap<u64, u64>,
    words: &'static StuckWords,
) -> Outcome {
    let (now, after) = (runs.now, runs.stuck_after);
    let inodes: Vec<u64> = seen
        .iter()
        .filter(|(_, first)| now.saturating_sub(**first) >= after && **first < now)
        .map(|(i, _)| *i)
        .collect();
    if inodes.is_empty() {
        return Outcome::Quiet;
    }
    let culprits = holders(runs.owners, &inodes);
    let (evidence, shown) = runs
        .evidence
        .map(|e| e.for_finding(Some(words.tcp_state), &culprits, Purpose::Release))
        .unwrap_or_default();
    let facts = StuckFacts {
        sockets: inodes.len(),
        stuck_after_s: after,
        oldest_s: seen.values().min().map_or(0, |f| now.saturating_sub(*f)),
        words,
        seen: shown,
    };
    Outcome::Fired(
        Finding::new(id, Severity::Warning, facts)
            .with_next_steps(vec![format!("sockscope list -p -o --state {}", words.arg)])
            .with_culprits(culprits)
            .with_inodes(inodes)
            .with_evidence(evidence),
    )
}

/// The same sockets in one state for at least `stuck_after_s`.
#[derive(Debug, Serialize)]
pub struct StuckFacts {
    pub sockets: usize,
    pub stuck_after_s: u64,
    pub oldest_s: u64,
    #[serde(skip)]
    pub words: &'static StuckWords,
    /// What the holder's threads show.
    #[serde(skip)]
    pub seen: Option<Seen>,
}

impl Facts for StuckFacts {
    fn title(&self) -> String {
        format!("{} sockets stuck in {}", self.sockets, self.words.state)
    }

    fn summary(&self) -> String {
        format!(
            "{} sockets, the same inodes for at least {} s (the oldest {} s), are {}.",
            self.sockets, self.stuck_after_s, self.oldest_s, self.words.meaning
        )
    }

    fn causes(&self) -> Vec<String> {
        // Held CLOSE_WAIT is the application's to close; a held FIN_WAIT2 waits on its peer.
        match self.words.tcp_state {
            TcpState::CloseWait => super::close_wait_excess::causes(false, self.seen.as_ref()),
            _ => Vec::new(),
        }
    }
}
