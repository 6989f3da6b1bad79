//! `sockscope` / `sockscope summary`: every socket counted by family and state, then the
//! diagnostics over what was seen.

use std::io::Write;

use super::style;
use crate::Terminal;
use crate::alert::config;
use crate::cli::{Format, SharedArgs};
use crate::diagnose::Settings;
use crate::error::Error;
use crate::pipeline::{self, Plan};
use crate::render;

pub fn run(
    shared: &SharedArgs,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let format = shared.format("the summary")?;
    let mut scope = shared.scope();
    // `--format plain` is the awk replacement: it only counts, as fast as it can, and
    // sock_diag can skip the unwanted states in the kernel. The diagnostics need the whole
    // table (shares of ESTABLISHED), so they do not.
    let diagnose = format != Format::Plain;
    if !diagnose {
        scope.source = scope.source.only_states(scope.filter.kernel_states());
    }
    let plan = Plan {
        diagnose,
        // Inodes only serve the owner lookup.
        keep_inodes: !scope.no_processes,
        // A person waits: the walk overlaps the dump.
        walk_beside: true,
        ..Plan::default()
    };
    let settings = if diagnose {
        settings(shared.config.as_deref(), err)
    } else {
        Settings::default()
    };
    let analysis = pipeline::analyse(&scope, &plan, &settings, &mut |_| {}, err)?;
    let report = &analysis.report;
    match format {
        Format::Table => render::table::render(report, style(terminal), out)?,
        Format::Json => render::json::render(report, out)?,
        Format::Plain => render::plain::render(report, out)?,
    }
    Ok(())
}

/// The configured thresholds and disabled rules. The summary must always work during an
/// incident: a broken file is a warning, and the defaults apply.
pub(crate) fn settings(explicit: Option<&std::path::Path>, err: &mut dyn Write) -> Settings {
    match config::load(explicit) {
        Ok(config) => config.settings,
        Err(e) => {
            let _ = writeln!(err, "sockscope: warning: {e}; using the default thresholds");
            Settings::default()
        }
    }
}
