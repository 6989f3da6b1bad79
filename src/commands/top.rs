//! `sockscope top`: sockets counted per process, port, peer or uid, largest groups first.

use std::collections::HashMap;
use std::io::Write;

use super::{notes_to_stderr, warn};
use crate::cli::{Output, TopJob};
use crate::error::Error;
use crate::group::Grouper;
use crate::pipeline;
use crate::render::{self, Format};
use crate::report::{GroupKey, TopReport};

pub fn run(
    job: &TopJob,
    output: &Output,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let keys = &job.keys;
    let mut grouper = Grouper::new(keys);
    // With a holder key the walk of /proc/*/fd runs beside the dump, and each socket is kept as
    // its inode, state and other keys until the owners are known. Without one, groups are
    // counted while streaming, keeping no socket.
    let finished = pipeline::run(&job.request, &mut |label, s| grouper.add_in(label, s))?;
    warn(&render::warnings(&finished.report), err);
    let (mut groups, attribution) = match finished.walk {
        Some(walk) => {
            grouper.sort_by_inode();
            let containers = keys.contains(&GroupKey::Container);
            let holding = walk.holding(grouper.inodes(), grouper.inodes(), containers)?;
            let attribution = keys
                .contains(&GroupKey::Process)
                .then_some(holding.attribution);
            (
                grouper.finish(Some(&holding.owners), &holding.containers),
                attribution,
            )
        }
        None => (grouper.finish(None, &HashMap::new()), None),
    };
    let rest = (job.limit > 0 && groups.len() > job.limit).then(|| {
        let cut = groups.split_off(job.limit);
        (cut.len() as u64, cut.iter().map(|g| g.counts.total()).sum())
    });
    let report = TopReport {
        collected_at: finished.report.collected_at,
        by: keys.clone(),
        total: finished.report.tally.total(),
        groups,
        rest,
        attribution,
        filter: finished.report.filter,
        collection: finished.report.collection,
    };
    render::top::write(&report, output.format, &output.style, out)?;
    if output.format == Format::Plain
        && output.verbose
        && let Some(attribution) = &report.attribution
    {
        notes_to_stderr(&render::attribution::notes(attribution), err);
    }
    Ok(())
}
