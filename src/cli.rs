//! Command-line types (clap derive). Parsing only: no I/O happens here.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::{IpNet, Ipv4Net};

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

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration ({e}); e.g. 30s, 5m, 1h"))
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

/// `close-wait=100`: a state (or state group) and a Nagios range.
#[derive(Debug, Clone, PartialEq)]
pub struct StateRange {
    pub state: StateArg,
    pub range: crate::check::range::Range,
}

fn parse_state_range(text: &str) -> Result<StateRange, String> {
    let (state, range) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not STATE=RANGE, e.g. close-wait=100"))?;
    let state = StateArg::from_str(state.trim(), true).map_err(|_| {
        let names: Vec<String> = StateArg::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        format!("unknown state '{state}'; valid: {}", names.join(", "))
    })?;
    Ok(StateRange {
        state,
        range: range.parse()?,
    })
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
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

/// A `--state` value: a state by its ss name (netstat names are accepted too, in any case) or
/// one of ss's state groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    #[value(alias = "ESTABLISHED")]
    Established,
    #[value(name = "syn-sent", alias = "syn_sent")]
    SynSent,
    #[value(name = "syn-recv", alias = "syn_recv")]
    SynRecv,
    #[value(name = "fin-wait-1", alias = "fin_wait1", alias = "fin-wait1")]
    FinWait1,
    #[value(name = "fin-wait-2", alias = "fin_wait2", alias = "fin-wait2")]
    FinWait2,
    #[value(name = "time-wait", alias = "time_wait")]
    TimeWait,
    #[value(name = "closed", alias = "close")]
    Closed,
    #[value(name = "close-wait", alias = "close_wait")]
    CloseWait,
    #[value(name = "last-ack", alias = "last_ack")]
    LastAck,
    #[value(name = "listening", alias = "listen")]
    Listening,
    Closing,
    /// Every state.
    All,
    /// Every state but listening and closed.
    Connected,
    /// Connected states except syn-sent.
    Synchronized,
    /// States kept as mini-sockets: syn-recv and time-wait.
    Bucket,
    /// Every state but syn-recv and time-wait.
    Big,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only sockets in this state or state group (repeatable).
    ///
    /// ss names (close-wait, fin-wait-2, listening…) and netstat names (CLOSE_WAIT,
    /// FIN_WAIT2, LISTEN…) both work, in any case; groups as in ss: all, connected (not
    /// listening or closed; what `netstat -n` without -a shows), synchronized, bucket, big.
    #[arg(long = "state", value_name = "STATE", value_enum, ignore_case = true)]
    pub states: Vec<StateArg>,
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

impl StateArg {
    /// The name on the command line (`close-wait`, `connected`).
    pub fn to_possible_value_name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// An inclusive port range; a single port is `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub fn contains(self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port)
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// An address is a network of one host; IPv4-mapped IPv6 networks become IPv4, as peers do.
fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => text.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            format!(
                "'{text}' is not an address or network: expected e.g. 10.0.0.5, 10.0.0.0/8, ::1 or fd00::/8"
            )
        })?,
    };
    Ok(match net {
        IpNet::V6(v6) => match (v6.addr().to_ipv4_mapped(), v6.prefix_len().checked_sub(96)) {
            (Some(v4), Some(len)) => Ipv4Net::new(v4, len).map(IpNet::V4).unwrap_or(net),
            _ => net,
        },
        v4 => v4,
    }
    .trunc())
}

fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let port = |s: &str| {
        s.trim()
            .trim_start_matches(':')
            .parse::<u16>()
            .map_err(|_| {
                format!("'{s}' is not a port: expected a number from 0 to 65535, or a range LO-HI")
            })
    };
    let range = match text.split_once('-') {
        Some((lo, hi)) => PortRange {
            lo: port(lo)?,
            hi: port(hi)?,
        },
        None => {
            let p = port(text)?;
            PortRange { lo: p, hi: p }
        }
    };
    if range.lo > range.hi {
        return Err(format!("'{text}' is an empty range: LO must not exceed HI"));
    }
    Ok(range)
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    Auto,
    Netlink,
    Proc,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ports_and_ranges() {
        assert_eq!(parse_port_range("80"), Ok(PortRange { lo: 80, hi: 80 }));
        assert_eq!(parse_port_range(":443"), Ok(PortRange { lo: 443, hi: 443 }));
        assert_eq!(
            parse_port_range("1024-2048"),
            Ok(PortRange { lo: 1024, hi: 2048 })
        );
        assert!(parse_port_range("65536").is_err());
        assert!(parse_port_range("http").is_err());
        assert!(parse_port_range("9-1").is_err());
        assert!(parse_port_range("").is_err());
    }

    #[test]
    fn state_ranges() {
        let r = parse_state_range("CLOSE_WAIT=100").unwrap();
        assert_eq!(r.state, StateArg::CloseWait);
        assert!(r.range.alerts(101.0) && !r.range.alerts(100.0));
        assert!(
            parse_state_range("close-wait")
                .unwrap_err()
                .contains("STATE=RANGE")
        );
        assert!(
            parse_state_range("half-open=1")
                .unwrap_err()
                .contains("valid: established")
        );
        assert!(
            parse_state_range("close-wait=5:1")
                .unwrap_err()
                .contains("greater than end")
        );
    }

    #[test]
    fn addresses_and_networks() {
        let net = |s: &str| parse_net(s).map(|n| n.to_string());
        assert_eq!(net("10.0.0.5"), Ok("10.0.0.5/32".into()));
        assert_eq!(net("10.1.2.3/8"), Ok("10.0.0.0/8".into()));
        assert_eq!(net("::1"), Ok("::1/128".into()));
        assert_eq!(net("::ffff:127.0.0.1"), Ok("127.0.0.1/32".into()));
        assert!(net("10.0.0.0/33").is_err());
        assert!(net("example.com").is_err());
        assert!(net("").is_err());
    }

    #[test]
    fn top_keys_nest_and_unknown_keys_are_rejected() {
        let cli =
            Cli::try_parse_from(["sockscope", "top", "--by", "process", "--by", "peer"]).unwrap();
        let Some(Command::Top(args)) = cli.command else {
            panic!("top expected")
        };
        assert_eq!(args.by, vec![GroupKey::Process, GroupKey::Peer]);
        assert!(Cli::try_parse_from(["sockscope", "top", "--by", "container"]).is_err());
    }

    #[test]
    fn netstat_and_ss_state_names_both_parse() {
        for (arg, want) in [
            ("close-wait", StateArg::CloseWait),
            ("CLOSE_WAIT", StateArg::CloseWait),
            ("FIN_WAIT2", StateArg::FinWait2),
            ("fin-wait-2", StateArg::FinWait2),
            ("LISTEN", StateArg::Listening),
            ("Connected", StateArg::Connected),
        ] {
            let cli = Cli::try_parse_from(["sockscope", "--state", arg]).unwrap();
            assert_eq!(cli.summary.filter.states, vec![want], "{arg}");
        }
        assert!(Cli::try_parse_from(["sockscope", "--state", "half-open"]).is_err());
    }

    #[test]
    fn json_flag_and_format_conflict() {
        assert!(Cli::try_parse_from(["sockscope", "--json", "--format", "plain"]).is_err());
        let cli = Cli::try_parse_from(["sockscope", "summary", "--json"]).unwrap();
        let Some(Command::Summary(args)) = cli.command else {
            panic!("summary subcommand expected")
        };
        assert_eq!(args.output.format(), Format::Json);
    }
}
