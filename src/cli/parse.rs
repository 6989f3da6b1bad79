//! Value parsers for the command line: each error names the value, the problem and the valid
//! forms.

use std::net::IpAddr;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use ipnet::{IpNet, Ipv4Net};

use crate::filter::PortRange;
use crate::model::{SELECTORS, StateSelector};
use crate::report::StateRange;

/// The longest duration any option takes: a year (humantime's `1y`). Far past any timeout,
/// interval or age a person means, and far below what a clock can add without overflowing
/// (`Instant + u64::MAX s` panics).
pub const MAX_DURATION: Duration = Duration::from_secs(31_557_600);

/// A duration from 0s to [`MAX_DURATION`]; clap names the option in front of the message.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("'{text}' is not a duration ({e}); e.g. 30s, 5m, 1h"))?;
    if duration > MAX_DURATION {
        return Err(too_long(text));
    }
    Ok(duration)
}

/// `check -t`: whole seconds, as the monitoring plugins take their `-t` (`10`), or a duration
/// (`9s`, `500ms`).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_duration(&format!("{text}s")).map_err(|_| too_long(text));
    }
    parse_duration(text)
}

/// The longest `--follow`: a check that waits longer than its scheduler's timeout is a check
/// that times out.
pub const MAX_FOLLOW: Duration = Duration::from_secs(300);

/// `--follow`: a duration from 0s to 5m.
pub fn parse_follow(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d > MAX_FOLLOW {
        return Err(format!(
            "'{text}' is too long: --follow waits at most 5m (a check that waits longer than its scheduler's timeout is a check that times out)"
        ));
    }
    Ok(d)
}

/// The largest `--flow-buffer`: kernel memory, per namespace.
pub const MAX_BUFFER: usize = 256 << 20;

/// A size in bytes: `4096`, `512KiB`, `4MiB`, `1M` (powers of 1024 either way), from 1 byte
/// (the kernel raises it to its minimum) to 256MiB.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("'{text}' is not a size; e.g. 4MiB, 512KiB, 65536")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size; e.g. 4MiB, 512KiB, 65536"))?;
    let bytes = n.saturating_mul(scale);
    if bytes == 0 || bytes > MAX_BUFFER as u64 {
        return Err(format!("'{text}': a buffer is from 1 byte to 256MiB"));
    }
    usize::try_from(bytes).map_err(|_| format!("'{text}': a buffer is from 1 byte to 256MiB"))
}

/// The message for a duration past [`MAX_DURATION`], saying the range.
pub fn too_long(text: &str) -> String {
    format!("'{text}' is too long: a duration is from 0s to at most 1y (365d 6h)")
}

/// `--state`: the ss names, netstat's as aliases, any case; shown in help and completions.
pub fn state_parser() -> impl TypedValueParser<Value = StateSelector> {
    let values = SELECTORS.iter().map(|&(name, aliases, help)| {
        let value = PossibleValue::new(name).aliases(aliases.iter().copied());
        if help.is_empty() {
            value
        } else {
            value.help(help)
        }
    });
    PossibleValuesParser::new(values).try_map(|text: String| {
        StateSelector::parse(&text).ok_or_else(|| format!("unknown state '{text}'"))
    })
}

/// `close-wait=100`: a state (or state group) and a Nagios range.
pub fn parse_state_range(text: &str) -> Result<StateRange, String> {
    let (state, range) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not STATE=RANGE, e.g. close-wait=100"))?;
    let selector = StateSelector::parse(state).ok_or_else(|| {
        format!(
            "unknown state '{state}'; valid: {}",
            StateSelector::valid_names()
        )
    })?;
    Ok(StateRange {
        name: selector.name.to_string(),
        states: selector.states,
        range: range.parse()?,
    })
}

/// An address is a network of one host; IPv4-mapped IPv6 networks become IPv4, as peers do.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
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

pub fn parse_port_range(text: &str) -> Result<PortRange, String> {
    // As ss writes them: 80, :80, 1024-2048; nothing else (no sign, no second colon).
    let port = |s: &str| {
        let digits = s.trim();
        let digits = digits.strip_prefix(':').unwrap_or(digits);
        digits
            .parse::<u16>()
            .ok()
            .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                format!("'{s}' is not a port: expected a number from 0 to 65535 (80 or :80), or a range LO-HI")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units_and_stay_bounded() {
        assert_eq!(parse_bytes("4MiB"), Ok(4 << 20));
        assert_eq!(parse_bytes("512k"), Ok(512 << 10));
        assert_eq!(parse_bytes("1"), Ok(1));
        assert_eq!(parse_bytes("256M"), Ok(MAX_BUFFER));
        for bad in [
            "0",
            "257MiB",
            "1G",
            "99999999999999999999",
            "4 parsecs",
            "-1",
            "",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        assert!(parse_bytes("x").unwrap_err().contains("'x' is not a size"));
        assert_eq!(parse_follow("5s"), Ok(Duration::from_secs(5)));
        assert!(parse_follow("6m").unwrap_err().contains("at most 5m"));
    }

    #[test]
    fn durations_stop_at_a_year() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1y"), Ok(MAX_DURATION));
        for text in ["1y 1s", "18446744073709551615s", "100000d"] {
            let e = parse_duration(text).unwrap_err();
            assert!(
                e.contains(&format!("'{text}' is too long")) && e.contains("at most 1y"),
                "{e}"
            );
        }
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
    }
}
