//! What the rules over one kernel counter share (`listen_overflows`, `syn_queue_overflow`,
//! `syncookies_sent`, `time_wait_overflow`, `tcp_memory_aborts`): any rise since the last run is
//! a problem, at the rule's severity.

use serde::Serialize;

use super::words::since;
use crate::diagnose::Outcome;
use crate::diagnose::runs::Interval;
use crate::report::{Facts, Finding, Severity};

/// A counter whose every rise is a problem, and what a rise means.
pub struct Counter {
    /// `TcpExt.ListenOverflows`
    pub name: &'static str,
    pub severity: Severity,
    /// What a rise means, as a clause.
    pub meaning: &'static str,
}

/// `rule`'s finding when `counter` rose in `interval`.
pub fn judge_counter(id: &'static str, counter: &'static Counter, interval: &Interval) -> Outcome {
    let Some(delta) = interval.delta(counter.name).filter(|&d| d > 0) else {
        return Outcome::Quiet;
    };
    let elapsed = interval.seconds();
    let facts = CounterRose {
        counter: counter.name,
        delta,
        interval_s: elapsed,
        per_second: delta as f64 / elapsed,
        elapsed_ms: interval.elapsed_ms,
        meaning: counter.meaning,
    };
    Outcome::Fired(
        Finding::new(id, counter.severity, facts).with_next_steps(vec![
            format!("nstat -az {}", counter.name.replace('.', "")),
            "sockscope   # which listener or destination is behind it".into(),
        ]),
    )
}

/// A kernel counter that rose since the last run.
#[derive(Debug, Serialize)]
pub struct CounterRose {
    pub counter: &'static str,
    pub delta: i64,
    pub interval_s: f64,
    pub per_second: f64,
    #[serde(skip)]
    pub elapsed_ms: u64,
    #[serde(skip)]
    pub meaning: &'static str,
}

impl Facts for CounterRose {
    fn title(&self) -> String {
        format!(
            "{} × {} in the last {}",
            self.delta,
            self.counter.split('.').nth(1).unwrap_or(self.counter),
            since(self.elapsed_ms)
        )
    }

    fn summary(&self) -> String {
        format!(
            "{} rose by {} since the last run {} ago: {}.",
            self.counter,
            self.delta,
            since(self.elapsed_ms),
            self.meaning
        )
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::diagnose::rule::Rule;
    use crate::diagnose::rules::testkit::Remembered;

    /// `rule` judging `name` going from `before` to `now` in 60 s.
    pub fn judge_rise(rule: &dyn Rule, name: &str, before: i64, now: i64) -> Outcome {
        Remembered::default().judge_interval(rule, 60, &[(name, before)], &[(name, now)], &[])
    }

    /// What every counter rule must do: fire on a rise, at its severity, and stay quiet
    /// when the counter stood still or was reset.
    pub fn fires_on_a_rise_only(rule: &dyn Rule, counter: &Counter) {
        let Outcome::Fired(f) = judge_rise(rule, counter.name, 5, 42) else {
            panic!("{} did not fire", rule.id());
        };
        assert_eq!((f.id, f.severity), (rule.id(), counter.severity));
        let rose = f.facts_as::<CounterRose>().unwrap();
        assert_eq!(
            (rose.counter, rose.delta, rose.interval_s),
            (counter.name, 37, 60.0)
        );
        let title = f.facts.title();
        assert!(
            title.starts_with("37 × ") && title.ends_with(" in the last 1m"),
            "{title}"
        );
        assert!(matches!(
            judge_rise(rule, counter.name, 5, 5),
            Outcome::Quiet
        ));
        assert!(matches!(
            judge_rise(rule, counter.name, 5, 2),
            Outcome::Quiet
        ));
    }
}
