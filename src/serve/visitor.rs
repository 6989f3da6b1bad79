//! One connection while the door holds it, without blocking: the TLS handshake and the request
//! head as bytes arrive, an answer the door gives itself, and the linger after an answer. It
//! never waits: each step does what the socket allows now and says what it waits for.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use rustix::event::PollFlags;

use super::deadline::after;
use super::http::{self, HeadError, Request, Response};

/// How long a linger waits for the next byte: a client that has its answer closes at once.
const LINGER_IDLE: Duration = Duration::from_millis(500);
/// At most this much is read and dropped after an answer.
const LINGER_BYTES: usize = 64 * 1024;

pub enum Stage {
    /// Reading the request head (with TLS, the handshake before it).
    Head,
    /// Writing an answer (with TLS, the records rustls holds).
    Send { out: Vec<u8>, sent: usize },
    /// Answered: dropping what the client still sends, so that closing with unread data (a
    /// 431's rest, a body) does not reset the answer away before the client reads it.
    Linger { idle_by: Instant, left: usize },
}

/// What a step leaves the door to do.
pub enum Step {
    /// Nothing until the socket is ready again.
    Wait,
    /// A complete request head: the door routes it.
    Request(Request),
    /// Not a request that can be served (400, 431): the door answers it.
    Answer(Response),
    /// Finished or gone: close.
    Done,
}

pub struct Visitor {
    pub tcp: TcpStream,
    pub tls: Option<Box<rustls::ServerConnection>>,
    head: Vec<u8>,
    /// When it was accepted: the oldest are let go first when the door is full.
    pub since: Instant,
    /// The request head (and the handshake) must be in by then: --read-timeout.
    head_by: Instant,
    /// The connection's one deadline: --read-timeout + --write-timeout after the accept.
    pub deadline: Instant,
    pub stage: Stage,
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Visitor {
    /// A connection just accepted, already non-blocking.
    pub fn new(
        tcp: TcpStream,
        tls: Option<Box<rustls::ServerConnection>>,
        read_timeout: Duration,
        write_timeout: Duration,
    ) -> Visitor {
        let since = Instant::now();
        let head_by = after(since, read_timeout);
        Visitor {
            tcp,
            tls,
            head: Vec::new(),
            since,
            head_by,
            deadline: after(head_by, write_timeout),
            stage: Stage::Head,
        }
    }

    /// A connection a worker answered, back for its linger (already non-blocking and shut
    /// down for writing).
    pub fn lingering(tcp: TcpStream, since: Instant, deadline: Instant) -> Visitor {
        Visitor {
            tcp,
            tls: None,
            head: Vec::new(),
            since,
            head_by: deadline,
            deadline,
            stage: Stage::Linger {
                idle_by: after(Instant::now(), LINGER_IDLE),
                left: LINGER_BYTES,
            },
        }
    }

    /// When the door lets it go if nothing else ends it first.
    pub fn timer(&self) -> Instant {
        match &self.stage {
            Stage::Head => self.head_by.min(self.deadline),
            Stage::Send { .. } => self.deadline,
            Stage::Linger { idle_by, .. } => (*idle_by).min(self.deadline),
        }
    }

    pub fn lingers(&self) -> bool {
        matches!(self.stage, Stage::Linger { .. })
    }

    /// What to poll the socket for.
    pub fn interest(&self) -> PollFlags {
        let tls_writes = self.tls.as_ref().is_some_and(|t| t.wants_write());
        match &self.stage {
            Stage::Head if tls_writes => PollFlags::IN | PollFlags::OUT,
            Stage::Head | Stage::Linger { .. } => PollFlags::IN,
            Stage::Send { .. } => PollFlags::OUT,
        }
    }

    /// Does what the socket allows now.
    pub fn advance(&mut self, cap: usize) -> Step {
        match self.stage {
            Stage::Head if self.tls.is_some() => self.read_tls_head(cap),
            Stage::Head => self.read_head(cap),
            Stage::Send { .. } => self.send(),
            Stage::Linger { .. } => self.linger(),
        }
    }

    /// Starts writing `bytes` (an encoded response).
    pub fn answer(&mut self, bytes: Vec<u8>) {
        let out = match &mut self.tls {
            Some(tls) => {
                // rustls holds the records until they are written; its buffer takes any
                // answer the door gives (a few hundred bytes).
                let _ = tls.writer().write_all(&bytes);
                tls.send_close_notify();
                Vec::new()
            }
            None => bytes,
        };
        self.stage = Stage::Send { out, sent: 0 };
    }

    /// The bytes read so far of a head, parsed: a step when it is complete or cannot be.
    fn parsed(head: &[u8], cap: usize) -> Option<Step> {
        match http::parse_head(head, cap) {
            Ok(Some(request)) => Some(Step::Request(request)),
            Ok(None) => None,
            Err(HeadError::TooLarge) => Some(Step::Answer(Response::text(
                431,
                "request head too large\n",
            ))),
            Err(HeadError::Malformed) => {
                Some(Step::Answer(Response::text(400, "not an HTTP request\n")))
            }
        }
    }

    fn read_head(&mut self, cap: usize) -> Step {
        let mut chunk = [0u8; 1024];
        loop {
            let room = cap.saturating_sub(self.head.len()).clamp(1, chunk.len());
            match self.tcp.read(&mut chunk[..room]) {
                Ok(0) => return Step::Done,
                Ok(n) => {
                    self.head.extend_from_slice(&chunk[..n]);
                    if let Some(step) = Visitor::parsed(&self.head, cap) {
                        return step;
                    }
                }
                Err(e) if would_block(&e) => return Step::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Step::Done,
            }
        }
    }

    fn read_tls_head(&mut self, cap: usize) -> Step {
        let Some(tls) = self.tls.as_mut() else {
            return Step::Done;
        };
        let mut chunk = [0u8; 1024];
        let mut eof = false;
        loop {
            let mut progressed = false;
            // Handshake flights, and the alert of a failed handshake.
            while tls.wants_write() {
                match tls.write_tls(&mut self.tcp) {
                    Ok(_) => progressed = true,
                    Err(e) if would_block(&e) => break,
                    Err(_) => return Step::Done,
                }
            }
            if !eof && tls.wants_read() {
                match tls.read_tls(&mut self.tcp) {
                    Ok(0) => eof = true,
                    Ok(_) => {
                        progressed = true;
                        if tls.process_new_packets().is_err() {
                            // Plain HTTP, a bad handshake: send the alert rustls queued, then
                            // hang up at once.
                            let _ = tls.write_tls(&mut self.tcp);
                            return Step::Done;
                        }
                    }
                    Err(e) if would_block(&e) => {}
                    Err(_) => return Step::Done,
                }
            }
            let room = cap.saturating_sub(self.head.len()).clamp(1, chunk.len());
            match tls.reader().read(&mut chunk[..room]) {
                Ok(0) => return Step::Done,
                Ok(n) => {
                    progressed = true;
                    self.head.extend_from_slice(&chunk[..n]);
                    if let Some(step) = Visitor::parsed(&self.head, cap) {
                        return step;
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(_) => return Step::Done,
            }
            if eof {
                return Step::Done;
            }
            if !progressed {
                return Step::Wait;
            }
        }
    }

    fn send(&mut self) -> Step {
        let Stage::Send { out, sent } = &mut self.stage else {
            return Step::Done;
        };
        match &mut self.tls {
            Some(tls) => {
                while tls.wants_write() {
                    match tls.write_tls(&mut self.tcp) {
                        Ok(_) => {}
                        Err(e) if would_block(&e) => return Step::Wait,
                        Err(_) => return Step::Done,
                    }
                }
            }
            None => {
                while *sent < out.len() {
                    match self.tcp.write(&out[*sent..]) {
                        Ok(0) => return Step::Done,
                        Ok(n) => *sent += n,
                        Err(e) if would_block(&e) => return Step::Wait,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return Step::Done,
                    }
                }
            }
        }
        let _ = self.tcp.shutdown(Shutdown::Write);
        self.stage = Stage::Linger {
            idle_by: after(Instant::now(), LINGER_IDLE),
            left: LINGER_BYTES,
        };
        self.linger()
    }

    fn linger(&mut self) -> Step {
        let Stage::Linger { idle_by, left } = &mut self.stage else {
            return Step::Done;
        };
        let mut sink = [0u8; 4096];
        loop {
            match self.tcp.read(&mut sink) {
                Ok(0) => return Step::Done,
                Ok(n) if n >= *left => return Step::Done,
                Ok(n) => {
                    *left -= n;
                    *idle_by = after(Instant::now(), LINGER_IDLE);
                }
                Err(e) if would_block(&e) => return Step::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Step::Done,
            }
        }
    }
}
