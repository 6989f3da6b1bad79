//! What one rule is: its id, its documentation, the state it explains, its thresholds (their
//! defaults, their words, the `[rules.ID]` table that sets them) and its function, in one entry
//! ([`RuleDef`]) that the registry (`rules::ALL`) lists, whether the rule judges one collection,
//! two runs, or the operator's ranges. Nothing here knows a particular rule.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::runs::{Interval, Runs};
use super::thresholds::{Thresholds, Tunable, merge};
use super::{Input, Outcome};
use crate::model::TcpState;
#[cfg(test)]
use crate::report::Finding;

/// One rule, written in its own file as a `static RULE: RuleDef<ItsThresholds>`.
pub struct RuleDef<T: 'static> {
    /// Stable snake_case id; never renamed once shipped.
    pub id: &'static str,
    /// Its entry in `reference/diagnostics.md` (`A1`…).
    pub catalog: &'static str,
    /// What it looks at, for the README.
    pub meaning: &'static str,
    /// Why the defaults are what they are.
    pub why: &'static str,
    /// The state whose pile it explains: the operator's ranges for that state set its level.
    pub governs: Option<TcpState>,
    /// What the run reads behind its findings: the ages of which state's sockets, and its
    /// holders' threads.
    pub reads: Reads,
    /// Its thresholds as shipped; `NoThresholds` when there are none to set.
    pub defaults: T,
    /// The thresholds in words, for the README.
    pub describe: fn(&T) -> String,
    pub judge: Judge<T>,
    /// A finding it makes, for the test that every rule fires.
    #[cfg(test)]
    pub example: fn() -> Finding,
}

/// The evidence a rule's findings want read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// The state whose sockets' ages (tcp_info) prove how long the finding has been going on.
    pub ages: Option<TcpState>,
    /// The threads of the processes the finding names, and the peers they wait on.
    pub threads: bool,
}

impl Reads {
    pub const NOTHING: Reads = Reads {
        ages: None,
        threads: false,
    };

    /// The ages of `state`'s sockets and the holders' threads.
    pub const fn holders_of(state: TcpState) -> Reads {
        Reads {
            ages: Some(state),
            threads: true,
        }
    }
}

/// When a rule judges, and on what.
pub enum Judge<T: 'static> {
    /// One collection: every command that diagnoses.
    Once(fn(&Input, &T) -> Outcome),
    /// One collection and the destroy events since the previous run: only when they are
    /// followed (`watch`, `serve`, `--follow`); otherwise the rule does not run, and is not
    /// counted among the checks.
    Followed(fn(&Input, &T) -> Outcome),
    /// The sockets remembered across runs (`check --state-file`, `serve`, `watch`), whenever
    /// there is a previous run.
    Remembered(fn(&Runs) -> Outcome),
    /// How the kernel counters moved since the previous run: skipped after a reboot, and when
    /// no time has passed.
    Interval(fn(&Runs, &Interval) -> Outcome),
    /// The operator's ranges, judged by `ranges::apply`.
    Ranges,
}

/// A rule's README row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    pub id: &'static str,
    pub catalog: &'static str,
    pub meaning: &'static str,
    pub defaults: String,
    pub why: &'static str,
}

impl<T: 'static> RuleDef<T> {
    /// This rule's thresholds as configured.
    pub fn thresholds<'a>(&'a self, all: &'a Thresholds) -> &'a T
    where
        T: Tunable,
    {
        all.get(self.id, &self.defaults)
    }
}

/// A rule as the registry holds it, whatever the type of its thresholds.
pub trait Rule: Sync {
    fn id(&self) -> &'static str;
    /// Its README row, the defaults worded from `thresholds`.
    fn doc(&self, thresholds: &Thresholds) -> RuleDoc;
    /// The state whose pile it explains, if one.
    fn governs(&self) -> Option<TcpState>;
    /// The evidence its findings want read.
    fn reads(&self) -> Reads;
    /// Whether it judges one collection (and counts among the checks a summary ran).
    fn judges_once(&self) -> bool;
    /// Whether it judges the destroy events (and counts among the checks when they are
    /// followed).
    fn judges_followed(&self) -> bool;
    /// Judges one collection; `None` for a rule that does not.
    fn judge_once(&self, input: &Input, thresholds: &Thresholds) -> Option<Outcome>;
    /// Judges the sockets remembered across runs; `None` for a rule that does not.
    fn judge_remembered(&self, runs: &Runs) -> Option<Outcome>;
    /// Judges the interval between two runs; `None` for a rule that does not.
    fn judge_interval(&self, runs: &Runs, interval: &Interval) -> Option<Outcome>;
    /// The keys its `[rules.ID]` table takes besides `enabled`, with their defaults.
    #[cfg(test)]
    fn keys(&self) -> toml::Table;
    /// Applies its `[rules.ID]` table (without `enabled`) to `thresholds`.
    fn configure(&self, thresholds: &mut Thresholds, table: &toml::Table) -> Result<(), String>;
    #[cfg(test)]
    fn example(&self) -> Finding;
    /// When it judges, for the generated alert rules and runbooks.
    #[cfg(all(test, feature = "serve"))]
    fn judged(&self) -> Judged;
}

/// When a rule judges, without its function.
#[cfg(all(test, feature = "serve"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    Once,
    Followed,
    Remembered,
    Interval,
    Ranges,
}

impl<T> Rule for RuleDef<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Tunable,
{
    fn id(&self) -> &'static str {
        self.id
    }

    fn doc(&self, thresholds: &Thresholds) -> RuleDoc {
        RuleDoc {
            id: self.id,
            catalog: self.catalog,
            meaning: self.meaning,
            defaults: (self.describe)(self.thresholds(thresholds)),
            why: self.why,
        }
    }

    fn governs(&self) -> Option<TcpState> {
        self.governs
    }

    fn reads(&self) -> Reads {
        self.reads
    }

    fn judges_once(&self) -> bool {
        matches!(self.judge, Judge::Once(_))
    }

    fn judges_followed(&self) -> bool {
        matches!(self.judge, Judge::Followed(_))
    }

    fn judge_once(&self, input: &Input, thresholds: &Thresholds) -> Option<Outcome> {
        match self.judge {
            Judge::Once(judge) => Some(judge(input, self.thresholds(thresholds))),
            Judge::Followed(judge) if input.flows.is_some() => {
                Some(judge(input, self.thresholds(thresholds)))
            }
            _ => None,
        }
    }

    fn judge_remembered(&self, runs: &Runs) -> Option<Outcome> {
        match self.judge {
            Judge::Remembered(judge) => Some(judge(runs)),
            _ => None,
        }
    }

    fn judge_interval(&self, runs: &Runs, interval: &Interval) -> Option<Outcome> {
        match self.judge {
            Judge::Interval(judge) => Some(judge(runs, interval)),
            _ => None,
        }
    }

    #[cfg(test)]
    fn keys(&self) -> toml::Table {
        toml::Table::try_from(&self.defaults).unwrap_or_default()
    }

    fn configure(&self, thresholds: &mut Thresholds, table: &toml::Table) -> Result<(), String> {
        let merged = merge(self.thresholds(thresholds), self.id, table)?;
        thresholds.set(self.id, merged, &self.defaults);
        Ok(())
    }

    #[cfg(test)]
    fn example(&self) -> Finding {
        (self.example)()
    }

    #[cfg(all(test, feature = "serve"))]
    fn judged(&self) -> Judged {
        match self.judge {
            Judge::Once(_) => Judged::Once,
            Judge::Followed(_) => Judged::Followed,
            Judge::Remembered(_) => Judged::Remembered,
            Judge::Interval(_) => Judged::Interval,
            Judge::Ranges => Judged::Ranges,
        }
    }
}
