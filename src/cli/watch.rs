//! `sockscope watch` on the command line, and the filter line its `f` key reads: the same
//! options and value parsers as `--state`/`--port`, so a filter typed live means what it means
//! on the command line.

use std::time::Duration;

use clap::{Args, Parser};

use super::FilterArgs;
use super::parse::{MAX_DURATION, parse_duration, too_long};
use crate::filter::Filter;

/// `watch`'s own options; `--format` (screen, plain, json), the filters, the source,
/// `--no-processes` and `--config` are the shared ones.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Seconds between refreshes (2, 0.5, 1s, 500ms), as watch(1) takes them.
    #[arg(short = 'n', long, value_name = "SECONDS", default_value = "2", value_parser = parse_interval)]
    pub interval: Duration,
    /// Stop after N refreshes (the screen and the records alike).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Show the states at zero too (the `z` key toggles it).
    #[arg(long)]
    pub all_states: bool,
    /// A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub stuck_after: Duration,
    #[command(flatten)]
    pub flows: super::FlowArgs,
}

/// The fastest refresh accepted: anything quicker is a busy loop, not a view.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// `2`, `0.5` (seconds, as watch(1)) or a duration with a unit (`1s`, `500ms`).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = match text.trim().parse::<f64>() {
        Ok(secs) if secs > MAX_DURATION.as_secs_f64() => return Err(too_long(text)),
        Ok(secs) if secs >= 0.0 => Duration::from_secs_f64(secs),
        Ok(_) => return Err(format!("'{text}' is not a number of seconds")),
        Err(_) => parse_duration(text)?,
    };
    if interval < MIN_INTERVAL {
        return Err(format!(
            "'{text}' is too short: the interval must be at least 0.1s"
        ));
    }
    Ok(interval)
}

/// Only the filter options, for the line typed after `f`.
#[derive(Debug, Parser)]
#[command(name = "filter", no_binary_name = true, disable_help_flag = true)]
struct FilterLine {
    #[command(flatten)]
    filter: FilterArgs,
}

/// Option names a filter line may give without their dashes, as the screen describes a filter
/// (`state close-wait, port 8080`).
const FILTER_OPTIONS: &[&str] = &["state", "port", "sport", "dport", "src", "dst"];

/// A filter typed on the screen: `--state close-wait --port 8080`, or as the screen shows one,
/// `state close-wait|fin-wait-2, port 8080`; `IPv4`/`IPv6` as `-4`/`-6`. Empty: no filter.
pub fn parse_filter_line(line: &str) -> Result<Filter, String> {
    let mut words: Vec<String> = Vec::new();
    let mut option: Option<String> = None;
    for word in line.split_whitespace() {
        let word = word.trim_end_matches(',');
        let bare = word.trim_start_matches('-');
        if FILTER_OPTIONS.iter().any(|o| o.eq_ignore_ascii_case(bare)) {
            option = Some(format!("--{}", bare.to_ascii_lowercase()));
            continue;
        }
        match word.to_ascii_lowercase().as_str() {
            "ipv4" | "-4" | "--ipv4" => words.push("-4".into()),
            "ipv6" | "-6" | "--ipv6" => words.push("-6".into()),
            "" => {}
            _ => match &option {
                // `close-wait|fin-wait-2` and `80,443` are several values of one option.
                Some(name) => {
                    for value in word.split(['|', ',']).filter(|v| !v.is_empty()) {
                        words.push(name.clone());
                        words.push(value.to_string());
                    }
                }
                None => words.push(word.to_string()),
            },
        }
    }
    FilterLine::try_parse_from(&words)
        .map(|l| l.filter.filter())
        .map_err(|e| {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid filter");
            first.trim_start_matches("error: ").to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn filter_line_takes_the_command_line_syntax_and_the_described_one() {
        let f = parse_filter_line("--state close-wait --port 8080").unwrap();
        assert_eq!(f.describe(), "state close-wait, port 8080");
        let again = parse_filter_line(&f.describe()).unwrap();
        assert_eq!(again.describe(), f.describe());
        let f = parse_filter_line("state CLOSE_WAIT|fin-wait-2, port 80,443 IPv6").unwrap();
        assert_eq!(
            f.describe(),
            "state close-wait|fin-wait-2, IPv6, port 80,443"
        );
        assert_eq!(parse_filter_line("  ").unwrap().describe(), "");
    }

    #[test]
    fn filter_line_errors_name_the_value() {
        let e = parse_filter_line("state nosuch").unwrap_err();
        assert!(e.contains("nosuch"), "{e}");
        let e = parse_filter_line("port 99999").unwrap_err();
        assert!(e.contains("99999"), "{e}");
        let e = parse_filter_line("bogus").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn interval_takes_seconds_or_durations_and_refuses_busy_loops() {
        assert_eq!(parse_interval("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_interval("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_interval("0").unwrap_err().contains("at least 0.1s"));
        assert!(parse_interval("-1").is_err());
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("NaN").is_err());
        for text in ["99999999999", "18446744073709551615s", "inf"] {
            let e = parse_interval(text).unwrap_err();
            assert!(e.contains("at most 1y"), "{text}: {e}");
        }
        FilterLine::command().debug_assert();
    }
}
