//! One collection for many scrapes: a scrape that arrives while a collection runs waits for it
//! and gets its result; one that arrives within `min_interval` of the last result gets that.
//! Nothing runs between scrapes (Prometheus' exporter guidelines: collect on scrape).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::report::Scrape;

/// A collection's result, shared by every scrape it answers.
pub type Outcome = Arc<Scrape>;

/// Runs one collection (a run of the pipeline); called with no lock but its own held, so never
/// twice at once.
pub type Scraper = Box<dyn FnMut() -> Scrape + Send>;

#[derive(Default)]
struct State {
    running: bool,
    /// Bumped when a collection finishes.
    finished: u64,
    last: Option<(Instant, Outcome)>,
}

pub struct Shared {
    min_interval: Duration,
    state: Mutex<State>,
    done: Condvar,
    scraper: Mutex<Scraper>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop every later scrape.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Clears `running` even if the collection panics, so waiting scrapes are released.
struct Running<'a>(&'a Shared);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        if state.running {
            state.running = false;
            state.finished += 1;
            self.0.done.notify_all();
        }
    }
}

impl Shared {
    pub fn new(min_interval: Duration, scraper: Scraper) -> Shared {
        Shared {
            min_interval,
            state: Mutex::new(State::default()),
            done: Condvar::new(),
            scraper: Mutex::new(scraper),
        }
    }

    /// The result for a scrape arriving now.
    pub fn get(&self) -> Outcome {
        let mut state = lock(&self.state);
        if let Some((at, outcome)) = &state.last
            && at.elapsed() < self.min_interval
        {
            return outcome.clone();
        }
        if state.running {
            let waiting_for = state.finished;
            while state.running && state.finished == waiting_for {
                state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if let Some((_, outcome)) = &state.last {
                return outcome.clone();
            }
        }
        state.running = true;
        drop(state);
        let guard = Running(self);
        let outcome: Outcome = Arc::new((lock(&self.scraper))());
        let mut state = lock(&self.state);
        state.last = Some((Instant::now(), outcome.clone()));
        state.running = false;
        state.finished += 1;
        self.done.notify_all();
        drop(state);
        drop(guard);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn counting(calls: Arc<AtomicU64>) -> Scraper {
        Box::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Err("no report needed".to_string())
        })
    }

    #[test]
    fn scrapes_within_the_interval_share_one_collection() {
        let calls = Arc::new(AtomicU64::new(0));
        let shared = Shared::new(Duration::from_secs(3600), counting(calls.clone()));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| shared.get());
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_scrape_after_the_interval_collects_again() {
        let calls = Arc::new(AtomicU64::new(0));
        let shared = Shared::new(Duration::ZERO, counting(calls.clone()));
        let first = shared.get();
        let second = shared.get();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(!Arc::ptr_eq(&first, &second));
    }
}
