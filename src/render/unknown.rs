//! A `check` that could not measure or report, said the way each format's reader expects: the
//! one UNKNOWN line a monitoring system reads, a JSON document with the error, or only
//! `sockscope_status 3`.

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
        Format::Prometheus => {
            super::prometheus::status(Status::Unknown, &mut Exposition::new(format, out))
        }
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
