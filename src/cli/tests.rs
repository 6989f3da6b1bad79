//! Unit tests of the command line: its shape, and each value parser.

use super::parse::*;
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
    assert!(parse_port_range("::80").is_err());
    assert!(parse_port_range("+80").is_err());
}

#[test]
fn state_ranges() {
    let r = parse_state_range("CLOSE_WAIT=100").unwrap();
    assert_eq!(r.name, "close-wait");
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
    let cli = Cli::try_parse_from(["sockscope", "top", "--by", "process", "--by", "peer"]).unwrap();
    let Some(Command::Top(args)) = cli.command else {
        panic!("top expected")
    };
    assert_eq!(args.by, vec![GroupKey::Process, GroupKey::Peer]);
    assert!(Cli::try_parse_from(["sockscope", "top", "--by", "container"]).is_ok());
    assert!(Cli::try_parse_from(["sockscope", "top", "--by", "image"]).is_err());
}

#[test]
fn netstat_and_ss_state_names_both_parse() {
    for (arg, want) in [
        ("close-wait", "close-wait"),
        ("CLOSE_WAIT", "close-wait"),
        ("FIN_WAIT2", "fin-wait-2"),
        ("fin-wait-2", "fin-wait-2"),
        ("LISTEN", "listening"),
        ("Connected", "connected"),
    ] {
        let cli = Cli::try_parse_from(["sockscope", "--state", arg]).unwrap();
        let names: Vec<&str> = cli.shared.filter.states.iter().map(|s| s.name).collect();
        assert_eq!(names, vec![want], "{arg}");
    }
    assert!(Cli::try_parse_from(["sockscope", "--state", "half-open"]).is_err());
}

#[test]
fn json_flag_and_format_conflict() {
    assert!(Cli::try_parse_from(["sockscope", "--json", "--format", "plain"]).is_err());
    let cli = Cli::try_parse_from(["sockscope", "summary", "--json"]).unwrap();
    assert!(matches!(cli.command, Some(Command::Summary(_))));
    let format = |cli: &Cli| lower(cli, Terminal::default()).map(|i| i.output.format);
    assert_eq!(format(&cli).unwrap(), crate::Format::Json);
    let empty = tempfile::NamedTempFile::new().unwrap();
    let config = empty.path().to_str().unwrap();
    let cli = Cli::try_parse_from(["sockscope", "check", "--json", "--config", config]).unwrap();
    assert_eq!(format(&cli).unwrap(), crate::Format::Json);
    assert_eq!(cli.check_format(), Some(crate::Format::Json));
    let cli = Cli::try_parse_from(["sockscope", "--format", "nagios", "top"]).unwrap();
    let e = format(&cli).unwrap_err().to_string();
    assert!(
        e.contains("--format nagios: top takes table, json or plain"),
        "{e}"
    );
}

#[test]
fn max_unread_needs_all_netns_before_or_after_the_command() {
    let empty = tempfile::NamedTempFile::new().unwrap();
    let config = empty.path().to_str().unwrap();
    let lowered = |args: &[&str]| {
        let mut all = vec!["sockscope"];
        all.extend(args);
        all.extend(["--config", config]);
        let cli = Cli::try_parse_from(all).unwrap();
        lower(&cli, Terminal::default()).map(|i| match i.job {
            Job::Check(job) => job.max_unread,
            _ => panic!("not check"),
        })
    };
    assert_eq!(
        lowered(&["--all-netns", "check", "--max-unread", "2"]).unwrap(),
        Some(2)
    );
    assert_eq!(
        lowered(&["check", "--max-unread", "2", "--all-netns"]).unwrap(),
        Some(2)
    );
    assert_eq!(lowered(&["check", "--all-netns"]).unwrap(), None);
    let e = lowered(&["check", "--max-unread", "2"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("it needs --all-netns"), "{e}");
}

#[test]
fn timeouts_take_seconds_as_the_plugins_do_or_durations() {
    use std::time::Duration;
    assert_eq!(parse_timeout("10"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_timeout("0"), Ok(Duration::ZERO));
    assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
    assert!(
        parse_timeout("99999999999")
            .unwrap_err()
            .contains("too long")
    );
    assert!(parse_timeout("-1").is_err());
    assert!(parse_timeout("").is_err());
    let cli = Cli::try_parse_from(["sockscope", "check", "-t", "0"]).unwrap();
    let Some(Command::Check(args)) = cli.command else {
        panic!("not check");
    };
    assert_eq!(args.timeout, Duration::ZERO);
}
