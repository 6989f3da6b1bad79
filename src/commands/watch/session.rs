//! One refresh of `watch`: the pipeline once, with the refresh before as its history (as
//! `check --state-file` carries its state file from run to run, so the two-run rules work from
//! the second refresh), then the culprit panel for the selected state.

use std::collections::{BTreeMap, HashMap};
use std::time::UNIX_EPOCH;

use crate::alert::state::Saved;
use crate::error::Error;
#[cfg(feature = "tui")]
use crate::filter::Filter;
use crate::group;
use crate::model::{Socket, StateSet, TcpState};
#[cfg(feature = "tui")]
use crate::pipeline::Namespaces;
use crate::pipeline::{self, OwnerPlan, Request};
use crate::render;
use crate::report::watch::{CulpritRow, Culprits, Refresh};
use crate::report::{Attribution, GroupKey, KeyValue, Owners};

/// How many culprits the panel keeps (more than any screen shows).
const CULPRIT_ROWS: usize = 20;

/// The states whose sockets can be destroyed later with an owner to name: the connections
/// and the listeners (TIME_WAIT and request mini-sockets have no inode).
fn followed_states() -> StateSet {
    StateSet::ALL.without(StateSet::of(&[
        TcpState::TimeWait,
        TcpState::SynRecv,
        TcpState::Close,
    ]))
}

/// What the culprit panel asks of a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panel {
    pub state: TcpState,
    pub by: GroupKey,
}

pub struct Session {
    /// Its history holds the refresh before.
    request: Request,
    /// Epoch seconds of the first refresh: a socket first seen then was already there.
    started: Option<u64>,
}

impl Session {
    /// `request` judges with a history: each refresh is compared with the one before.
    pub fn new(request: Request) -> Session {
        Session {
            request,
            started: None,
        }
    }

    #[cfg(feature = "tui")]
    pub fn looks_up_processes(&self) -> bool {
        !self.request.scope.no_processes
    }

    /// Every network namespace is read (`--all-netns`): sockets can be grouped by container.
    #[cfg(feature = "tui")]
    pub fn sweeps(&self) -> bool {
        matches!(self.request.scope.namespaces, Namespaces::All)
    }

    /// A new filter: counts and first-seen times start afresh, as they are not comparable.
    #[cfg(feature = "tui")]
    pub fn set_filter(&mut self, filter: Filter) {
        self.request.scope.filter = filter;
        self.started = None;
        if let Some(h) = &mut self.request.plan.history {
            h.previous = None;
        }
    }

    pub fn refresh(&mut self, panel: Option<Panel>) -> Result<Refresh, Error> {
        let wanted = panel.map(|p| p.state);
        let by_container = panel.is_some_and(|p| p.by == GroupKey::Container);
        // Only the selected state's sockets are kept, and only when the panel is shown; by
        // container, with their namespace's container (known only while the dump streams).
        let mut kept: Vec<(Option<KeyValue>, Socket)> = Vec::new();
        let mut last: Option<(u64, KeyValue)> = None;
        // Grouping by process: the panel's owners come from the findings' walk, one per refresh.
        // Following destroy events: every connection's owners, in the same walk, so the next
        // refresh's closes are joined to their processes.
        let follows = self.request.plan.flows.is_some() && !self.request.scope.no_processes;
        let panel_states = match panel {
            Some(p) if p.by == GroupKey::Process => StateSet::one(p.state),
            _ => StateSet::EMPTY,
        };
        let owned = if follows {
            panel_states.union(followed_states())
        } else {
            panel_states
        };
        self.request.plan.owners = if owned.is_empty() {
            OwnerPlan::Findings
        } else {
            OwnerPlan::Also(owned)
        };
        let finished = pipeline::run(&self.request, &mut |label, s| {
            if Some(s.state) != wanted {
                return;
            }
            let container = by_container.then(|| {
                let inode = label.map_or(0, |l| l.inode);
                match &last {
                    Some((i, v)) if *i == inode => v.clone(),
                    _ => {
                        let v = group::container_value(label);
                        last = Some((inode, v.clone()));
                        v
                    }
                }
            });
            kept.push((container, *s));
        })?;
        let warnings = render::warnings(&finished.report);
        let report = finished.report;
        let now = report
            .collected_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let first = self
            .request
            .plan
            .history
            .as_ref()
            .is_none_or(|h| h.previous.is_none());
        let started = *self.started.get_or_insert(now);
        // The first refresh has nothing to compare with; that is not news on a live view.
        let notes = if first { Vec::new() } else { finished.notes };
        let saved = finished.memory;
        let age = |seen: &BTreeMap<u64, u64>| {
            seen.values()
                .min()
                .map(|&t| (now.saturating_sub(t), t <= started))
        };
        let remembered = saved
            .as_ref()
            .map_or([None, None], |s| [age(&s.close_wait), age(&s.fin_wait2)]);
        // tcp_info's ages are exact; the first-seen times (the /proc source) only a bound.
        let measured = |state: TcpState| {
            finished
                .ages
                .iter()
                .find(|a| a.state == state)
                .map(|a| (a.oldest_s as u64, false))
        };
        let oldest = [
            measured(TcpState::CloseWait).or(remembered[0]),
            measured(TcpState::FinWait2).or(remembered[1]),
        ];
        let culprits = panel.map(|panel| {
            let owners = finished.owners.as_ref();
            self.culprits(panel, &kept, owners, saved.as_ref(), now, started)
        });
        if let (Some(h), Some(s)) = (&mut self.request.plan.history, saved) {
            h.previous = Some(s);
        }
        Ok(Refresh {
            report,
            notes,
            warnings,
            culprits,
            oldest,
        })
    }

    /// The selected state's sockets grouped by the panel's key, with the oldest first-seen
    /// time of each group's CLOSE_WAIT / held FIN_WAIT2 sockets.
    fn culprits(
        &self,
        panel: Panel,
        sockets: &[(Option<KeyValue>, Socket)],
        owners: Option<&Owners>,
        saved: Option<&Saved>,
        now: u64,
        started: u64,
    ) -> Culprits {
        let mut note = None;
        let empty = Owners::default();
        let (owners, attribution) = match panel.by {
            GroupKey::Process if self.request.scope.no_processes => {
                note = Some("processes are not looked up (--no-processes)".to_string());
                (None, None)
            }
            GroupKey::Process => {
                // No socket with an inode to look up: nothing was walked, and none is owned.
                let owners = owners.unwrap_or(&empty);
                (
                    Some(owners),
                    Some(Attribution::of_inodes(
                        sockets.iter().map(|(_, s)| s.inode),
                        owners,
                    )),
                )
            }
            _ => (None, None),
        };
        let first_seen = saved.and_then(|s| match panel.state {
            TcpState::CloseWait => Some(&s.close_wait),
            TcpState::FinWait2 => Some(&s.fin_wait2),
            _ => None,
        });
        let mut groups: HashMap<KeyValue, (u64, Option<u64>)> = HashMap::new();
        if note.is_none() {
            for (container, socket) in sockets {
                let seen = first_seen.and_then(|m| m.get(&socket.inode)).copied();
                let keys = match container {
                    Some(c) => vec![c.clone()],
                    None => group::values_of(panel.by, socket, owners),
                };
                for key in keys {
                    let entry = groups.entry(key).or_default();
                    entry.0 += 1;
                    entry.1 = match (entry.1, seen) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
            }
        }
        let mut rows: Vec<CulpritRow> = groups
            .into_iter()
            .map(|(key, (count, seen))| CulpritRow {
                key,
                count,
                oldest_s: seen.map(|t| now.saturating_sub(t)),
                since_start: seen.is_some_and(|t| t <= started),
            })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        let cut = rows.split_off(rows.len().min(CULPRIT_ROWS));
        Culprits {
            state: panel.state,
            by: panel.by,
            rows,
            total: sockets.len() as u64,
            rest: (cut.len() as u64, cut.iter().map(|r| r.count).sum()),
            attribution,
            note,
        }
    }
}
