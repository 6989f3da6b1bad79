//! `sockscope serve` end to end: the real binary on a loopback port, scraped over raw TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{
    fixture, fresh_listener, have_tool, hold_close_wait, root, skip, snapshot_settings, stdout_of,
};

/// A running `serve`, stopped with SIGTERM (and reaped) when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// What it said on stderr before the line saying where it serves.
    pub(crate) warnings: Vec<String>,
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Server {
        Server::start_on("127.0.0.1:0", args)
    }

    pub(crate) fn start_on(listen: &str, args: &[&str]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("sockscope"))
            .current_dir(root())
            .arg("serve")
            .args(["--listen", listen])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sockscope serve starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut warnings = Vec::new();
        let addr = loop {
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            assert!(
                !line.is_empty(),
                "serve said no address; before: {warnings:?}"
            );
            if !line.contains("://") {
                warnings.push(line.trim_end().to_string());
                continue;
            }
            break line
                .trim()
                .rsplit("://")
                .next()
                .and_then(|rest| rest.split('/').next())
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no address in {line:?}"));
        };
        Server {
            child,
            addr,
            warnings,
        }
    }

    /// Sends `request` raw; returns (status, head, body).
    fn raw(&self, request: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, head.to_string(), body.to_string())
    }

    pub(crate) fn get(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let accept = accept
            .map(|a| format!("Accept: {a}\r\n"))
            .unwrap_or_default();
        self.raw(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n{accept}\r\n"))
    }

    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}

pub(crate) fn parse(body: &str) -> prometheus_parse::Scrape {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("valid text exposition")
}

pub(crate) fn value(
    scrape: &prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

/// The OpenMetrics 1.0 rules the text format does not have: every sample belongs to the family
/// declared just before it (counters as NAME_total, info as NAME_info), no blank lines, no
/// comments but HELP/TYPE, and `# EOF` last.
fn check_openmetrics(body: &str) {
    assert!(body.ends_with("# EOF\n"), "no # EOF at the end");
    let mut family: Option<(String, String)> = None;
    for line in body.lines().take_while(|l| *l != "# EOF") {
        assert!(!line.is_empty(), "blank line in OpenMetrics");
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(!name.ends_with("_total"), "counter family named {name}");
            family = Some((name.into(), kind.into()));
        } else if line.starts_with("# HELP ") {
        } else {
            assert!(!line.starts_with('#'), "stray comment {line}");
            let (name, kind) = family.as_ref().expect("a sample before any TYPE");
            let sample = line.split(['{', ' ']).next().unwrap();
            let want: Vec<String> = match kind.as_str() {
                "counter" => vec![format!("{name}_total")],
                "info" => vec![format!("{name}_info")],
                "histogram" => ["_bucket", "_sum", "_count"]
                    .map(|s| format!("{name}{s}"))
                    .into(),
                _ => vec![name.clone()],
            };
            assert!(
                want.iter().any(|w| w == sample),
                "sample outside its family: {line}"
            );
        }
    }
}

#[test]
fn serve_counts_the_sockets_this_test_holds() {
    let (listener, _held) = hold_close_wait(3);
    let port = listener.local_addr().unwrap().port().to_string();
    // Two connections nobody accepts: they wait in this listener's accept queue.
    let waiting = crate::util::fresh_listener(Ipv4Addr::LOCALHOST.into()).unwrap();
    let _clients: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(waiting.local_addr().unwrap()).unwrap())
        .collect();
    let server = Server::start(&["--max-series", "100000"]);
    let (status, head, body) = server.get("/metrics", None);
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert_eq!(
        crate::util::names_with_their_type(&body),
        Vec::<String>::new(),
        "promtool's lint"
    );
    let scrape = parse(&body);
    let ours = |state| {
        value(
            &scrape,
            "sockscope_port_sockets",
            &[("port", &port), ("side", "local"), ("state", state)],
        )
    };
    assert_eq!(ours("close_wait"), Some(3.0), "{body}");
    assert_eq!(ours("listen"), Some(1.0));
    // The clients' half, FIN_WAIT2 from ephemeral ports: this host also connects to the port.
    let theirs = value(
        &scrape,
        "sockscope_port_sockets",
        &[("port", &port), ("side", "remote"), ("state", "fin_wait2")],
    );
    assert_eq!(theirs, Some(3.0), "{body}");
    let close_wait = value(
        &scrape,
        "sockscope_sockets",
        &[("state", "close_wait"), ("family", "ipv4")],
    );
    assert!(close_wait.unwrap() >= 3.0);
    assert_eq!(value(&scrape, "sockscope_up", &[]), Some(1.0));
    assert_eq!(
        value(&scrape, "sockscope_collections_total", &[]),
        Some(1.0)
    );
    assert!(
        value(
            &scrape,
            "sockscope_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        )
        .is_some()
    );
}

#[test]
fn openmetrics_when_the_scraper_asks() {
    let server = Server::start(&[]);
    let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    let (status, head, body) = server.get("/metrics", Some(accept));
    assert_eq!(status, 200);
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    check_openmetrics(&body);
    assert!(body.contains("# TYPE sockscope_tcp_events counter\n"));
    assert_eq!(
        crate::util::names_with_their_type(&body),
        Vec::<String>::new()
    );
    // Without # EOF and with counter families renamed, it is also the text format.
    let text = body.replace("# EOF\n", "").replace(
        "# TYPE sockscope_build info",
        "# TYPE sockscope_build gauge",
    );
    assert!(!parse(&text).samples.is_empty());
}

#[test]
fn concurrent_scrapes_share_one_collection() {
    let server = Server::start(&["--min-interval", "1h"]);
    let bodies: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| server.get("/metrics", None)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap().2).collect()
    });
    assert!(bodies.iter().all(|b| b == &bodies[0]), "different answers");
    assert_eq!(
        value(&parse(&bodies[0]), "sockscope_collections_total", &[]),
        Some(1.0)
    );
}

#[test]
fn routes_answer_with_the_right_status() {
    let server = Server::start(&[]);
    assert_eq!(server.get("/healthz", None).0, 200);
    let (status, _, body) = server.get("/", None);
    assert_eq!(status, 200);
    assert!(body.contains("href=\"metrics\""));
    assert_eq!(server.get("/nope", None).0, 404);
    let (status, head, _) =
        server.raw("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, 405);
    assert!(head.contains("Allow: GET, HEAD"));
    let (status, head, body) = server.raw("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""), "{head}");
    let big = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(10_000));
    assert_eq!(server.raw(&big).0, 431);
    assert_eq!(server.raw("\x16\x03\x01 not http\r\n\r\n").0, 400);
}

#[test]
fn a_silent_client_neither_blocks_scrapes_nor_stays() {
    let server = Server::start(&["--read-timeout", "200ms"]);
    let mut silent = TcpStream::connect(server.addr).unwrap();
    assert_eq!(server.get("/healthz", None).0, 200);
    // The server hangs up on it after --read-timeout; 60 s is only this test's own bound.
    silent
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(silent.read(&mut buf).expect("closed, not timed out"), 0);
}

/// The tests pass their own short --read-timeout; what users get unless they say otherwise is
/// the 10 s the README promises.
#[test]
fn the_read_timeout_is_ten_seconds_by_default() {
    let help = stdout_of(crate::util::sockscope().args(["serve", "--help"]));
    let option = help
        .split("\n      --")
        .find(|o| o.starts_with("read-timeout "))
        .unwrap_or_else(|| panic!("no --read-timeout in:\n{help}"));
    assert!(option.contains("[default: 10s]"), "{option}");
}

#[test]
fn sigterm_stops_it_cleanly() {
    let mut server = Server::start(&[]);
    assert_eq!(server.get("/healthz", None).0, 200);
    assert!(server.terminate().success());
}

#[test]
fn start_errors_name_what_is_wrong() {
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = crate::util::sockscope()
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {addr}: address already in use")),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, "basic_auth_users:\n  prom: plaintext\n").unwrap();
    let out = crate::util::sockscope()
        .args(["serve", "--listen", "127.0.0.1:0", "--web-config"])
        .arg(&web)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("web.yml") && err.contains("user 'prom' is not a bcrypt hash"),
        "{err}"
    );

    let out = crate::util::sockscope()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--web-config",
            "/nonexistent/web.yml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read '/nonexistent/web.yml'"));
}

#[test]
fn basic_auth_from_the_web_config() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    // What `htpasswd -nbBC 4 prom secret` writes.
    let hash = bcrypt::hash("secret", 4).unwrap();
    std::fs::write(&web, format!("basic_auth_users:\n  prom: '{hash}'\n")).unwrap();
    let server = Server::start(&["--web-config", web.to_str().unwrap()]);
    assert_eq!(server.get("/metrics", None).0, 401);
    // base64("prom:secret")
    let ok = server.raw("GET /healthz HTTP/1.1\r\nAuthorization: Basic cHJvbTpzZWNyZXQ=\r\n\r\n");
    assert_eq!(ok.0, 200);
    let bad = server.raw("GET /healthz HTTP/1.1\r\nAuthorization: Basic cHJvbTp3cm9uZw==\r\n\r\n");
    assert_eq!(bad.0, 401);
}

/// Both formats over a fixture, with the values that change between runs masked.
#[test]
fn golden_exposition_formats() {
    let proc_root = fixture("loopback-mix");
    let server = Server::start(&[
        "--source",
        "proc",
        "--proc-root",
        proc_root.to_str().unwrap(),
        "--no-processes",
    ]);
    let mut settings = snapshot_settings(None);
    settings.add_filter(
        r"(_timestamp_seconds|_duration_seconds) [0-9.e-]+",
        "$1 [VALUE]",
    );
    settings.add_filter(r#"(version=)"[^"]+""#, "$1\"[VERSION]\"");
    let (_, _, text) = server.get("/metrics", None);
    parse(&text);
    let (_, _, om) = server.get("/metrics", Some("application/openmetrics-text"));
    check_openmetrics(&om);
    settings.bind(|| {
        insta::assert_snapshot!("serve_text", text);
        insta::assert_snapshot!("serve_openmetrics", om);
    });
}

#[test]
fn by_process_names_this_test_as_holder() {
    let (listener, _held) = hold_close_wait(3);
    let port = listener.local_addr().unwrap().port().to_string();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    let server = Server::start(&["--by-process", "--max-series", "100000"]);
    let (status, _, body) = server.get("/metrics", None);
    assert_eq!(status, 200);
    let scrape = parse(&body);
    let held = value(
        &scrape,
        "sockscope_process_sockets",
        &[("process", comm.trim()), ("state", "close_wait")],
    );
    assert!(
        held.unwrap_or(0.0) >= 3.0,
        "{comm} holds port {port}'s CLOSE_WAIT: {body}"
    );
}

/// A certificate for 127.0.0.1 and its key, made by openssl in `dir` as `cert.pem` and
/// `key.pem`, and a web config `web.yml` serving TLS with them; None (after saying why) when
/// openssl cannot make one.
pub(crate) fn tls_web_config(dir: &Path) -> Option<PathBuf> {
    if !have_tool("openssl", "openssl") {
        skip("openssl is not installed to make a test certificate");
        return None;
    }
    let made = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .output()
        .unwrap();
    if !made.status.success() {
        // An openssl older than 1.1.1 has no -addext.
        skip(format!(
            "openssl cannot make a test certificate: {}",
            String::from_utf8_lossy(&made.stderr).trim()
        ));
        return None;
    }
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n",
    )
    .unwrap();
    Some(web)
}

/// A TLS client trusting only the certificate [`tls_web_config`] made in `dir`.
pub(crate) fn tls_client(dir: &Path) -> rustls::ClientConnection {
    use rustls::pki_types::pem::PemObject;
    let cert = rustls::pki_types::CertificateDer::from_pem_file(dir.join("cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap()
}

/// TLS from the web config, with a certificate openssl makes for 127.0.0.1.
#[test]
fn tls_from_the_web_config() {
    let dir = tempfile::tempdir().unwrap();
    let Some(web) = tls_web_config(dir.path()) else {
        return;
    };
    // A read timeout far above this test's own bound below: plain HTTP must be hung up on at
    // once, not held until the timeout.
    let server = Server::start(&[
        "--web-config",
        web.to_str().unwrap(),
        "--read-timeout",
        "40s",
    ]);

    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut tls = rustls::StreamOwned::new(tls_client(dir.path()), tcp);
    tls.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let _ = tls.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("sockscope_up 1"));
    // Plain HTTP to the TLS port gets no answer it could mistake for metrics (a TLS alert),
    // and the connection ends there: it does not hold a worker until --read-timeout.
    let mut plain = TcpStream::connect(server.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    match plain.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("plain HTTP held open instead of hung up on: {e}"),
    }
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
}

/// `serve --web-config WEB`, which must not start: its exit code and stderr.
fn refused_start(web: &Path) -> (Option<i32>, String) {
    let out = crate::util::sockscope()
        .args(["serve", "--listen", "127.0.0.1:0", "--web-config"])
        .arg(web)
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), err)
}

/// A certificate or key that never ends (a FIFO hung the start, /dev/zero grew to 4.9 GB) or
/// is far larger than any PEM file is refused at start, naming it; nothing is read past 1 MiB.
#[test]
fn certificates_and_keys_that_never_end_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let Some(web) = tls_web_config(dir.path()) else {
        return;
    };
    let fifo = dir.path().join("fifo.pem");
    crate::hostile::mkfifo(&fifo);
    let big = dir.path().join("big.pem");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    for (cert, key, why) in [
        ("fifo.pem", "key.pem", "is a FIFO, not a regular file"),
        ("cert.pem", "fifo.pem", "is a FIFO, not a regular file"),
        ("big.pem", "key.pem", "is larger than 1 MiB"),
        (
            "cert.pem",
            "/dev/zero",
            "is a character device, not a regular file",
        ),
    ] {
        std::fs::write(
            &web,
            format!("tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"),
        )
        .unwrap();
        let (code, err) = refused_start(&web);
        let named = if key == "key.pem" { cert } else { key };
        assert_eq!(code, Some(2), "{cert} {key}: {err}");
        assert!(err.contains(named) && err.contains(why), "{err}");
    }
}

/// A private key its group or other users can read is served, with a warning at start.
#[test]
fn a_private_key_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let Some(web) = tls_web_config(dir.path()) else {
        return;
    };
    let key = dir.path().join("key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = Server::start(&["--web-config", web.to_str().unwrap()]);
    let said = server.warnings.join("\n");
    assert!(
        said.contains("key.pem") && said.contains("other users can read it (mode 0644)"),
        "{said:?}"
    );
    drop(server);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = Server::start(&["--web-config", web.to_str().unwrap()]);
    assert!(server.warnings.is_empty(), "{:?}", server.warnings);
}

/// The CPU time (user and system) process `pid` has used.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of proc_pid_stat(5), 12 and 13 after the comm.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// GET /healthz as `credentials` (user:password); the status, 0 for no answer.
fn healthz_as(addr: SocketAddr, credentials: &str) -> u16 {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let Ok(mut s) = TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    let request = format!("GET /healthz HTTP/1.1\r\nAuthorization: Basic {encoded}\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// How many threads of process `pid` are workers (named `scrape`) now.
fn workers(pid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == "scrape")
        .count()
}

/// 64 clients sending wrong passwords used 22.6 s of CPU in 15 s: every request a bcrypt
/// verification, all at once, on every core. Now one verification runs at a time (a count of
/// threads, which a busy machine cannot blur), failed ones take at most a quarter of one CPU,
/// and a password already verified is answered from memory meanwhile.
#[test]
fn a_flood_of_wrong_passwords_cannot_pin_the_cpus() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    let hash = bcrypt::hash("secret", 8).unwrap();
    std::fs::write(&web, format!("basic_auth_users:\n  prom: '{hash}'\n")).unwrap();
    let server = Server::start(&["--web-config", web.to_str().unwrap()]);
    assert_eq!(healthz_as(server.addr, "prom:secret"), 200);
    let pid = server.child.id();
    let (started, spent) = (std::time::Instant::now(), cpu_time(pid));
    let flood = Duration::from_secs(3);
    let (statuses, most) = std::thread::scope(|s| {
        for i in 0..16 {
            s.spawn(move || {
                let mut n = 0;
                while started.elapsed() < flood {
                    healthz_as(server.addr, &format!("prom:wrong-{i}-{n}"));
                    n += 1;
                }
            });
        }
        let sampler = s.spawn(move || {
            let mut most = 0;
            while started.elapsed() < flood {
                most = most.max(workers(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            most
        });
        let mut statuses = Vec::new();
        while started.elapsed() < flood {
            std::thread::sleep(Duration::from_millis(300));
            statuses.push(healthz_as(server.addr, "prom:secret"));
        }
        (statuses, sampler.join().unwrap())
    });
    let (wall, used) = (started.elapsed(), cpu_time(pid) - spent);
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    // One verifying, and a request or two that found the verifier taken.
    assert!(most <= 3, "{most} workers at once");
    assert!(used < wall.mul_f64(0.6), "{used:?} of CPU in {wall:?}");
}

/// Listening beyond loopback with neither TLS nor basic auth is said at start: anyone who can
/// reach the port reads this host's sockets, ports and process names.
#[test]
fn listening_beyond_loopback_without_auth_is_warned_about() {
    let exposed = Server::start_on("0.0.0.0:0", &[]);
    let said = exposed.warnings.join("\n");
    assert!(
        said.contains("sockscope: warning: serving 0.0.0.0:")
            && said.contains("without TLS or basic auth"),
        "{said:?}"
    );
    drop(exposed);
    assert!(Server::start(&[]).warnings.is_empty());
}

#[test]
fn a_failed_collection_is_a_500_not_a_dead_process() {
    let server = Server::start(&["--source", "proc", "--proc-root", "/nonexistent-sockscope"]);
    let (status, _, body) = server.get("/metrics", None);
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("# collection failed: cannot read '/nonexistent-sockscope"),
        "{body}"
    );
    assert!(body.contains("sockscope_up 0"));
    assert_eq!(server.get("/healthz", None).0, 200);
}

/// `serve --format json` used to start and answer in the Prometheus format regardless, and
/// `serve --state close-wait` zeroed every other state's series and hid the listeners that
/// make a port a service port: both are refused before anything listens (exit 2).
#[test]
fn options_serve_would_ignore_or_misread_are_refused_at_start() {
    for (args, says) in [
        (&["--format", "json"][..], "--format json: serve answers"),
        (&["--json"][..], "--format json: serve answers"),
        (&["--format", "prometheus"][..], "Accept header"),
        (
            &["--state", "close-wait"][..],
            "--state: serve exports every state",
        ),
        (
            &["--state", "connected"][..],
            "--state: serve exports every state",
        ),
    ] {
        let out = crate::util::sockscope()
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .timeout(Duration::from_secs(10))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("serving"), "{args:?} started: {err}");
    }
    // Before the command too, as every shared option.
    let out = crate::util::sockscope()
        .args(["--state", "close-wait", "serve", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Every sample of a scrape by name and labels, for comparing two scrapes.
fn samples(body: &str) -> std::collections::BTreeMap<String, f64> {
    parse(body)
        .samples
        .iter()
        .filter_map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            let mut labels: Vec<_> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            Some((format!("{}{{{}}}", s.metric, labels.join(",")), v))
        })
        .collect()
}

/// Scrapes until `done` says the body has it, for at most 20 s; the last body.
pub(crate) fn scrape_until(
    server: &Server,
    done: impl Fn(&prometheus_parse::Scrape) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = server.get("/metrics", None);
        assert_eq!(status, 200, "{body}");
        if done(&parse(&body)) || std::time::Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `promtool check metrics` finds nothing to say about the families whose names start with
/// `prefix` (when Prometheus's promtool is at hand). Its lint also judges older families
/// (`sockscope_kernel_counter_total` has "counter" in its name), which other tests own.
fn promtool_accepts(body: &str, prefixes: &[&str]) {
    if !have_tool("promtool", "prometheus") {
        skip("promtool is not installed (Debian's prometheus)");
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A parse error names no family: it fails whatever the prefixes.
    assert!(
        out.status.success() || said.contains(" metric name "),
        "promtool: {said}"
    );
    for line in said.lines() {
        assert!(
            !prefixes.iter().any(|p| line.starts_with(p)),
            "promtool: {line}"
        );
    }
}

/// As root, the destroy events of this test's own loopback connections: both ends of each
/// closed connection counted by port, the refused connects counted as failures, every counter
/// of the first scrape still there and no lower in the next, and promtool accepts it all.
/// Where the kernel refuses the subscription: said once, and `sockscope_flows_following 0`.
#[test]
fn serve_counts_closes_and_failed_connects_since_start() {
    let server = Server::start(&["--max-series", "100000", "--min-interval", "0s"]);
    if server.warnings.iter().any(|w| w.contains("not following")) {
        let (_, _, body) = server.get("/metrics", None);
        assert_eq!(
            value(&parse(&body), "sockscope_flows_following", &[]),
            Some(0.0)
        );
        assert_eq!(server.warnings.len(), 1, "{:?}", server.warnings);
        return skip("the kernel refused the subscription to destroy events");
    }
    // A service port below ip_local_port_range, as services have: its connections' accepted
    // ends are told apart without waiting for a census to see it listen (a census of a busy
    // host may come seconds apart).
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let listener = (low.saturating_sub(2000).max(1024)..low)
        .find_map(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).ok())
        .expect("a free port below ip_local_port_range");
    let addr = listener.local_addr().unwrap();
    let port = addr.port().to_string();
    // A port nobody listens on: connects to it are refused.
    let dead = fresh_listener(Ipv4Addr::LOCALHOST.into()).unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let churn = |n: usize| {
        for _ in 0..n {
            let client = TcpStream::connect(addr).unwrap();
            let (server, _) = listener.accept().unwrap();
            drop(server);
            drop(client);
        }
        for _ in 0..3 {
            assert!(
                TcpStream::connect(dead_addr).is_err(),
                "{dead_addr} answered"
            );
        }
    };
    // A refused connect's port is cleared by the kernel before its socket is freed: it counts
    // under port="0", with whatever else this host fails to connect to meanwhile.
    let counts = |s: &prometheus_parse::Scrape| {
        let closed = |side| {
            value(
                s,
                "sockscope_connections_closed_total",
                &[("port", &port), ("side", side)],
            )
        };
        let failed = value(
            s,
            "sockscope_connect_failures_total",
            &[("port", "0"), ("side", "remote")],
        );
        (closed("local"), closed("remote"), failed.unwrap_or(0.0))
    };
    churn(20);
    let first = scrape_until(&server, |s| {
        let (l, r, f) = counts(s);
        (l, r) == (Some(20.0), Some(20.0)) && f >= 3.0
    });
    let (l, r, failed) = counts(&parse(&first));
    assert_eq!((l, r), (Some(20.0), Some(20.0)), "{first}");
    assert!(failed >= 3.0, "{first}");
    assert_eq!(
        value(&parse(&first), "sockscope_flows_following", &[]),
        Some(1.0)
    );
    churn(10);
    let second = scrape_until(&server, |s| {
        let (l, r, f) = counts(s);
        (l, r) == (Some(30.0), Some(30.0)) && f >= failed + 3.0
    });
    let (l, r, f) = counts(&parse(&second));
    assert_eq!((l, r), (Some(30.0), Some(30.0)), "{second}");
    assert!(f >= failed + 3.0, "{second}");
    let (before, after) = (samples(&first), samples(&second));
    for (series, v) in &before {
        if series.contains("_total{") || series.contains("_bucket{") || series.contains("_count{") {
            let now = after
                .get(series)
                .unwrap_or_else(|| panic!("{series} went away"));
            assert!(now >= v, "{series} went down: {v} then {now}");
        }
    }
    let lived = |s: &str| {
        value(
            &parse(s),
            "sockscope_connection_lifetime_seconds_count",
            &[],
        )
    };
    assert!(lived(&second).unwrap() >= lived(&first).unwrap() + 20.0);
    promtool_accepts(
        &second,
        &[
            "sockscope_flows_",
            "sockscope_connection",
            "sockscope_connect_",
            "sockscope_events_lost",
            "sockscope_process_connections",
        ],
    );
    let (_, _, om) = server.get("/metrics", Some("application/openmetrics-text"));
    check_openmetrics(&om);
}
