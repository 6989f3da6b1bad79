//! `sockscope top`: sockets counted per process, port, peer or uid, largest groups first.

use std::collections::HashMap;
use std::io::Write;

use super::{notes_to_stderr, style};
use crate::Terminal;
use crate::cli::{Format, SharedArgs, TopArgs};
use crate::diagnose::Settings;
use crate::error::Error;
use crate::group::Grouper;
use crate::pipeline::{self, Plan};
use crate::render;
use crate::report::{GroupKey, TopReport};

pub fn run(
    shared: &SharedArgs,
    args: &TopArgs,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let keys = args.keys();
    let format = shared.format("top")?;
    let mut scope = args.scope(shared);
    // Only the filtered states are needed: sock_diag can skip the rest in the kernel.
    scope.source = scope.source.only_states(scope.filter.kernel_states());
    let plan = Plan::default();
    let settings = Settings::default();

    let mut grouper = Grouper::new(&keys);
    // With a holder key the walk of /proc/*/fd runs beside the dump, and each socket is kept as
    // its inode, state and other keys until the owners are known (containers sharing the
    // host's namespace are found through the processes holding its sockets). Without one,
    // groups are counted while streaming, keeping no socket.
    let holders = grouper.needs_owners();
    let (analysis, walk) = pipeline::analyse_with_holders(
        &scope,
        &plan,
        &settings,
        holders,
        &mut |label, s| grouper.add_in(label, s),
        err,
    )?;
    let (groups, attribution) = match walk {
        Some(walk) => {
            grouper.sort_by_inode();
            let (owners, attribution) = walk.owners(grouper.inodes(), grouper.inodes())?;
            let containers = if keys.contains(&GroupKey::Container) {
                pipeline::containers_of(&scope, owners.processes().iter().map(|p| p.pid))
            } else {
                HashMap::new()
            };
            let attribution = keys.contains(&GroupKey::Process).then_some(attribution);
            (grouper.finish(Some(&owners), &containers), attribution)
        }
        None => (grouper.finish(None, &HashMap::new()), None),
    };

    let mut groups = groups;
    let rest = (args.limit > 0 && groups.len() > args.limit).then(|| {
        let cut = groups.split_off(args.limit);
        (cut.len() as u64, cut.iter().map(|g| g.counts.total()).sum())
    });
    let report = TopReport {
        collected_at: analysis.report.collected_at,
        by: keys,
        total: analysis.report.tally.total(),
        groups,
        rest,
        attribution,
        filter: analysis.report.filter,
        collection: analysis.report.collection,
    };
    match format {
        Format::Table => render::top::render_table(&report, style(terminal), out)?,
        Format::Json => render::top::render_json(&report, out)?,
        Format::Plain => {
            render::top::render_plain(&report, out)?;
            if let Some(attribution) = report
                .attribution
                .as_ref()
                .filter(|_| shared.output.verbose)
            {
                notes_to_stderr(&render::attribution::notes(attribution), err);
            }
        }
    }
    Ok(())
}
