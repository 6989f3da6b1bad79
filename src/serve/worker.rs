//! Workers: a thread per request the door could not answer itself (a scrape, a password to
//! verify), counted against a pool so that --max-connections bounds them. A worker writes its
//! answer by the connection's deadline, through [`Timed`], then hands the connection back to
//! the door for its linger. It never reads a request: the door has read the head.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use super::deadline::Timed;
use super::http::{self, Request};
use super::share::Shared;
use super::visitor::Visitor;
use super::{Access, respond};

/// A request with a complete head, and its connection.
pub struct Work {
    pub tcp: TcpStream,
    pub tls: Option<Box<rustls::ServerConnection>>,
    pub request: Request,
    pub access: Access,
    pub since: Instant,
    pub deadline: Instant,
}

/// Up to `size` workers at once.
pub struct Pool {
    size: usize,
    busy: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<()>>,
}

/// A worker's place in its pool, given back when the worker ends, even by a panic.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Pool {
    pub fn new(size: usize) -> Pool {
        Pool {
            size,
            busy: Arc::new(AtomicUsize::new(0)),
            threads: Vec::new(),
        }
    }

    pub fn has_room(&self) -> bool {
        self.busy.load(Ordering::SeqCst) < self.size
    }

    /// Runs `job` on a thread of its own holding one place (the door checked there is room).
    /// A thread that cannot be made drops the job, and its connection with it.
    pub fn spawn(&mut self, job: impl FnOnce() + Send + 'static) {
        self.threads.retain(|t| !t.is_finished());
        self.busy.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(self.busy.clone());
        let spawned = std::thread::Builder::new()
            .name("scrape".into())
            .spawn(move || {
                let _slot = slot;
                job();
            });
        if let Ok(thread) = spawned {
            self.threads.push(thread);
        }
    }

    /// Waits for every worker: each ends by its connection's deadline.
    pub fn join(&mut self) {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Answers `work` and returns its connection for the linger, or None when it failed or its
/// deadline passed.
pub fn answer(work: Work, shared: &Shared) -> Option<Visitor> {
    let response = respond(&work.request, work.access, shared);
    let bytes = http::encode(&response, work.request.head_only());
    work.tcp.set_nonblocking(false).ok()?;
    let timed = Timed {
        tcp: work.tcp,
        deadline: work.deadline,
    };
    let tcp = match work.tls {
        Some(tls) => {
            let mut stream = rustls::StreamOwned::new(*tls, timed);
            stream.write_all(&bytes).ok()?;
            stream.conn.send_close_notify();
            stream.flush().ok()?;
            stream.sock.tcp
        }
        None => {
            let mut timed = timed;
            timed.write_all(&bytes).ok()?;
            timed.tcp
        }
    };
    tcp.shutdown(Shutdown::Write).ok()?;
    tcp.set_nonblocking(true).ok()?;
    Some(Visitor::lingering(tcp, work.since, work.deadline))
}
