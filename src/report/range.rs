//! Nagios threshold ranges (monitoring-plugins developer guidelines): `10`, `10:`, `~:10`,
//! `10:20`, `@10:20`. A value *outside* the range alerts; with `@`, a value *inside* it does.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// `None` is negative infinity (`~`).
    pub start: Option<f64>,
    /// `None` is positive infinity.
    pub end: Option<f64>,
    /// `@`: alert when inside.
    pub inside: bool,
}

impl Range {
    /// Whether `value` should raise an alert.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start.is_none_or(|s| value >= s) && self.end.is_none_or(|e| value <= e);
        if self.inside { within } else { !within }
    }
}

impl FromStr for Range {
    type Err = String;

    fn from_str(text: &str) -> Result<Range, String> {
        let bad = |why: &str| {
            format!("invalid range '{text}': {why} (expected 10, 10:, ~:10, 10:20 or @10:20)")
        };
        let (inside, body) = match text.trim().strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text.trim()),
        };
        if body.is_empty() {
            return Err(bad("empty"));
        }
        let number = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
        let (start, end) = match body.split_once(':') {
            None => (
                Some(0.0),
                Some(number(body).ok_or_else(|| bad("not a number"))?),
            ),
            Some((lo, hi)) => {
                let start = match lo {
                    "~" => None,
                    "" => Some(0.0),
                    s => Some(number(s).ok_or_else(|| bad("start is not a number"))?),
                };
                let end = match hi {
                    "" => None,
                    s => Some(number(s).ok_or_else(|| bad("end is not a number"))?),
                };
                (start, end)
            }
        };
        if end.is_some_and(|e| e < 0.0) && start == Some(0.0) && !body.contains(':') {
            return Err(bad(
                "a socket count is never negative, so no count is inside 0 to it",
            ));
        }
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(bad("start is greater than end"));
        }
        Ok(Range { start, end, inside })
    }
}

/// The canonical text, as perfdata carries it.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (Some(s), Some(e)) if s == 0.0 && !self.inside => write!(f, "{e}"),
            (Some(s), Some(e)) => write!(f, "{s}:{e}"),
            (Some(s), None) => write!(f, "{s}:"),
            (None, Some(e)) => write!(f, "~:{e}"),
            (None, None) => f.write_str("~:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Range {
        s.parse().unwrap()
    }

    // The table of the monitoring-plugins developer guidelines, "Threshold and ranges".
    #[test]
    fn guideline_examples() {
        let cases: &[(&str, &[f64], &[f64])] = &[
            // range, values that alert, values that do not
            ("10", &[-1.0, 11.0], &[0.0, 5.0, 10.0]),
            ("10:", &[9.0, -5.0], &[10.0, 1e9]),
            ("~:10", &[11.0], &[-1e9, 10.0]),
            ("10:20", &[9.0, 21.0], &[10.0, 15.0, 20.0]),
            ("@10:20", &[10.0, 15.0, 20.0], &[9.0, 21.0]),
        ];
        for (range, alert, quiet) in cases {
            for v in *alert {
                assert!(r(range).alerts(*v), "{range} should alert on {v}");
            }
            for v in *quiet {
                assert!(!r(range).alerts(*v), "{range} should not alert on {v}");
            }
        }
    }

    #[test]
    fn round_trips_for_perfdata() {
        for s in ["10", "10:", "~:10", "10:20", "@10:20", "1.5:2.5"] {
            assert_eq!(r(s).to_string(), s);
        }
    }

    #[test]
    fn bad_ranges_are_rejected_with_the_syntax() {
        for s in ["", "5:1", "abc", "1:x", "@", "~", "inf"] {
            let e = s.parse::<Range>().unwrap_err();
            assert!(e.contains("expected 10, 10:"), "{e}");
        }
    }
}
