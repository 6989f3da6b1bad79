//! The `/proc/net/tcp{,6}` tables of a source (`ROOT/net` or `ROOT/PID/net`), streamed to the
//! caller line by line: what is read when sock_diag is not. It never keeps a socket.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::proc_tcp::{Line, TcpTable};
use super::{SKIPPED_DETAILS, Source, bounded};
use crate::error::Error;
use crate::model::{Family, Socket};
use crate::report::{Collection, FileStats, SkippedLine};

/// Read buffer for the socket tables. The kernel hands out `/proc/net/tcp` one seq_file page
/// (about 4 KiB, 27 lines) per read() whatever the buffer size, and re-walks its hash to find
/// its place on each call (measured with strace on 6.18: 4050-byte reads for a 1 MiB buffer,
/// as for cat). A larger buffer buys nothing; this one just never splits a page.
const READ_BUFFER: usize = 64 << 10;

/// Reads `ROOT/net/tcp` and `tcp6` (or `ROOT/PID/net/…`) for the families wanted; a missing
/// `tcp6` is IPv6 disabled, as `ss` counts it.
pub(super) fn read_tables(
    source: &Source,
    wants: &impl Fn(Family) -> bool,
    collection: &mut Collection,
    each: &mut impl FnMut(&Socket),
) -> Result<(), Error> {
    let net = source.net_dir();
    for (family, name) in [(Family::Ipv4, "tcp"), (Family::Ipv6, "tcp6")] {
        let path = net.join(name);
        let mut stats = FileStats {
            path: path.clone(),
            family,
            present: true,
            read: wants(family),
            sockets: 0,
            skipped: 0,
        };
        if stats.read {
            match bounded::open_regular(&path, true) {
                Ok(file) => read_table(file, &path, family, &mut stats, collection, each)?,
                // No tcp6 means IPv6 is disabled or not built: as ss, count it as absent.
                Err(e) if family == Family::Ipv6 && e.kind() == std::io::ErrorKind::NotFound => {
                    stats.present = false;
                }
                Err(source) => return Err(Error::Read { path, source }),
            }
        } else {
            stats.present = path.exists();
        }
        collection.files.push(stats);
    }
    Ok(())
}

fn read_table(
    file: File,
    path: &Path,
    family: Family,
    stats: &mut FileStats,
    collection: &mut Collection,
    each: &mut impl FnMut(&Socket),
) -> Result<(), Error> {
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut table = TcpTable::new(reader, family);
    let mut first_skipped = None;
    for line in table.by_ref() {
        match line {
            Line::Socket(socket) => {
                stats.sockets += 1;
                collection.sockets_seen += 1;
                each(&socket);
            }
            Line::Skipped { line, why } => {
                first_skipped.get_or_insert_with(|| (line, why.to_string()));
                stats.skipped += 1;
                collection.skipped_lines += 1;
                if collection.skipped.len() < SKIPPED_DETAILS {
                    collection.skipped.push(SkippedLine {
                        path: path.to_path_buf(),
                        line,
                        why,
                    });
                }
            }
            Line::Failed { line, error } => {
                return Err(Error::ReadLine {
                    path: path.to_path_buf(),
                    line,
                    source: error,
                });
            }
        }
    }
    collection.repeated_lines += table.repeated();
    // Lines and not one socket among them (random bytes, another file, an empty file without
    // the kernel's header): this family was not read, whatever the other table holds. Never
    // "0 sockets".
    match first_skipped {
        Some((line, why)) if stats.sockets == 0 => Err(Error::Unparsed {
            path: path.to_path_buf(),
            skipped: stats.skipped,
            line,
            why,
        }),
        _ => Ok(()),
    }
}
