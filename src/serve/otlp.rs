//! OTLP/HTTP push: one POST of an `ExportMetricsServiceRequest` in protobuf per push, with a
//! blocking client (ureq: no async runtime), bounded in time. A push that does not get a 2xx,
//! or gets a partial success that rejected points, is an error whose words say what the
//! receiver answered: the caller reports it.

use std::time::Duration;

use prost::Message;

use crate::render::otlp::proto::ExportMetricsServiceResponse;
use crate::render::otlp::{self, Times};
use crate::report::Sweep;

/// Answers larger than this are not read (a receiver answers a few bytes).
const MAX_ANSWER: u64 = 64 * 1024;

pub struct Pusher {
    url: String,
    agent: ureq::Agent,
}

impl Pusher {
    /// Pushes to `url` (already checked by the command line), each push bounded by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Pusher {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("sockscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Pusher {
            url: url.to_string(),
            agent,
        }
    }

    /// Sends one request's bytes.
    pub fn push(&self, body: &[u8]) -> Result<(), String> {
        let mut answer = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/x-protobuf")
            .send(body)
            .map_err(|e| format!("OTLP push to {} failed: {e}", self.url))?;
        let status = answer.status();
        let bytes = answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .unwrap_or_default();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            return Err(format!(
                "OTLP push to {} failed: HTTP {}{}",
                self.url,
                status.as_u16(),
                if text.is_empty() {
                    String::new()
                } else {
                    format!(": {text}")
                }
            ));
        }
        // A 200 may still say that some points were rejected.
        if let Ok(response) = ExportMetricsServiceResponse::decode(bytes.as_slice())
            && let Some(partial) = response.partial_success
            && partial.rejected_data_points > 0
        {
            return Err(format!(
                "OTLP push to {}: the receiver rejected {} data points: {}",
                self.url, partial.rejected_data_points, partial.error_message
            ));
        }
        Ok(())
    }
}

/// Nanoseconds since the Unix epoch.
pub fn unix_nano(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// This host's resource: its node name, and OTEL_RESOURCE_ATTRIBUTES.
pub fn this_host() -> Vec<(String, String)> {
    let node = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    host_resource(
        &node,
        std::env::var("OTEL_RESOURCE_ATTRIBUTES").ok().as_deref(),
    )
}

/// Encodes an exposition text and pushes it.
pub fn push_exposition(
    pusher: &Pusher,
    exposition: &[u8],
    sweep: Option<&Sweep>,
    host: &[(String, String)],
    times: Times,
) -> Result<(), String> {
    let text = String::from_utf8_lossy(exposition);
    pusher.push(&otlp::encode(&text, sweep, host, times))
}

/// The host's resource attributes: `host.name` (the kernel's node name), `service.name`, then
/// OTEL_RESOURCE_ATTRIBUTES (`key=value,…`, percent-encoded as the OpenTelemetry spec says),
/// whose keys win, so a DaemonSet can set `host.name` to the node's name.
pub fn host_resource(node_name: &str, env: Option<&str>) -> Vec<(String, String)> {
    let mut attrs = vec![
        ("host.name".to_string(), node_name.to_string()),
        ("service.name".to_string(), "sockscope".to_string()),
    ];
    for pair in env.unwrap_or_default().split(',') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let (key, value) = (percent_decode(key.trim()), percent_decode(value.trim()));
        if key.is_empty() {
            continue;
        }
        attrs.retain(|(k, _)| *k != key);
        attrs.push((key, value));
    }
    attrs
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_attributes_from_the_environment_win() {
        let attrs = host_resource(
            "pod-xyz",
            Some("host.name=node-1, k8s.namespace.name=monitoring,bad,=x,note=a%2Cb"),
        );
        assert_eq!(
            attrs,
            [
                ("service.name".into(), "sockscope".into()),
                ("host.name".into(), "node-1".into()),
                ("k8s.namespace.name".into(), "monitoring".into()),
                ("note".into(), "a,b".into()),
            ]
        );
    }

    #[test]
    fn a_push_nobody_answers_is_an_error_naming_the_url() {
        // A port nothing listens on: bind one and close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/v1/metrics");
        let e = Pusher::new(&url, Duration::from_secs(2))
            .push(b"")
            .unwrap_err();
        assert!(e.starts_with(&format!("OTLP push to {url} failed")), "{e}");
    }
}
