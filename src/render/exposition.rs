//! The two exposition formats Prometheus scrapes: the text format 0.0.4 and OpenMetrics 1.0.
//! Every family and sample goes through [`Exposition`], so the formats differ in one place:
//! OpenMetrics names a counter family without `_total`, has an `info` type, and ends with
//! `# EOF`. Labels added later (a namespace, a container) are one more pair per sample.

use std::fmt::Display;
use std::io::{self, Write};

use super::Format;

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// The sample name ends in `_total`.
    Counter,
    /// Buckets (`_bucket{le}`, cumulative, `+Inf` last), `_sum` and `_count`.
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    Histogram,
    /// Constant 1 with the information in labels; the sample name ends in `_info`.
    // Only `serve` writes one (sockscope_build_info).
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    Info,
}

/// Label values: control, bidi and zero-width characters as the table shows them (`\x1b`), so
/// `cat` on a textfile runs no escape sequence; then the format's own escaping of backslash,
/// double quote and newline (the same in both formats).
pub fn escape(value: &str) -> String {
    super::escape::for_terminal(value)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes families and samples in one format.
pub struct Exposition<'a> {
    /// OpenMetrics; else the text format.
    openmetrics: bool,
    out: &'a mut dyn Write,
}

impl<'a> Exposition<'a> {
    /// [`Format::OpenMetrics`], or else the text format ([`Format::Prometheus`]).
    pub fn new(format: Format, out: &'a mut dyn Write) -> Exposition<'a> {
        Exposition {
            openmetrics: format == Format::OpenMetrics,
            out,
        }
    }

    /// `# HELP` and `# TYPE` of the family whose samples are called `name`.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> io::Result<()> {
        let (family, word) = match (self.openmetrics, kind) {
            (_, Kind::Gauge) => (name, "gauge"),
            (_, Kind::Histogram) => (name, "histogram"),
            (false, Kind::Counter) => (name, "counter"),
            (false, Kind::Info) => (name, "gauge"),
            (true, Kind::Counter) => (name.strip_suffix("_total").unwrap_or(name), "counter"),
            (true, Kind::Info) => (name.strip_suffix("_info").unwrap_or(name), "info"),
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        writeln!(self.out, "# HELP {family} {help}")?;
        writeln!(self.out, "# TYPE {family} {word}")
    }

    /// One sample; label values are escaped here.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Display,
    ) -> io::Result<()> {
        write!(self.out, "{name}")?;
        for (i, (key, value)) in labels.iter().enumerate() {
            let sep = if i == 0 { '{' } else { ',' };
            write!(self.out, "{sep}{key}=\"{}\"", escape(value))?;
        }
        if !labels.is_empty() {
            write!(self.out, "}}")?;
        }
        writeln!(self.out, " {value}")
    }

    /// The end of the exposition (`# EOF` in OpenMetrics).
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    pub fn finish(self) -> io::Result<()> {
        if self.openmetrics {
            writeln!(self.out, "# EOF")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(write: impl Fn(&mut Exposition) -> io::Result<()>) -> (String, String) {
        let run = |format| {
            let mut out = Vec::new();
            let mut e = Exposition::new(format, &mut out);
            write(&mut e).unwrap();
            e.finish().unwrap();
            String::from_utf8(out).unwrap()
        };
        (run(Format::Prometheus), run(Format::OpenMetrics))
    }

    #[test]
    fn counters_and_info_follow_each_format() {
        let (text, om) = both(|e| {
            e.family("x_total", Kind::Counter, "X.")?;
            // Control characters show as the table shows them (\x0a), then the format escapes.
            e.sample("x_total", &[("a", "q\"\\\n")], 3)?;
            e.family("b_info", Kind::Info, "B.")?;
            e.sample("b_info", &[], 1)
        });
        assert_eq!(
            text,
            "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\\\\\\\\\x0a\"} 3\n\
             # HELP b_info B.\n# TYPE b_info gauge\nb_info 1\n"
        );
        assert_eq!(
            om,
            "# HELP x X.\n# TYPE x counter\nx_total{a=\"q\\\"\\\\\\\\\\\\x0a\"} 3\n\
             # HELP b B.\n# TYPE b info\nb_info 1\n# EOF\n"
        );
    }
}
