//! `STATE COUNT` lines: what `netstat -tan | awk '/^tcp/{++S[$NF]}END{for(a in S) print a,S[a]}'`
//! prints, in a stable order, so scripts built on the one-liner keep working.

use std::io::{self, Write};

use crate::model::TcpState;
use crate::report::SummaryReport;

/// Non-zero states only (awk never sees the others), in lifecycle order. Codes this build
/// does not know are summed as `UNKNOWN`, which is what netstat prints for them.
pub fn render(report: &SummaryReport, out: &mut dyn Write) -> io::Result<()> {
    for state in TcpState::LIFECYCLE {
        let n = report.tally.state_total(state);
        if n > 0 {
            writeln!(out, "{} {n}", state.name())?;
        }
    }
    let unknown: u64 = report.tally.unknown().map(|(_, _, n)| n).sum();
    if unknown > 0 {
        writeln!(out, "UNKNOWN {unknown}")?;
    }
    Ok(())
}
