//! The command line lowered into domain values (ripgrep's low → high args): nothing below
//! `commands` sees a clap type.

use super::{
    CheckArgs, FilterArgs, GroupKey, ListArgs, SortKey, SourceArgs, SourceKind, SummaryArgs,
    TopArgs,
};
use crate::collect::{self, Source};
use crate::filter::Filter;
use crate::model::StateSet;
use crate::pipeline::{Namespaces, Scope};
use crate::report;

impl FilterArgs {
    pub fn filter(&self) -> Filter {
        let states = (!self.states.is_empty()).then(|| {
            self.states
                .iter()
                .fold(StateSet::EMPTY, |set, s| set.union(s.states))
        });
        let both = !self.ipv4 && !self.ipv6;
        Filter {
            states,
            state_names: self.states.iter().map(|s| s.name.to_string()).collect(),
            families: [self.ipv4 || both, self.ipv6 || both],
            ports: self.ports.clone(),
            sports: self.sports.clone(),
            dports: self.dports.clone(),
            srcs: self.srcs.clone(),
            dsts: self.dsts.clone(),
        }
    }
}

impl SourceArgs {
    pub fn source(&self) -> Source {
        let kind = match self.source {
            SourceKind::Auto => collect::SourceKind::Auto,
            SourceKind::Netlink => collect::SourceKind::Netlink,
            SourceKind::Proc => collect::SourceKind::Proc,
        };
        let root = match &self.host_root {
            Some(host) => host.join("proc"),
            None => self.proc_root.clone(),
        };
        Source::new(root, self.pid, kind)
    }

    fn namespaces(&self) -> Namespaces {
        match (&self.netns, self.all_netns) {
            (Some(selector), _) => Namespaces::One(selector.clone()),
            (None, true) => Namespaces::All,
            (None, false) => Namespaces::Own,
        }
    }
}

fn scope(filter: &FilterArgs, source: &SourceArgs, no_processes: bool) -> Scope {
    Scope {
        filter: filter.filter(),
        source: source.source(),
        no_processes,
        namespaces: source.namespaces(),
        host_root: source.host_root.clone().unwrap_or_else(|| "/".into()),
    }
}

impl SummaryArgs {
    pub fn scope(&self) -> Scope {
        scope(&self.filter, &self.source, self.no_processes)
    }
}

impl CheckArgs {
    pub fn scope(&self) -> Scope {
        scope(&self.filter, &self.source, self.no_processes)
    }
}

impl ListArgs {
    /// `list` looks processes up only with `-p`.
    pub fn scope(&self) -> Scope {
        scope(&self.filter, &self.source, !self.processes)
    }
}

impl TopArgs {
    /// Grouping by namespace or container sweeps every namespace unless one was chosen.
    pub fn scope(&self) -> Scope {
        let mut scope = scope(&self.filter, &self.source, false);
        let by_netns = self
            .by
            .iter()
            .any(|k| matches!(k, GroupKey::Netns | GroupKey::Container));
        if by_netns && scope.namespaces == Namespaces::Own && self.source.pid.is_none() {
            scope.namespaces = Namespaces::All;
        }
        scope
    }

    /// The grouping keys, each once, in the order given; by process when none.
    pub fn keys(&self) -> Vec<report::GroupKey> {
        let mut keys = Vec::new();
        for &key in &self.by {
            let key = report::GroupKey::from(key);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            keys.push(report::GroupKey::Process);
        }
        keys
    }
}

impl From<GroupKey> for report::GroupKey {
    fn from(key: GroupKey) -> report::GroupKey {
        match key {
            GroupKey::Process => report::GroupKey::Process,
            GroupKey::LocalPort => report::GroupKey::LocalPort,
            GroupKey::RemotePort => report::GroupKey::RemotePort,
            GroupKey::Peer => report::GroupKey::Peer,
            GroupKey::Uid => report::GroupKey::Uid,
            GroupKey::Netns => report::GroupKey::Netns,
            GroupKey::Container => report::GroupKey::Container,
        }
    }
}

impl From<SortKey> for report::SortKey {
    fn from(key: SortKey) -> report::SortKey {
        match key {
            SortKey::State => report::SortKey::State,
            SortKey::Local => report::SortKey::Local,
            SortKey::Peer => report::SortKey::Peer,
            SortKey::Rx => report::SortKey::Rx,
            SortKey::Tx => report::SortKey::Tx,
        }
    }
}
