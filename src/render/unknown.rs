//! A `check` that could not measure or report, said the way each format's reader expects: the
//! one UNKNOWN line a monitoring system reads, a JSON document with the error, or
//! `sockscope_status 3` and `sockscope_up 0` under a comment saying why (also what `--textfile`
//! gets, so node_exporter does not keep serving the last run's status).

use std::io::{self, Write};

use serde::Serialize;

use super::escape::for_terminal;
use super::exposition::Exposition;
use super::{Format, Style};
use crate::report::{Status, Unknown};

pub fn write(
    report: &Unknown,
    format: Format,
    _style: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => json(report, out),
        Format::Prometheus => prometheus(report, out),
        Format::Text | Format::Nagios => text(report, out),
        other => Err(super::unsupported(other, "an UNKNOWN check")),
    }
}

/// The status line, then the rest of the message; each line escaped (a message may quote a
/// path or a file's content).
fn text(report: &Unknown, out: &mut dyn Write) -> io::Result<()> {
    let mut lines = report.message.lines();
    let first = lines.next().unwrap_or("unknown error");
    writeln!(out, "SOCKSCOPE UNKNOWN - {}", for_terminal(first))?;
    for line in lines {
        writeln!(out, "{}", for_terminal(line))?;
    }
    Ok(())
}

/// Why, as comments (each line escaped), then the status and `sockscope_up 0`.
fn prometheus(report: &Unknown, out: &mut dyn Write) -> io::Result<()> {
    for line in report.message.lines() {
        writeln!(
            out,
            "# sockscope check could not measure: {}",
            for_terminal(line)
        )?;
    }
    let mut e = Exposition::new(Format::Prometheus, out);
    super::prometheus::status(Status::Unknown, &mut e)?;
    super::prometheus::up(false, &mut e)
}

fn json(report: &Unknown, out: &mut dyn Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        schema_version: u32,
        status: &'static str,
        exit_code: u8,
        error: &'a str,
    }
    super::json::write(
        out,
        &Document {
            schema_version: super::document::SCHEMA_VERSION,
            status: "unknown",
            exit_code: Status::Unknown.code(),
            error: &report.message,
        },
    )
}
