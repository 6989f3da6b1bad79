//! `--otlp-endpoint URL` and `--otlp-interval`, checked once for `check` and `serve`.

use std::time::Duration;

use super::invocation::Otlp;
use crate::error::Error;

/// `--otlp-endpoint URL`: http or https, a host, no spaces; `/v1/metrics` when no path is given
/// (the OTLP/HTTP default for metrics).
pub(super) fn otlp(url: &str, interval: Duration) -> Result<Otlp, Error> {
    let bad = |why: &str| Error::Usage(format!("--otlp-endpoint '{url}': {why}"));
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("not an http:// or https:// URL"))?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains a space or a control character"));
    }
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() || host.starts_with(':') {
        return Err(bad("names no host"));
    }
    if interval < Duration::from_secs(1) {
        return Err(Error::Usage(
            "--otlp-interval must be at least 1s".to_string(),
        ));
    }
    let url = match path {
        "" | "/" => format!("{}/v1/metrics", url.trim_end_matches('/')),
        _ => url.to_string(),
    };
    Ok(Otlp { url, interval })
}
