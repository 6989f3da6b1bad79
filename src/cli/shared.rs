//! The options every command shares, lowered: which sockets (the filter), from where (the
//! source and the namespaces), and in which format.

use super::{FilterArgs, FormatArg, SharedArgs, SourceArgs, SourceKind};
use crate::collect::{self, Source};
use crate::error::Error;
use crate::filter::Filter;
use crate::model::StateSet;
use crate::pipeline::{Namespaces, Scope};
use crate::render::Format;

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
    fn source(&self) -> Source {
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
    pub(super) fn scope(&self) -> Scope {
        Scope {
            filter: self.filter.filter(),
            source: self.source.source(),
            no_processes: self.no_processes,
            namespaces: self.source.namespaces(),
            host_root: self.source.host_root.clone().unwrap_or_else(|| "/".into()),
        }
    }

    pub(super) fn format_arg(&self) -> Option<FormatArg> {
        if self.output.json {
            Some(FormatArg::Json)
        } else {
            self.output.format
        }
    }

    /// The format of the summary, list or top.
    pub(super) fn format(&self, command: &str) -> Result<Format, Error> {
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

    /// The format of check.
    pub(super) fn check_format(&self) -> Result<Format, Error> {
        match self.format_arg() {
            None | Some(FormatArg::Text) => Ok(Format::Text),
            Some(FormatArg::Nagios) => Ok(Format::Nagios),
            Some(FormatArg::Json) => Ok(Format::Json),
            Some(FormatArg::Prometheus) => Ok(Format::Prometheus),
            Some(other) => Err(Error::Usage(format!(
                "--format {}: check takes text, nagios, json or prometheus",
                other.name()
            ))),
        }
    }
}
