//! Command-line types (clap derive), and their lowering into one [`Invocation`] ([`lower`]).
//!
//! The options every command shares (format, filters, source, config) are global: they work
//! before or after the subcommand, as `ss` users type them.

mod follow;
mod invocation;
mod lower;
#[cfg(feature = "serve")]
mod otlp;
mod parse;
mod shared;
mod watch;

use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::filter::PortRange;
use crate::model::StateSelector;
use crate::report::StateRange;
pub use follow::{FlowArgs, FollowArgs};
pub use invocation::{
    CheckJob, FollowJob, Invocation, Job, ListJob, Output, SummaryJob, Terminal, TopJob, WatchJob,
};
#[cfg(feature = "serve")]
pub use invocation::{Otlp, ServeJob};
pub use lower::lower;
use parse::{
    parse_duration, parse_net, parse_port_range, parse_state_range, parse_timeout, state_parser,
};
pub use watch::{WatchArgs, parse_filter_line};

/// Count every TCP socket by state, explain what is wrong, and alert on it.
///
/// With no command, prints the summary: every TCP socket of this network namespace counted by
/// state, IPv4 and IPv6 (read through netlink sock_diag, as ss does), then the diagnostics:
/// what looks wrong, who is behind it, and what to run next.
#[derive(Debug, Parser)]
#[command(name = "sockscope", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub shared: SharedArgs,

    /// The summary's own options, when no command is given.
    #[command(flatten)]
    pub summary: SummaryArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Count TCP sockets by state and run the diagnostics (the default command).
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
    /// The live view: every state with its trend, the findings and who is behind them,
    /// refreshed in place (a record per refresh when not a terminal).
    ///
    /// For example, every second, only port 8080: sockscope watch -n 1 --port 8080
    Watch(WatchArgs),
    /// A Prometheus exporter: /metrics collected on each scrape, with rates and stuck sockets
    /// remembered between scrapes.
    ///
    /// Serves the families of `check --format prometheus` plus bounded per-port breakdowns and
    /// the exporter's own health, in the text format or OpenMetrics (by the Accept header).
    /// Listens on loopback unless told otherwise: --listen 0.0.0.0:10399 exposes it.
    #[cfg(feature = "serve")]
    Serve(ServeArgs),
    /// Print a shell completion script to standard output.
    ///
    /// For example: sockscope completions bash > /etc/bash_completion.d/sockscope
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) to standard output: the main page, or a command's.
    ///
    /// For example: sockscope man | man -l -; sockscope man check | man -l -
    Man {
        /// The command whose page to print.
        #[arg(value_name = "COMMAND", value_parser = clap::builder::PossibleValuesParser::new(MAN_PAGES))]
        command: Option<String>,
    },
}

/// The commands that have a man page of their own (`sockscope man COMMAND`).
pub const MAN_PAGES: &[&str] = &["summary", "list", "top", "check", "watch", "serve"];

/// The options every command takes, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct SharedArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// Do not look up which processes hold the sockets behind findings: faster, and quiet about
    /// permissions; findings then name ports and peers only.
    #[arg(long, global = true)]
    pub no_processes: bool,
    /// Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it,
    /// $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A
    /// broken file is UNKNOWN for check, a warning (and the defaults) for the summary.
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// The summary's options (given with or without `summary`).
#[derive(Debug, Clone, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
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
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Output format [default: text].
    // check's own value set, under the same id as the shared --format, which clap then does not
    // give check: its help and completions offer only what check writes. A value given before
    // the command (`sockscope --format table check`) is refused when lowered.
    #[arg(
        long,
        value_name = "FORMAT",
        value_parser = clap::builder::EnumValueParser::<CheckFormat>::new().map(FormatArg::from),
        help_heading = "Output",
    )]
    pub format: Option<FormatArg>,
    /// Warning when a state's count is outside RANGE (Nagios syntax: 10, 10:, ~:10, @10:20),
    /// e.g. --warn close-wait=100. Repeatable.
    #[arg(long = "warn", value_name = "STATE=RANGE", value_parser = parse_state_range)]
    pub warn: Vec<StateRange>,
    /// Critical when a state's count is outside RANGE, e.g. --crit close-wait=500. Repeatable.
    #[arg(long = "crit", value_name = "STATE=RANGE", value_parser = parse_state_range)]
    pub crit: Vec<StateRange>,
    /// Also write the Prometheus text format to PATH, atomically and world-readable (for
    /// node_exporter's textfile collector), whatever --format says.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,
    /// Also push the same series as OTLP/HTTP protobuf to URL (an OpenTelemetry collector's
    /// http://HOST:4318; /v1/metrics is added to a URL without a path). A failed push is
    /// UNKNOWN.
    #[cfg(feature = "serve")]
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
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
    /// With --all-netns: how many network namespaces may go unread before the status is
    /// UNKNOWN [default: 0 as root, no limit for other users].
    ///
    /// Root can read every namespace, so one it could not read is a fault to hear about. An
    /// ordinary user cannot enter other users' namespaces at all, by design. Whatever the
    /// limit, the namespaces not read are named in every format (a NOTE and long output with
    /// --format nagios), and a problem found in the others is still WARNING or CRITICAL.
    #[arg(long, value_name = "N")]
    pub max_unread: Option<usize>,
    /// UNKNOWN, in the format asked for, when the check has no result within this long: before
    /// a monitoring system kills it as "plugin timed out". Seconds (10, as the monitoring
    /// plugins take -t) or a duration (9s, 500ms); 0: no limit.
    ///
    /// The lookup of who holds the sockets behind the findings stops at three quarters of it
    /// and says how many processes it did not look at: the findings are still reported, with
    /// fewer culprits named. Set it a little below the monitoring system's own timeout (NRPE's
    /// command_timeout, Nagios' service_check_timeout).
    #[arg(short = 't', long, value_name = "DURATION", default_value = "10", value_parser = parse_timeout)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[cfg(feature = "serve")]
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    // 10399: the range Prometheus keeps for exporters (9100-9999) is full; new exporters are
    // given ports from 10000 up.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:10399")]
    pub listen: std::net::SocketAddr,
    /// A scrape sooner than this after the last collection gets its result (HA Prometheus
    /// pairs scrape the same target); concurrent scrapes always share one collection.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub min_interval: std::time::Duration,
    /// Values kept per breakdown (local ports); the rest are summed into an "other" series.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_series: usize,
    /// Also break sockets down by process name (sockscope_process_sockets): walks every
    /// process's fds on each collection, which costs about as much as `top --by process`.
    #[arg(long, conflicts_with = "no_processes")]
    pub by_process: bool,
    /// TLS and basic auth, in the format Prometheus exporters share (exporter-toolkit's
    /// web-config.yml: tls_server_config.cert_file/key_file, basic_auth_users with bcrypt).
    #[arg(long, value_name = "PATH")]
    pub web_config: Option<PathBuf>,
    /// Time a client has to send its request (and finish the TLS handshake).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub read_timeout: std::time::Duration,
    /// Time a client has to take the response.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub write_timeout: std::time::Duration,
    /// Connections served at once; more are answered 503 at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections: usize,
    /// A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub stuck_after: std::time::Duration,
    /// Also push the series /metrics serves as OTLP/HTTP protobuf to URL every
    /// --otlp-interval (an OpenTelemetry collector's http://HOST:4318; /v1/metrics is added to
    /// a URL without a path). Failed pushes are logged on stderr.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Time between OTLP pushes.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, requires = "otlp_endpoint")]
    pub otlp_interval: std::time::Duration,
    #[command(flatten)]
    pub flows: FlowArgs,
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
    /// Send queue, largest first (listeners, whose Send-Q is their backlog, last).
    Tx,
    /// As the kernel reports them; with --format plain, rows are written as they arrive, in
    /// constant memory.
    None,
}

#[derive(Debug, Clone, Args)]
pub struct TopArgs {
    /// Group by this key; repeat to nest (`--by process --by peer`). Default: process.
    #[arg(long = "by", value_name = "KEY", value_enum)]
    pub by: Vec<GroupKey>,
    /// Show the N largest groups (0 = all).
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 10)]
    pub limit: usize,
}

/// What `top` groups sockets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupKey {
    /// The processes holding the socket (a shared socket counts for each holder).
    Process,
    /// The local port; ephemeral ones (in ip_local_port_range, no listener) as one.
    LocalPort,
    /// The remote port (`*` for listeners).
    RemotePort,
    /// The remote address (IPv4-mapped peers as plain IPv4; `*` for listeners).
    Peer,
    /// The socket's user, named from /etc/passwd (who created it; needs no privilege).
    Uid,
    /// The network namespace, by container, pod or netns name (implies --all-netns).
    Netns,
    /// The container or pod (implies --all-netns).
    Container,
}

/// `--format`: one list for every command; each command takes the formats it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// For people: the summary's state table, list's rows, top's groups (the default).
    Table,
    /// A versioned JSON document for scripts (schema_version 1).
    Json,
    /// Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly
    /// like the netstat | awk one-liner; list one socket and top one group per line.
    Plain,
    /// check: nothing when OK, otherwise the status and each finding, for cron mail (check's
    /// default).
    Text,
    /// check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga).
    Nagios,
    /// check: the Prometheus text exposition format.
    Prometheus,
    /// watch: the full-screen live view (watch's default on a terminal; piped, watch prints a
    /// plain record per refresh).
    Screen,
}

/// `check --format`: the formats check writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Nothing when OK, otherwise the status and each finding, for cron mail (the default).
    Text,
    /// One line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga).
    Nagios,
    /// The summary's JSON document plus "status" and "exit_code".
    Json,
    /// The Prometheus text exposition format.
    Prometheus,
}

impl From<CheckFormat> for FormatArg {
    fn from(format: CheckFormat) -> FormatArg {
        match format {
            CheckFormat::Text => FormatArg::Text,
            CheckFormat::Nagios => FormatArg::Nagios,
            CheckFormat::Json => FormatArg::Json,
            CheckFormat::Prometheus => FormatArg::Prometheus,
        }
    }
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format [default: table; check: text].
    #[arg(long, value_enum, global = true)]
    pub format: Option<FormatArg>,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format", global = true)]
    pub json: bool,
    /// With plain output, also print attribution notes on stderr (kept quiet for cron).
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only sockets in this state or state group (repeatable).
    ///
    /// ss names (close-wait, fin-wait-2, listening…) and netstat names (CLOSE_WAIT,
    /// FIN_WAIT2, LISTEN…) both work, in any case; groups as in ss: all, connected (not
    /// listening or closed; what `netstat -n` without -a shows), synchronized, bucket, big.
    #[arg(long = "state", value_name = "STATE", value_parser = state_parser(), ignore_case = true, global = true)]
    pub states: Vec<StateSelector>,
    /// Only sockets whose local or remote port is PORT or in LO-HI (repeatable).
    #[arg(long = "port", value_name = "PORT", value_parser = parse_port_range, global = true)]
    pub ports: Vec<PortRange>,
    /// Only sockets whose local (source) port is PORT or in LO-HI (repeatable).
    #[arg(long = "sport", value_name = "PORT", value_parser = parse_port_range, global = true)]
    pub sports: Vec<PortRange>,
    /// Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable).
    #[arg(long = "dport", value_name = "PORT", value_parser = parse_port_range, global = true)]
    pub dports: Vec<PortRange>,
    /// Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable).
    #[arg(long = "src", value_name = "ADDR[/PREFIX]", value_parser = parse_net, global = true)]
    pub srcs: Vec<IpNet>,
    /// Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable).
    #[arg(long = "dst", value_name = "ADDR[/PREFIX]", value_parser = parse_net, global = true)]
    pub dsts: Vec<IpNet>,
    /// Only IPv4 sockets.
    #[arg(short = '4', long = "ipv4", global = true)]
    pub ipv4: bool,
    /// Only IPv6 sockets, dual-stack ones included.
    #[arg(short = '6', long = "ipv6", global = true)]
    pub ipv6: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Source")]
pub struct SourceArgs {
    /// Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6).
    #[arg(long, value_name = "DIR", default_value = "/proc", global = true)]
    pub proc_root: PathBuf,
    /// Read the network namespace of process PID (a container's) via /proc/PID/net.
    #[arg(long, value_name = "PID", global = true)]
    pub pid: Option<u32>,
    /// Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables.
    /// auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink
    /// is unavailable (the reason is in JSON collection.source_reason).
    #[arg(long, value_enum, default_value_t = SourceKind::Auto, global = true)]
    pub source: SourceKind,
    /// Every network namespace on the host (containers, pods, `ip netns`), each counted and
    /// diagnosed on its own and named after its container or pod, plus the host-wide total.
    ///
    /// Root (or CAP_SYS_ADMIN to enter namespaces, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH to
    /// read other processes' /proc) sees every namespace; an ordinary user sees those of its
    /// own processes, and the output says how many it could not read.
    #[arg(long, conflicts_with_all = ["netns", "pid"], global = true)]
    pub all_netns: bool,
    /// One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns
    /// name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N.
    #[arg(long, value_name = "SELECTOR", conflicts_with = "pid", global = true)]
    pub netns: Option<String>,
    /// Read the host's /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods
    /// under DIR: sockscope in a container with the host's root mounted at DIR (and hostPID).
    #[arg(long, value_name = "DIR", conflicts_with = "proc_root", global = true)]
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
