//! Following the kernel's destroy events on the command line: `--follow` and `--flow-buffer`
//! for `check` and the summary (snapshots unless asked), `--no-flows` and `--flow-buffer` for
//! `watch` and `serve` (which follow by default), lowered into a [`FollowJob`].

use clap::Args;

use super::invocation::FollowJob;
use super::parse::{parse_bytes, parse_follow};

/// Following the kernel's destroy events for a while first: `check` and the summary stay
/// snapshots unless asked.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connections over time")]
pub struct FollowArgs {
    /// Follow the kernel's destroy events for DURATION (e.g. 5s) before collecting, so the
    /// rules that judge rates (failed connects, port exhaustion) can run. Any user may follow
    /// the namespaces it can enter; where the kernel refuses, said once and the snapshot runs
    /// at once. At most 5m.
    #[arg(long, value_name = "DURATION", value_parser = parse_follow)]
    pub follow: Option<std::time::Duration>,
    /// The kernel's receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events
    /// past a full buffer are lost, and counted.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_bytes)]
    pub flow_buffer: usize,
}

/// Following the kernel's destroy events between refreshes or scrapes (`watch`, `serve`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connections over time")]
pub struct FlowArgs {
    /// Do not follow the kernel's destroy events (closes, lifetimes, failed connects).
    #[arg(long)]
    pub no_flows: bool,
    /// The kernel's receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events
    /// past a full buffer are lost, and counted. 4MiB holds about half a second of 10,000
    /// events a second (both ends of 5,000 connections).
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_bytes)]
    pub flow_buffer: usize,
}

impl FollowArgs {
    /// Following first, when `--follow` asks.
    pub(super) fn job(&self) -> Option<FollowJob> {
        self.follow.map(|first| FollowJob {
            buffer: self.flow_buffer,
            first: Some(first),
        })
    }
}

impl FlowArgs {
    /// Following between runs, unless `--no-flows`.
    pub(super) fn job(&self) -> Option<FollowJob> {
        (!self.no_flows).then_some(FollowJob {
            buffer: self.flow_buffer,
            first: None,
        })
    }
}
