//! Just enough HTTP/1.1 for a scrape: one request per connection, its head parsed by `httparse`
//! within a byte cap, the response encoded with `Connection: close`. Bodies are never read:
//! every route is GET or HEAD. No I/O here: the door reads heads, workers write answers.

use crate::render::Format;

/// A parsed request head.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub accept: Option<String>,
    pub authorization: Option<String>,
}

impl Request {
    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// HEAD gets the head of the answer only.
    pub fn head_only(&self) -> bool {
        self.method == "HEAD"
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// The head exceeded the cap (431).
    TooLarge,
    /// Not HTTP (400).
    Malformed,
}

/// The request head at the start of `buf`, None while it is incomplete; a head still
/// incomplete at `cap` bytes is too large.
pub fn parse_head(buf: &[u8], cap: usize) -> Result<Option<Request>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {
            let header = |name: &str| {
                req.headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
            };
            Ok(Some(Request {
                method: req.method.unwrap_or_default().to_string(),
                path: req.path.unwrap_or_default().to_string(),
                accept: header("accept"),
                authorization: header("authorization"),
            }))
        }
        Ok(httparse::Status::Partial) if buf.len() >= cap => Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooLarge),
        Err(_) => Err(HeadError::Malformed),
    }
}

/// A response to write.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: body.into().into_bytes(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The response as bytes on the wire; HEAD gets the head only.
pub fn encode(response: &Response, head_only: bool) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&response.body);
    }
    bytes
}

/// The format an `Accept` header prefers: OpenMetrics 1.0 when it ranks it at least as high as
/// the text format (Prometheus sends both, OpenMetrics first); the text format otherwise.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Prometheus;
    };
    // Weights in thousandths, as RFC 9110 writes them.
    let (mut openmetrics, mut text) = (0u16, 0u16);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let (mut q, mut version) = (Some(1000), None);
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("q") {
                q = qvalue(value);
            } else if name.eq_ignore_ascii_case("version") {
                version = Some(value.trim_matches('"').to_string());
            }
        }
        // A weight that is not one leaves its range out.
        let Some(q) = q else {
            continue;
        };
        match media.as_str() {
            "application/openmetrics-text" if version.as_deref().is_none_or(|v| v == "1.0.0") => {
                openmetrics = openmetrics.max(q);
            }
            "text/plain" | "*/*" | "text/*" => text = text.max(q),
            _ => {}
        }
    }
    if openmetrics > 0 && openmetrics >= text {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

/// RFC 9110's `qvalue`, in thousandths: `0` or `1`, optionally followed by `.` and at most three
/// digits (only zeros after a `1`). Nothing else is a weight: not `inf`, `1.5` or `.5`.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_complete_partial_too_large_or_not_http() {
        let head =
            b"GET /metrics?x=1 HTTP/1.1\r\nAccept: text/plain\r\nauthorization: Basic eA==\r\n\r\n";
        let request = parse_head(head, 8192).unwrap().unwrap();
        assert_eq!(
            (request.method.as_str(), request.route()),
            ("GET", "/metrics")
        );
        assert_eq!(request.authorization.as_deref(), Some("Basic eA=="));
        assert!(parse_head(&head[..20], 8192).unwrap().is_none());
        assert_eq!(
            parse_head(&head[..20], 20).unwrap_err(),
            HeadError::TooLarge
        );
        assert_eq!(
            parse_head(b"GARBAGE\r\n\r\n", 8192).unwrap_err(),
            HeadError::Malformed
        );
        let response = Response::text(200, "ok\n").with_header("X", "y");
        let bytes = String::from_utf8(encode(&response, false)).unwrap();
        assert!(
            bytes.starts_with("HTTP/1.1 200 OK\r\n") && bytes.ends_with("X: y\r\n\r\nok\n"),
            "{bytes}"
        );
        assert!(
            String::from_utf8(encode(&response, true))
                .unwrap()
                .ends_with("\r\n\r\n")
        );
    }

    #[test]
    fn negotiation_follows_the_scraper() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(
            negotiate(Some("text/plain;version=0.0.4;q=1,*/*;q=0.1")),
            Format::Prometheus
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text;version=0.0.1")),
            Format::Prometheus
        );
        assert_eq!(negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(negotiate(None), Format::Prometheus);
    }

    /// RFC 9110's weights: `q` in any case, 0 to 1 with at most three decimals; anything else
    /// is not a weight, and the range it qualifies counts for nothing.
    #[test]
    fn weights_follow_rfc_9110() {
        let ranked = |om: &str, text: &str| {
            negotiate(Some(&format!(
                "application/openmetrics-text;version=1.0.0;{om},text/plain;{text}"
            )))
        };
        assert_eq!(ranked("Q=0.5", "q=0.6"), Format::Prometheus);
        assert_eq!(ranked("q=0.7", "Q=0.6"), Format::OpenMetrics);
        for bad in [
            "q=inf", "q=NaN", "q=1.5", "q=2", "q=-1", "q=0.1234", "q=1.001", "q=.5", "q=", "q=1e0",
        ] {
            assert_eq!(ranked(bad, "q=0.001"), Format::Prometheus, "{bad}");
        }
        for good in ["q=1", "q=1.", "q=1.000", "q=0.002", "Q=0.5"] {
            assert_eq!(ranked(good, "q=0.001"), Format::OpenMetrics, "{good}");
        }
        assert_eq!(
            negotiate(Some("APPLICATION/OpenMetrics-Text;Version=1.0.0")),
            Format::OpenMetrics
        );
    }
}
