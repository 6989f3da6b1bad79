//! The command line lowered into domain values (ripgrep's low → high args): nothing below
//! `commands` sees a clap type.

use clap::ValueEnum;

use super::{
    CheckFormat, FilterArgs, Format, FormatArg, GroupKey, SharedArgs, SortKey, SourceArgs,
    SourceKind, TopArgs, WatchFormat,
};
use crate::collect::{self, Source};
use crate::error::Error;
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

impl SharedArgs {
    /// Which sockets, from where, and whether processes may be looked up.
    pub fn scope(&self) -> Scope {
        Scope {
            filter: self.filter.filter(),
            source: self.source.source(),
            no_processes: self.no_processes,
            namespaces: self.source.namespaces(),
            host_root: self.source.host_root.clone().unwrap_or_else(|| "/".into()),
        }
    }

    fn format_arg(&self) -> Option<FormatArg> {
        if self.output.json {
            Some(FormatArg::Json)
        } else {
            self.output.format
        }
    }

    /// The format of the summary, list or top.
    pub fn format(&self, command: &str) -> Result<Format, Error> {
        match self.format_arg() {
            None | Some(FormatArg::Table) => Ok(Format::Table),
            Some(FormatArg::Json) => Ok(Format::Json),
            Some(FormatArg::Plain) => Ok(Format::Plain),
            Some(other) => Err(Error::Usage(format!(
                "--format {}: {command} takes table, json or plain",
                other.name()
            ))),
        }
    }

    /// The form of watch, or `None` to decide by whether stdout is a terminal.
    pub fn watch_format(&self) -> Result<Option<WatchFormat>, Error> {
        match self.format_arg() {
            None => Ok(None),
            Some(FormatArg::Screen | FormatArg::Table) => Ok(Some(WatchFormat::Screen)),
            Some(FormatArg::Plain) => Ok(Some(WatchFormat::Plain)),
            Some(FormatArg::Json) => Ok(Some(WatchFormat::Json)),
            Some(other) => Err(Error::Usage(format!(
                "--format {}: watch takes screen, plain or json",
                other.name()
            ))),
        }
    }

    /// The format of check.
    pub fn check_format(&self) -> Result<CheckFormat, Error> {
        match self.format_arg() {
            None | Some(FormatArg::Text) => Ok(CheckFormat::Text),
            Some(FormatArg::Nagios) => Ok(CheckFormat::Nagios),
            Some(FormatArg::Json) => Ok(CheckFormat::Json),
            Some(FormatArg::Prometheus) => Ok(CheckFormat::Prometheus),
            Some(other) => Err(Error::Usage(format!(
                "--format {}: check takes text, nagios, json or prometheus",
                other.name()
            ))),
        }
    }

    /// check's format as far as it can be told: UNKNOWN is said in it even when the format
    /// itself was the mistake.
    pub fn check_format_or_text(&self) -> CheckFormat {
        self.check_format().unwrap_or(CheckFormat::Text)
    }
}

impl FormatArg {
    fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

impl TopArgs {
    /// The scope of `top`: grouping by namespace or container sweeps every namespace unless
    /// one was chosen.
    pub fn scope(&self, shared: &SharedArgs) -> Scope {
        let mut scope = shared.scope();
        let by_netns = self
            .by
            .iter()
            .any(|k| matches!(k, GroupKey::Netns | GroupKey::Container));
        if by_netns && scope.namespaces == Namespaces::Own && shared.source.pid.is_none() {
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
            SortKey::None => report::SortKey::None,
        }
    }
}
