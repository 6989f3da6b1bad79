//! When `check`'s text output speaks: every problem by default; with `--renotify`, an
//! unchanged problem only once per period, and the return to OK once.

use std::time::Duration;

use super::state::Saved;
use crate::report::Status;

/// Whether text output should speak this time, updating what was last said in `next`.
pub fn notify(next: &mut Saved, status: Status, now: u64, renotify: Option<Duration>) -> bool {
    let word = status.word();
    let before = next.notified_status.clone();
    let speak = match (status, before.as_deref(), renotify) {
        (Status::Ok, Some(prev), _) if prev != "OK" => true,
        (Status::Ok, _, _) => false,
        (_, _, None) => true,
        (_, Some(prev), Some(every)) if prev == word => next
            .notified_at
            .is_none_or(|at| now.saturating_sub(at) >= every.as_secs()),
        _ => true,
    };
    if speak || status == Status::Ok {
        next.notified_status = Some(word.to_string());
        if speak {
            next.notified_at = Some(now);
        }
    }
    speak
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_problem_waits_and_recovery_speaks_once() {
        let hour = Some(Duration::from_secs(3600));
        let mut s = Saved::new();
        assert!(notify(&mut s, Status::Warning, 1000, hour));
        assert!(!notify(&mut s, Status::Warning, 1060, hour));
        assert!(
            notify(&mut s, Status::Critical, 1120, hour),
            "a new status speaks"
        );
        assert!(
            notify(&mut s, Status::Critical, 4800, hour),
            "an hour later"
        );
        assert!(notify(&mut s, Status::Ok, 4860, hour), "recovery");
        assert!(!notify(&mut s, Status::Ok, 4920, hour), "only once");
        let mut s = Saved::new();
        assert!(notify(&mut s, Status::Warning, 1000, None));
        assert!(
            notify(&mut s, Status::Warning, 1001, None),
            "no --renotify: always"
        );
    }
}
