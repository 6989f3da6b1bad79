//! The HTTP side of `sockscope serve`: listen, route, share collections between scrapes, and
//! stop cleanly on SIGTERM or SIGINT. It knows nothing of sockets being counted: the command
//! hands it a [`share::Scraper`] and it renders what that returns.

pub mod http;
pub mod share;
pub mod web_config;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::render;
use http::{Conn, ReadError, Request, Response};
use share::Shared;
use web_config::WebConfig;

/// How the server treats clients.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time a client has to send its request head (and to complete TLS).
    pub read_timeout: Duration,
    /// Time a client has to take the response.
    pub write_timeout: Duration,
    /// Request heads larger than this get a 431.
    pub max_header_bytes: usize,
    /// Connections served at once; more get a 503.
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
    shared: Shared,
    ready: &mut dyn Write,
) -> Result<(), Error> {
    options.check()?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])?;
    let waker = listener.try_clone()?;
    let stopping = stop.clone();
    let handle = signals.handle();
    let signal_thread = std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stopping.store(true, Ordering::SeqCst);
            // Wakes the blocked accept() (Linux returns EINVAL to it).
            let _ = rustix::net::shutdown(&waker, rustix::net::Shutdown::Both);
        }
    });
    let addr = listener.local_addr()?;
    let scheme = if options.web.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let _ = writeln!(ready, "sockscope: serving {scheme}://{addr}/metrics");
    let _ = ready.flush();

    let shared = Arc::new(shared);
    let options = Arc::new(options);
    let active = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) if stop.load(Ordering::SeqCst) => break,
            // EMFILE, ECONNABORTED: this connection is lost, the server is not.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        workers.retain(|w: &std::thread::JoinHandle<()>| !w.is_finished());
        if active.load(Ordering::SeqCst) >= options.max_connections {
            refuse(stream, &options);
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (shared, options, active_now) = (shared.clone(), options.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name("scrape".into())
            .spawn(move || {
                connection(stream, &options, &shared);
                active_now.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            Ok(worker) => workers.push(worker),
            Err(_) => {
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
    handle.close();
    let _ = signal_thread.join();
    // In-flight scrapes finish (each is bounded by the timeouts).
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

/// Too many connections: a quick 503, never a wait.
fn refuse(stream: TcpStream, options: &Options) {
    let _ = stream.set_write_timeout(Some(options.write_timeout.min(Duration::from_secs(1))));
    let mut stream = stream;
    let response = Response::text(503, "too many connections\n");
    let _ = http::write_response(&mut stream, &response, false);
}

fn connection(stream: TcpStream, options: &Options, shared: &Shared) {
    let deadline = Instant::now() + options.read_timeout;
    if stream
        .set_write_timeout(Some(options.write_timeout))
        .is_err()
    {
        return;
    }
    let _ = stream.set_nodelay(true);
    match &options.web.tls {
        Some(tls) => {
            let Ok(session) = rustls::ServerConnection::new(tls.clone()) else {
                return;
            };
            let mut conn = rustls::StreamOwned::new(session, stream);
            exchange(&mut conn, options, shared, deadline);
            // After a failed handshake (plain HTTP, a client that gave up) rustls has already
            // sent its alert; flushing would try to finish the handshake and so hold the
            // connection until the read deadline.
            if !conn.conn.is_handshaking() {
                conn.conn.send_close_notify();
                let _ = conn.flush();
            }
        }
        None => {
            let mut conn = stream;
            exchange(&mut conn, options, shared, deadline);
            linger(&mut conn);
        }
    }
}

/// Closes gently: a client whose request was not read to the end (a 431, a body) would
/// otherwise get a reset that can destroy the response before it reads it.
fn linger(conn: &mut TcpStream) {
    use std::io::Read;
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut left: usize = 64 * 1024;
    while left > 0 {
        match conn.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

fn exchange(conn: &mut dyn Conn, options: &Options, shared: &Shared, deadline: Instant) {
    let response = match http::read_request(conn, options.max_header_bytes, deadline) {
        Ok(request) => {
            let head = request.method == "HEAD";
            let response = route(&request, options, shared);
            let _ = http::write_response(conn, &response, head);
            return;
        }
        Err(ReadError::TooLarge) => Response::text(431, "request head too large\n"),
        Err(ReadError::Malformed) => Response::text(400, "not an HTTP request\n"),
        Err(ReadError::Gone) => return,
    };
    let _ = http::write_response(conn, &response, false);
}

fn route(request: &Request, options: &Options, shared: &Shared) -> Response {
    let path = request.path.split('?').next().unwrap_or("");
    let known = matches!(path, "/" | "/metrics" | "/healthz");
    if !known {
        return Response::text(404, "no such page; metrics are at /metrics\n");
    }
    if request.method != "GET" && request.method != "HEAD" {
        return Response::text(405, "only GET and HEAD\n").with_header("Allow", "GET, HEAD");
    }
    if !options.web.allows(request.authorization.as_deref()) {
        return Response::text(401, "unauthorized\n")
            .with_header("WWW-Authenticate", "Basic realm=\"sockscope\"");
    }
    match path {
        "/healthz" => Response::text(200, "ok\n"),
        "/" => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: LANDING.as_bytes().to_vec(),
        },
        _ => metrics(request, shared),
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
