//! Command-line types (clap derive). Parsing only: no I/O happens here.

mod lower;
mod parse;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::filter::PortRange;
use crate::model::StateSelector;
use crate::report::StateRange;
use parse::{parse_duration, parse_net, parse_port_range, parse_state_range, state_parser};

/// Count every TCP socket by state: an exact, fast `netstat | awk`.
///
/// With no command, prints the summary: every TCP socket of this network namespace counted by
/// state, IPv4 and IPv6, from /proc/net/tcp and /proc/net/tcp6.
#[derive(Debug, Parser)]
#[command(name = "sockscope", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub summary: SummaryArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Count TCP sockets by state (the default command).
    Summary(SummaryArgs),
    /// One row per socket, like `ss -tan`, optionally with the owning processes.
    List(ListArgs),
    /// Count sockets per process, port, peer or uid, most first.
    ///
    /// For example, who holds the CLOSE_WAIT sockets, and toward which peers:
    /// sockscope top --by process --by peer --state close-wait
    Top(TopArgs),
    /// Alerting for cron, Nagios/Icinga and Prometheus: exit 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN.
    ///
    /// Runs every diagnostic rule plus the --warn/--crit state thresholds. The default text
    /// output prints nothing when all is well, so cron mails only on trouble.
    Check(CheckArgs),
    /// Print a shell completion script to standard output.
    ///
    /// For example: sockscope completions bash > /etc/bash_completion.d/sockscope
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output.
    ///
    /// For example: sockscope man | man -l -
    Man,
}

#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// Do not look up which processes hold the sockets behind findings: faster, and quiet about
    /// permissions; findings then name ports and peers only.
    #[arg(long)]
    pub no_processes: bool,
    /// Thresholds and disabled rules (TOML), as `check` reads them. Without it,
    /// $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A
    /// broken file is a warning here, and the defaults apply.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// Show the processes holding each socket (pid, name). Other users' processes need root or
    /// CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH.
    #[arg(short = 'p', long = "processes")]
    pub processes: bool,
    /// Show the pending timer (kind and time left, as `ss -o`) and the retransmit count.
    #[arg(short = 'o', long = "timers")]
    pub timers: bool,
    /// Row order. Queues sort largest first.
    #[arg(long, value_enum, default_value_t = SortKey::State)]
    pub sort: SortKey,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Warning when a state's count is outside RANGE (Nagios syntax: 10, 10:, ~:10, @10:20),
    /// e.g. --warn close-wait=100. Repeatable.
    #[arg(long = "warn", value_name = "STATE=RANGE", value_parser = parse_state_range)]
    pub warn: Vec<StateRange>,
    /// Critical when a state's count is outside RANGE, e.g. --crit close-wait=500. Repeatable.
    #[arg(long = "crit", value_name = "STATE=RANGE", value_parser = parse_state_range)]
    pub crit: Vec<StateRange>,
    /// Also write the Prometheus text format to PATH, atomically (for node_exporter's textfile
    /// collector), whatever --format says.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,
    /// Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it,
    /// $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Remember this run in PATH (created if missing): enables rates, growth, sockets stuck
    /// across runs, and --renotify. Locked, and replaced atomically.
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,
    /// With text output: do not print an unchanged problem again until this long has passed
    /// (e.g. 1h); print the return to OK once.
    #[arg(long, value_name = "DURATION", requires = "state_file", value_parser = parse_duration)]
    pub renotify: Option<std::time::Duration>,
    /// A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub stuck_after: std::time::Duration,
    /// Do not look up the processes behind findings.
    #[arg(long)]
    pub no_processes: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Nothing when OK; otherwise the status and each finding (for cron mail).
    Text,
    /// One line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga).
    Nagios,
    /// The summary JSON plus `status`.
    Json,
    /// The Prometheus text exposition format.
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    /// State (lifecycle order), then local, then peer address.
    State,
    /// Local address and port.
    Local,
    /// Peer address and port.
    Peer,
    /// Receive queue, largest first.
    Rx,
    /// Send queue, largest first.
    Tx,
}

#[derive(Debug, Clone, Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// Group by this key; repeat to nest (`--by process --by peer`). Default: process.
    #[arg(long = "by", value_name = "KEY", value_enum)]
    pub by: Vec<GroupKey>,
    /// Show the N largest groups (0 = all).
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 10)]
    pub limit: usize,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// What `top` groups sockets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupKey {
    /// The processes holding the socket (a shared socket counts for each holder).
    Process,
    /// The local port.
    LocalPort,
    /// The remote port.
    RemotePort,
    /// The remote address (IPv4-mapped peers as plain IPv4).
    Peer,
    /// The socket's uid (who created it; needs no privilege).
    Uid,
    /// The network namespace, by container, pod or netns name (implies --all-netns).
    Netns,
    /// The container or pod (implies --all-netns).
    Container,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people: one row per state, IPv4 / IPv6 / total.
    Table,
    /// A versioned JSON document for scripts (schema_version 1).
    Json,
    /// `STATE COUNT` lines, exactly like `netstat -tan | awk '{++S[$NF]}...'`.
    Plain,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only sockets in this state or state group (repeatable).
    ///
    /// ss names (close-wait, fin-wait-2, listening…) and netstat names (CLOSE_WAIT,
    /// FIN_WAIT2, LISTEN…) both work, in any case; groups as in ss: all, connected (not
    /// listening or closed; what `netstat -n` without -a shows), synchronized, bucket, big.
    #[arg(long = "state", value_name = "STATE", value_parser = state_parser(), ignore_case = true)]
    pub states: Vec<StateSelector>,
    /// Only sockets whose local or remote port is PORT or in LO-HI (repeatable).
    #[arg(long = "port", value_name = "PORT", value_parser = parse_port_range)]
    pub ports: Vec<PortRange>,
    /// Only sockets whose local (source) port is PORT or in LO-HI (repeatable).
    #[arg(long = "sport", value_name = "PORT", value_parser = parse_port_range)]
    pub sports: Vec<PortRange>,
    /// Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable).
    #[arg(long = "dport", value_name = "PORT", value_parser = parse_port_range)]
    pub dports: Vec<PortRange>,
    /// Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable).
    #[arg(long = "src", value_name = "ADDR[/PREFIX]", value_parser = parse_net)]
    pub srcs: Vec<IpNet>,
    /// Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable).
    #[arg(long = "dst", value_name = "ADDR[/PREFIX]", value_parser = parse_net)]
    pub dsts: Vec<IpNet>,
    /// Only IPv4 sockets (reads /proc/net/tcp only).
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,
    /// Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only).
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Source")]
pub struct SourceArgs {
    /// Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6).
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
    /// Read the network namespace of process PID (a container's) via /proc/PID/net.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables.
    /// auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink
    /// is unavailable (the reason is in JSON collection.source_reason).
    #[arg(long, value_enum, default_value_t = SourceKind::Auto)]
    pub source: SourceKind,
    /// Every network namespace on the host (containers, pods, `ip netns`), each counted and
    /// diagnosed on its own and named after its container or pod, plus the host-wide total.
    ///
    /// Root (or CAP_SYS_ADMIN to enter namespaces, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH to
    /// read other processes' /proc) sees every namespace; an ordinary user sees those of its
    /// own processes, and the output says how many it could not read.
    #[arg(long, conflicts_with_all = ["netns", "pid"])]
    pub all_netns: bool,
    /// One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns
    /// name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N.
    #[arg(long, value_name = "SELECTOR", conflicts_with = "pid")]
    pub netns: Option<String>,
    /// Read the host's /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods
    /// under DIR: sockscope in a container with the host's root mounted at DIR (and hostPID).
    #[arg(long, value_name = "DIR", conflicts_with = "proc_root")]
    pub host_root: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    Auto,
    Netlink,
    Proc,
}

#[cfg(test)]
mod tests;
