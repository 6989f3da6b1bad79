//! The door: one thread that accepts every connection and holds it, without blocking, until
//! its request head is in (TLS handshake included), answers what costs nothing itself, and
//! hands the rest to a worker. Slow clients hold an entry here, never a worker: a request head
//! or a handshake trickled a byte at a time, or a trickle after the answer, ends at the
//! connection's deadline while /healthz and scrapes go on being answered. It never reads a
//! request body and never waits on one socket.

use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use super::http::{self, Request, Response};
use super::visitor::{Step, Visitor};
use super::worker::{self, Pool, Work};
use super::{Access, Options, Route};
use crate::error::Error;
use crate::serve::share::Shared;

/// Connections the door holds at once. Past it, the one lingering longest goes first, then the
/// oldest: a client sends its head in a millisecond, a slow one has had its chance.
const MAX_VISITORS: usize = 512;
/// /healthz answers that need a worker (basic auth to verify) get these beyond
/// --max-connections: a full pool of scrapes does not make the host look dead.
const RESERVE: usize = 2;
/// Answers held back for a pause (a busy password verifier) at most; past it, at once.
const MAX_HELD: usize = 256;

/// What wakes the door besides its sockets: a stop, and workers handing connections back.
pub struct Bell {
    fd: OwnedFd,
    pub stop: AtomicBool,
}

impl Bell {
    pub fn new() -> Result<Bell, Error> {
        let flags = rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK;
        let fd = rustix::event::eventfd(0, flags).map_err(std::io::Error::from)?;
        Ok(Bell {
            fd,
            stop: AtomicBool::new(false),
        })
    }

    pub fn ring(&self) {
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
    }

    fn quiet(&self) {
        let _ = rustix::io::read(&self.fd, &mut [0u8; 8]);
    }
}

/// Serves until the bell's stop is set; then lets every connection it holds go and waits for
/// the workers, each bounded by its connection's deadline.
pub fn run(
    listener: TcpListener,
    options: Arc<Options>,
    shared: Arc<Shared>,
    bell: Arc<Bell>,
) -> Result<(), Error> {
    listener.set_nonblocking(true)?;
    let (back, returned) = mpsc::channel();
    let mut door = Door {
        visitors: Vec::new(),
        held: Vec::new(),
        scrapes: Pool::new(options.max_connections),
        reserve: Pool::new(RESERVE),
        back,
        options,
        shared,
        bell,
        accept_after: None,
    };
    while !door.bell.stop.load(Ordering::SeqCst) {
        door.expire();
        door.wait(&listener);
        while let Ok(visitor) = returned.try_recv() {
            door.admit(visitor);
        }
    }
    // Lingers and unfinished heads are let go at once; workers end by their deadlines.
    door.visitors.clear();
    door.held.clear();
    door.scrapes.join();
    door.reserve.join();
    Ok(())
}

/// An answer held back until a time, its connection not polled meanwhile.
struct Held {
    until: Instant,
    visitor: Visitor,
    answer: Vec<u8>,
}

/// What the door does with a complete request.
enum Decision {
    Answer(Response),
    Hold(Duration, Response),
    Work(Access),
}

struct Door {
    visitors: Vec<Visitor>,
    held: Vec<Held>,
    scrapes: Pool,
    reserve: Pool,
    back: mpsc::Sender<Visitor>,
    options: Arc<Options>,
    shared: Arc<Shared>,
    bell: Arc<Bell>,
    /// Accepting failed (EMFILE): not before then.
    accept_after: Option<Instant>,
}

impl Door {
    /// Lets go of the connections whose time is up, and answers the held ones whose pause is.
    fn expire(&mut self) {
        let now = Instant::now();
        self.visitors.retain(|v| v.timer() > now);
        for i in (0..self.held.len()).rev() {
            if self.held[i].until <= now {
                let Held {
                    mut visitor,
                    answer,
                    ..
                } = self.held.swap_remove(i);
                visitor.answer(answer);
                self.admit(visitor);
            }
        }
    }

    /// Polls the bell, the listener and every connection once, and does what is ready.
    fn wait(&mut self, listener: &TcpListener) {
        let now = Instant::now();
        let listening = self.accept_after.is_none_or(|t| t <= now);
        let next = self
            .visitors
            .iter()
            .map(Visitor::timer)
            .chain(self.held.iter().map(|h| h.until))
            .chain(self.accept_after.filter(|_| !listening))
            .min();
        let timeout = next.map(|t| {
            // Rounded up so a timer is past when poll returns.
            let left = t.saturating_duration_since(now) + Duration::from_millis(1);
            Timespec::try_from(left).unwrap_or(Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            })
        });
        let mut fds = Vec::with_capacity(self.visitors.len() + 2);
        fds.push(PollFd::from_borrowed_fd(
            self.bell.fd.as_fd(),
            PollFlags::IN,
        ));
        let listen_flags = if listening {
            PollFlags::IN
        } else {
            PollFlags::empty()
        };
        fds.push(PollFd::new(listener, listen_flags));
        for v in &self.visitors {
            fds.push(PollFd::new(&v.tcp, v.interest()));
        }
        if rustix::event::poll(&mut fds, timeout.as_ref()).is_err() {
            // EINTR: the loop polls again.
            return;
        }
        let ready: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
        drop(fds);
        if ready[0] {
            self.bell.quiet();
        }
        // Highest first: swap_remove only moves an entry already seen.
        for i in (0..self.visitors.len()).rev() {
            if ready[i + 2] {
                self.step(i);
            }
        }
        if ready[1] {
            self.accept(listener);
        }
    }

    fn accept(&mut self, listener: &TcpListener) {
        loop {
            match listener.accept() {
                Ok((tcp, _)) => {
                    if tcp.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = tcp.set_nodelay(true);
                    let tls = match &self.options.web.tls {
                        Some(config) => match rustls::ServerConnection::new(config.clone()) {
                            Ok(session) => Some(Box::new(session)),
                            Err(_) => continue,
                        },
                        None => None,
                    };
                    let visitor = Visitor::new(
                        tcp,
                        tls,
                        self.options.read_timeout,
                        self.options.write_timeout,
                    );
                    self.admit(visitor);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {}
                // EMFILE, ENFILE, ENOBUFS: this connection waits in the backlog; a lingering
                // one gives its descriptor back, and accepting pauses a moment.
                Err(_) => {
                    if let Some(i) = self.visitors.iter().position(Visitor::lingers) {
                        self.visitors.swap_remove(i);
                    }
                    self.accept_after = Some(Instant::now() + Duration::from_millis(10));
                    return;
                }
            }
        }
    }

    /// Takes a connection in, letting the least useful one go when the door is full.
    fn admit(&mut self, visitor: Visitor) {
        if self.visitors.len() >= MAX_VISITORS {
            let least = self
                .visitors
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| (!v.lingers(), v.since))
                .map(|(i, _)| i);
            if let Some(i) = least {
                self.visitors.swap_remove(i);
            }
        }
        self.visitors.push(visitor);
        let last = self.visitors.len() - 1;
        // A connection handed back, or one whose bytes are already there, moves on now.
        self.step(last);
    }

    /// Advances connection `i` as far as it goes now.
    fn step(&mut self, i: usize) {
        loop {
            match self.visitors[i].advance(self.options.max_header_bytes) {
                Step::Wait => return,
                Step::Done => {
                    self.visitors.swap_remove(i);
                    return;
                }
                Step::Answer(response) => self.visitors[i].answer(http::encode(&response, false)),
                Step::Request(request) => {
                    let head_only = request.head_only();
                    match self.route(&request) {
                        Decision::Answer(response) => {
                            self.visitors[i].answer(http::encode(&response, head_only));
                        }
                        Decision::Hold(pause, response) => {
                            let visitor = self.visitors.swap_remove(i);
                            self.held.push(Held {
                                until: Instant::now() + pause,
                                visitor,
                                answer: http::encode(&response, head_only),
                            });
                            return;
                        }
                        Decision::Work(access) => {
                            let visitor = self.visitors.swap_remove(i);
                            self.hand_over(visitor, request, access);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// What to do with a complete request: answer it, hold its answer, or hand it over.
    fn route(&self, request: &Request) -> Decision {
        match super::route(request, &self.options.web) {
            Route::Answer(response) => Decision::Answer(response),
            Route::Hold(pause, response) if self.held.len() < MAX_HELD => {
                Decision::Hold(pause, response)
            }
            Route::Hold(_, response) => Decision::Answer(response),
            Route::Work(access)
                if self.scrapes.has_room() || self.reserve.has_room() && is_health(request) =>
            {
                Decision::Work(access)
            }
            // The verifier, if it was claimed, is given back with `access`.
            Route::Work(_) => Decision::Answer(Response::text(503, "too many connections\n")),
        }
    }

    fn hand_over(&mut self, visitor: Visitor, request: Request, access: Access) {
        let pool = if self.scrapes.has_room() {
            &mut self.scrapes
        } else {
            &mut self.reserve
        };
        let work = Work {
            tcp: visitor.tcp,
            tls: visitor.tls,
            request,
            access,
            since: visitor.since,
            deadline: visitor.deadline,
        };
        let (shared, back, bell) = (self.shared.clone(), self.back.clone(), self.bell.clone());
        pool.spawn(move || {
            if let Some(visitor) = worker::answer(work, &shared)
                && back.send(visitor).is_ok()
            {
                bell.ring();
            }
        });
    }
}

fn is_health(request: &Request) -> bool {
    request.route() == "/healthz"
}
