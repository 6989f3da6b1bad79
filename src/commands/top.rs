//! `sockscope top`: sockets counted per process, port, peer or uid, largest groups first.

use std::io::Write;

use super::{notes_to_stderr, style};
use crate::Terminal;
use crate::cli::{Format, SharedArgs, TopArgs};
use crate::diagnose::Settings;
use crate::error::Error;
use crate::group::Grouper;
use crate::model::Socket;
use crate::pipeline::{self, Plan};
use crate::render;
use crate::report::{GroupKey, NetnsLabel, TopReport};

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

    // Containers sharing the host's namespace are found through the processes holding sockets.
    let by_holder = keys.contains(&GroupKey::Process) || keys.contains(&GroupKey::Container);
    let (groups, attribution, analysis) = if by_holder {
        // Owners are looked up by inode once every matching socket is known; each socket
        // keeps the namespace it came from (by index into `labels`).
        let mut labels: Vec<Option<NetnsLabel>> = Vec::new();
        let mut sockets: Vec<(usize, Socket)> = Vec::new();
        let analysis = pipeline::analyse_each(
            &scope,
            &plan,
            &settings,
            &mut |label, s| {
                if labels.last().is_none_or(|l| l.as_ref() != label) {
                    labels.push(label.cloned());
                }
                sockets.push((labels.len() - 1, *s));
            },
            err,
        )?;
        let plain: Vec<Socket> = sockets.iter().map(|(_, s)| *s).collect();
        let (owners, attribution) = pipeline::owners_of_sockets(&scope.source, &plain)?;
        let containers = if keys.contains(&GroupKey::Container) {
            pipeline::containers_of(&scope, owners.processes().iter().map(|p| p.pid))
        } else {
            Default::default()
        };
        let mut grouper = Grouper::new(&keys, Some(&owners)).with_containers(&containers);
        for (at, socket) in &sockets {
            grouper.add_in(labels[*at].as_ref(), socket);
        }
        let attribution = keys.contains(&GroupKey::Process).then_some(attribution);
        (grouper.finish(), attribution, analysis)
    } else {
        // No owners needed: group while streaming, keeping no socket.
        let mut grouper = Grouper::new(&keys, None);
        let analysis = pipeline::analyse_each(
            &scope,
            &plan,
            &settings,
            &mut |label, s| grouper.add_in(label, s),
            err,
        )?;
        (grouper.finish(), None, analysis)
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
