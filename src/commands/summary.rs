//! `sockscope` / `sockscope summary`: every socket counted by family and state, then the
//! diagnostics over what was seen.

use std::io::Write;

use super::warn;
use crate::cli::{Output, SummaryJob};
use crate::error::Error;
use crate::pipeline;
use crate::render;

pub fn run(
    job: &SummaryJob,
    output: &Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut request = job.request.clone();
    if let Some(follow) = &job.follow {
        if let Some(why) = super::flows::start(&mut request, follow)? {
            warn(&[why], err);
        }
        super::flows::first(&request, follow.first.unwrap_or_default());
    }
    let finished = pipeline::run(&request, &mut |_, _| {})?;
    warn(&render::warnings(&finished.report), err);
    if output.format == render::Format::Plain {
        warn(&render::summary::plain_warnings(&finished.report), err);
    }
    render::summary::write(&finished.report, output.format, &output.style, out)?;
    Ok(())
}
