//! Wording the rules share: counts with their noun, shares, and why no process is named.

use super::culprits::Unnamed;

/// `1 socket`, `2 sockets`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `12.5%`
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "n/a".into();
    }
    format!("{:.1}%", 100.0 * part as f64 / whole as f64)
}

/// A threshold share as the README writes it: `80%`.
pub fn pct(f: f64) -> String {
    format!("{}%", (f * 100.0).round())
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// ` Holder: processes not looked up (--no-processes).`, or nothing.
pub fn unnamed_text(role: &str, unnamed: Option<Unnamed>) -> String {
    unnamed.map_or(String::new(), |u| {
        format!(
            " {role}: {}.",
            match u {
                Unnamed::NotLookedUp => "processes not looked up (--no-processes)",
                Unnamed::NotIdentified =>
                    "their processes could not be identified (see the attribution notes)",
            }
        )
    })
}

/// An age as people say it: `41 s`, `12 min`, `3.2 h`, `2.5 days`.
pub fn age(secs: f64) -> String {
    if secs < 120.0 {
        format!("{} s", secs.round())
    } else if secs < 2.0 * 3600.0 {
        format!("{} min", (secs / 60.0).round())
    } else if secs < 2.0 * 86_400.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} days", secs / 86_400.0)
    }
}

/// The time since the last run: `4ms` between quick runs, whole seconds (`5m 2s`) otherwise.
pub fn since(elapsed_ms: u64) -> String {
    let shown_ms = if elapsed_ms >= 1000 {
        elapsed_ms / 1000 * 1000
    } else {
        elapsed_ms
    };
    humantime::format_duration(std::time::Duration::from_millis(shown_ms)).to_string()
}
