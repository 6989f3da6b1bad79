//! The HTTP side of `sockscope serve`: listen, route, share collections between scrapes, and
//! stop cleanly on SIGTERM or SIGINT. It knows nothing of sockets being counted: the command
//! hands it a [`share::Scraper`] and it renders what that returns. The door ([`door`]) holds
//! connections until their request is in; workers ([`worker`]) answer what costs work.

mod auth;
mod deadline;
mod door;
pub mod http;
pub mod otlp;
pub mod share;
mod visitor;
pub mod web_config;
mod worker;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::Error;
use crate::render;
use auth::{Check, Claim, Verdict};
use http::{Request, Response};
use share::Shared;
use web_config::WebConfig;

/// How the server treats clients.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time a client has, from the accept, to complete TLS and send its request head.
    pub read_timeout: Duration,
    /// Time after that by which the answer must be taken and the connection closed: one
    /// deadline per connection, `read_timeout + write_timeout` after the accept.
    pub write_timeout: Duration,
    /// Request heads larger than this get a 431.
    pub max_header_bytes: usize,
    /// Requests a worker answers at once (scrapes, passwords to verify); more get a 503.
    pub max_connections: usize,
    pub web: WebConfig,
}

/// The shortest `--read-timeout` and `--write-timeout`: with zero, no client is ever answered.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

impl Options {
    /// Refuses timeouts that would answer no one, naming the option.
    fn check(&self) -> Result<(), Error> {
        for (option, value) in [
            ("--read-timeout", self.read_timeout),
            ("--write-timeout", self.write_timeout),
        ] {
            if value < MIN_TIMEOUT {
                return Err(Error::Usage(format!(
                    "{option} {}: a timeout is at least 1ms (and at most 1y); with less, no client is answered",
                    humantime::format_duration(value)
                )));
            }
        }
        Ok(())
    }
}

const LANDING: &str = "<!DOCTYPE html>\n<html><head><title>sockscope</title></head><body>\n<h1>sockscope</h1>\n<p>TCP sockets by state, findings and kernel counters for Prometheus.</p>\n<ul><li><a href=\"metrics\">/metrics</a></li><li><a href=\"healthz\">/healthz</a></li></ul>\n</body></html>\n";

/// Binds `options.listen`; the error names the address and why (in use, not permitted).
pub fn bind(listen: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(listen).map_err(|source| Error::Listen {
        addr: listen,
        source,
    })
}

/// Serves until SIGTERM or SIGINT; `ready` is told the address once listening.
pub fn serve(
    listener: TcpListener,
    options: Options,
    shared: Arc<Shared>,
    ready: &mut dyn Write,
) -> Result<(), Error> {
    options.check()?;
    let bell = Arc::new(door::Bell::new()?);
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])?;
    let handle = signals.handle();
    let stopping = bell.clone();
    let signal_thread = std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stopping.stop.store(true, Ordering::SeqCst);
            stopping.ring();
        }
    });
    let addr = listener.local_addr()?;
    for warning in options
        .web
        .warnings
        .iter()
        .chain(&exposure(addr, &options.web))
    {
        let _ = writeln!(ready, "sockscope: warning: {warning}");
    }
    let scheme = if options.web.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let _ = writeln!(ready, "sockscope: serving {scheme}://{addr}/metrics");
    let _ = ready.flush();
    let served = door::run(listener, Arc::new(options), shared, bell);
    handle.close();
    let _ = signal_thread.join();
    served
}

/// What serving on `addr` gives away, said at start: metrics anyone beyond this host can read,
/// or passwords that cross the network in clear.
fn exposure(addr: SocketAddr, web: &WebConfig) -> Option<String> {
    let loopback = match addr.ip() {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
    };
    let reads = "anyone who can reach it reads this host's sockets, ports and process names";
    match (loopback, web.tls.is_some(), web.has_users()) {
        (true, _, _) | (false, true, true) => None,
        (false, false, false) => Some(format!(
            "serving {addr} without TLS or basic auth: {reads}; listen on 127.0.0.1, or give \
             --web-config"
        )),
        (false, true, false) => Some(format!(
            "serving {addr} without basic auth: {reads}; add basic_auth_users to --web-config"
        )),
        (false, false, true) => Some(format!(
            "serving {addr} with basic auth but without TLS: passwords cross the network in \
             clear; add tls_server_config to --web-config"
        )),
    }
}

/// Where a request goes once its head is in.
enum Route {
    /// Answered at once, at no cost: a wrong path or method, missing or remembered
    /// credentials, or a page that needs neither a collection nor a password verified.
    Answer(Response),
    /// Answered after a pause: the password verifier is taken (429).
    Hold(Duration, Response),
    /// A worker answers it: a scrape, or a password to verify.
    Work(Access),
}

/// What a worker knows of a request's credentials.
enum Access {
    /// Allowed already (no users, or remembered credentials).
    Granted,
    /// To verify, with the verifier claimed for it.
    Verify(Claim),
}

fn route(request: &Request, web: &WebConfig) -> Route {
    let path = request.route();
    if !matches!(path, "/" | "/metrics" | "/healthz") {
        return Route::Answer(Response::text(
            404,
            "no such page; metrics are at /metrics\n",
        ));
    }
    if request.method != "GET" && request.method != "HEAD" {
        return Route::Answer(
            Response::text(405, "only GET and HEAD\n").with_header("Allow", "GET, HEAD"),
        );
    }
    match web.check(request.authorization.as_deref()) {
        Check::Verdict(Verdict::Denied) => Route::Answer(unauthorized()),
        Check::Verdict(Verdict::Busy(pause)) => Route::Hold(pause, busy()),
        Check::Verdict(Verdict::Allowed) if path != "/metrics" => Route::Answer(page(path)),
        Check::Verdict(Verdict::Allowed) => Route::Work(Access::Granted),
        Check::Verify(claim) => Route::Work(Access::Verify(claim)),
    }
}

fn unauthorized() -> Response {
    Response::text(401, "unauthorized\n")
        .with_header("WWW-Authenticate", "Basic realm=\"sockscope\"")
}

fn busy() -> Response {
    Response::text(429, "too many passwords to verify; retry later\n")
        .with_header("Retry-After", "1")
}

/// `/healthz` and `/`.
fn page(path: &str) -> Response {
    match path {
        "/healthz" => Response::text(200, "ok\n"),
        _ => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: LANDING.as_bytes().to_vec(),
        },
    }
}

/// A worker's answer to a request [`route`] gave it.
fn respond(request: &Request, access: Access, shared: &Shared) -> Response {
    if let Access::Verify(claim) = access
        && !claim.verify()
    {
        return unauthorized();
    }
    match request.route() {
        "/metrics" => metrics(request, shared),
        path => page(path),
    }
}

fn metrics(request: &Request, shared: &Shared) -> Response {
    let outcome = shared.get();
    let format = match outcome.as_ref() {
        Ok(_) => http::negotiate(request.accept.as_deref()),
        // A failure is said in the text format, whatever was asked.
        Err(_) => render::Format::Prometheus,
    };
    let mut body = Vec::new();
    if render::scrape::write(&outcome, format, &render::Style::default(), &mut body).is_err() {
        return Response::text(500, "cannot render the metrics\n");
    }
    Response {
        status: if outcome.is_ok() { 200 } else { 500 },
        content_type: format.content_type(),
        headers: Vec::new(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(route: Route) -> Option<u16> {
        match route {
            Route::Answer(response) | Route::Hold(_, response) => Some(response.status),
            Route::Work(_) => None,
        }
    }

    #[test]
    fn serving_beyond_loopback_says_what_it_gives_away() {
        let open = WebConfig::default();
        for addr in [
            "127.0.0.1:1",
            "127.8.9.10:1",
            "[::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert_eq!(exposure(addr.parse().unwrap(), &open), None, "{addr}");
        }
        for addr in ["0.0.0.0:1", "10.1.2.3:1", "[::]:1", "[::ffff:10.1.2.3]:1"] {
            let said = exposure(addr.parse().unwrap(), &open).unwrap_or_default();
            assert!(said.contains("without TLS or basic auth"), "{addr}: {said}");
        }
        let hash = bcrypt::hash("secret", 4).unwrap();
        let text = format!("basic_auth_users:\n  prom: '{hash}'\n");
        let locked = WebConfig::parse(std::path::Path::new("web.yml"), &text).unwrap();
        let said = exposure("0.0.0.0:1".parse().unwrap(), &locked).unwrap_or_default();
        assert!(
            said.contains("passwords cross the network in clear"),
            "{said}"
        );
    }

    #[test]
    fn the_door_answers_what_costs_nothing_and_workers_the_rest() {
        let request = |method: &str, path: &str| Request {
            method: method.into(),
            path: path.into(),
            ..Request::default()
        };
        let open = WebConfig::default();
        assert_eq!(status(route(&request("GET", "/healthz"), &open)), Some(200));
        assert_eq!(status(route(&request("HEAD", "/"), &open)), Some(200));
        assert_eq!(status(route(&request("GET", "/nope"), &open)), Some(404));
        assert_eq!(
            status(route(&request("POST", "/healthz"), &open)),
            Some(405)
        );
        assert_eq!(status(route(&request("GET", "/metrics?x=1"), &open)), None);
        let hash = bcrypt::hash("secret", 4).unwrap();
        let text = format!("basic_auth_users:\n  prom: '{hash}'\n");
        let locked = WebConfig::parse(std::path::Path::new("web.yml"), &text).unwrap();
        // Without credentials: refused at once; with some to verify: a worker's.
        assert_eq!(
            status(route(&request("GET", "/healthz"), &locked)),
            Some(401)
        );
        let mut with = request("GET", "/healthz");
        with.authorization = Some("Basic cHJvbTpzZWNyZXQ=".into());
        assert_eq!(status(route(&with, &locked)), None);
        assert_eq!(status(route(&request("GET", "/nope"), &locked)), Some(404));
    }
}
