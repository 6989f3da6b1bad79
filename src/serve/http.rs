//! Just enough HTTP/1.1 for a scrape: one request per connection, headers parsed by `httparse`
//! within a byte cap and a deadline, the response written with `Connection: close`. Bodies are
//! never read: every route is GET or HEAD.

use std::io::{self, Read, Write};
use std::time::Instant;

use crate::render::Format;

/// A parsed request head.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub accept: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Debug)]
pub enum ReadError {
    /// The head exceeded the cap (431).
    TooLarge,
    /// Not HTTP (400).
    Malformed,
    /// Closed, timed out or failed: nothing can be answered.
    Gone,
}

/// Something that can carry a request: a TCP stream or a TLS one, whose deadline is set on
/// the TCP socket underneath.
pub trait Conn: Read + Write {
    fn tcp(&self) -> &std::net::TcpStream;
}

impl Conn for std::net::TcpStream {
    fn tcp(&self) -> &std::net::TcpStream {
        self
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream> {
    fn tcp(&self) -> &std::net::TcpStream {
        &self.sock
    }
}

/// Reads one request head, at most `cap` bytes, all of it before `deadline`: a client sending
/// a byte at a time cannot hold the connection past it.
pub fn read_request(
    conn: &mut dyn Conn,
    cap: usize,
    deadline: Instant,
) -> Result<Request, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Gone);
        }
        conn.tcp()
            .set_read_timeout(Some(left))
            .map_err(|_| ReadError::Gone)?;
        let n = match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                let header = |name: &str| {
                    req.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                };
                return Ok(Request {
                    method: req.method.unwrap_or_default().to_string(),
                    path: req.path.unwrap_or_default().to_string(),
                    accept: header("accept"),
                    authorization: header("authorization"),
                });
            }
            Ok(httparse::Status::Partial) if buf.len() >= cap => return Err(ReadError::TooLarge),
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(ReadError::TooLarge),
            Err(_) => return Err(ReadError::Malformed),
        }
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
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes the response; HEAD gets the head only.
pub fn write_response(out: &mut dyn Write, response: &Response, head_only: bool) -> io::Result<()> {
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
    out.write_all(head.as_bytes())?;
    if !head_only {
        out.write_all(&response.body)?;
    }
    out.flush()
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
