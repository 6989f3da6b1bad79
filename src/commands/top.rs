//! `sockscope top`: sockets counted per process, port, peer or uid, largest groups first.

use std::io::Write;
use std::time::SystemTime;

use super::{matching_sockets, notes_to_stderr, owners_of, style, warn_skipped};
use crate::Terminal;
use crate::cli::{Format, GroupKey, TopArgs};
use crate::collect::owners::Attribution;
use crate::collect::{self, ProcSource};
use crate::error::Error;
use crate::filter::Filter;
use crate::group::Grouper;
use crate::render;
use crate::report::TopReport;

pub fn run(
    args: &TopArgs,
    terminal: Terminal,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let mut keys: Vec<GroupKey> = Vec::new();
    for &key in &args.by {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        keys.push(GroupKey::Process);
    }
    let filter = Filter::new(&args.filter);
    // Only the filtered states are needed: sock_diag can skip the rest in the kernel.
    let source = ProcSource::from_args(&args.source).only_states(|s| filter.wants_state(s));
    let collected_at = SystemTime::now();

    let (groups, total, attribution, collection) = if keys.contains(&GroupKey::Process) {
        // Owners are looked up by inode once every matching socket is known.
        let (sockets, collection) = matching_sockets(&source, &filter)?;
        let owners = owners_of(&source, &sockets)?;
        let mut grouper = Grouper::new(&keys, Some(&owners));
        for socket in &sockets {
            grouper.add(socket);
        }
        let attribution = Attribution::of(&sockets, &owners);
        (
            grouper.finish(),
            sockets.len() as u64,
            Some(attribution),
            collection,
        )
    } else {
        // No owners needed: group while streaming, keeping no socket.
        let mut grouper = Grouper::new(&keys, None);
        let mut total = 0u64;
        let collection = collect::for_each_socket(
            &source,
            |family| filter.wants_family(family),
            |socket| {
                if filter.matches(socket) {
                    total += 1;
                    grouper.add(socket);
                }
            },
        )?;
        (grouper.finish(), total, None, collection)
    };
    warn_skipped(&collection, err);

    let mut groups = groups;
    let rest = (args.limit > 0 && groups.len() > args.limit).then(|| {
        let cut = groups.split_off(args.limit);
        (cut.len() as u64, cut.iter().map(|g| g.counts.total).sum())
    });
    let report = TopReport {
        collected_at,
        by: keys,
        total,
        groups,
        rest,
        attribution,
        filter: filter.describe(),
        collection,
    };
    match args.output.format() {
        Format::Table => render::top::render_table(&report, style(terminal), out)?,
        Format::Json => render::top::render_json(&report, out)?,
        Format::Plain => {
            render::top::render_plain(&report, out)?;
            if let Some(attribution) = &report.attribution {
                notes_to_stderr(&attribution.notes(), err);
            }
        }
    }
    Ok(())
}
