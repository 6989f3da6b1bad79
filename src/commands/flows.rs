//! Starting to follow the kernel's destroy events for a command (`watch`, `serve`, `--follow`):
//! the follower goes into the request's plan, subscribed at once to the namespaces the request
//! reads, so events count from the start. What keeps it from following is said once; the
//! command runs on without it.

use std::time::{Duration, Instant};

use crate::cli::FollowJob;
use crate::error::Error;
use crate::pipeline::{self, Request};

/// How long `--follow` waits for the first census of each namespace, which tells accepted
/// connections apart and names their holders, before its period starts.
const FIRST_CENSUS: Duration = Duration::from_secs(5);

/// Follows the request's namespaces from now on (see [`pipeline::follow`]).
pub fn start(request: &mut Request, job: &FollowJob) -> Result<Option<String>, Error> {
    pipeline::follow(request, job.buffer)
}

/// `--follow DURATION`: follows for that long before the one run, having named the holders
/// of what the first census saw (unless processes are not looked up); the window is that
/// period. Nothing is waited for when nothing can be followed.
pub fn first(request: &Request, period: Duration) {
    let Some(flows) = &request.plan.flows else {
        return;
    };
    let follower = &flows.follower;
    if follower.denied().is_some() {
        return;
    }
    let deadline = Instant::now() + FIRST_CENSUS;
    while follower.censused() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if !request.scope.no_processes {
        // A walk that fails leaves the holders unknown; the rates stand without them.
        let _ = follower.walk_owners();
    }
    // The period starts now: closes before the walk could not be joined to their holders, so
    // counting them would understate every process's rate against the window's length.
    let _ = follower.drain();
    std::thread::sleep(period);
}
