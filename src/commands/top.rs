//! `sockscope top`: sockets counted per process, port, peer or uid, largest groups first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use super::{notes_to_stderr, warn};
use crate::cli::{Output, TopJob};
use crate::collect::users;
use crate::error::Error;
use crate::group::{Grouper, fold_ephemeral};
use crate::pipeline;
use crate::render::{self, Format};
use crate::report::{GroupKey, KeyValue, TopReport};

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
    let ephemeral = match &finished.local_ports {
        Some(ports) if keys.contains(&GroupKey::LocalPort) => {
            let (folded, count) = fold_ephemeral(groups, ports);
            groups = folded;
            (count > 0).then_some((ports.range.0, ports.range.1, count))
        }
        _ => None,
    };
    let rest = (job.limit > 0 && groups.len() > job.limit).then(|| {
        let cut = groups.split_off(job.limit);
        (cut.len() as u64, cut.iter().map(|g| g.counts.total()).sum())
    });
    let users = user_names(job, &groups);
    let report = TopReport {
        collected_at: finished.report.collected_at,
        by: keys.clone(),
        total: finished.report.tally.total(),
        groups,
        rest,
        attribution,
        users,
        ephemeral,
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

/// The names of the uids shown, from the host's `/etc/passwd`. Not for a saved copy
/// (`--proc-root`): its uids are another machine's, which this host's names would misname.
fn user_names(job: &TopJob, groups: &[crate::report::Group]) -> BTreeMap<u32, String> {
    let scope = &job.request.scope;
    if scope.source.root() != scope.host_root.join("proc") {
        return BTreeMap::new();
    }
    let uids: BTreeSet<u32> = groups
        .iter()
        .flat_map(|g| &g.key)
        .filter_map(|k| match k {
            KeyValue::Uid(uid) => Some(*uid),
            _ => None,
        })
        .collect();
    users::names(Path::new(&scope.host_root), &uids)
}
