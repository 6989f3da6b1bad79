//! User names for uids, from the host's `/etc/passwd` (`--host-root` aware), as `ls -l` and
//! `ps` show them. Only the uids asked for are kept. It never writes, and reads bounded: the
//! file through [`HostFs`] (root's, regular, at most 16 MiB, never blocking), a line of at most
//! 4 KiB, a name of at most 64 bytes. A file or line that breaks these names nobody: the
//! numbers stay. Users only a directory service knows (LDAP, sssd) keep their numbers too.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::hostfs::{HostFs, Trust};

const FILE_LIMIT: u64 = 16 << 20;
const LINE_LIMIT: usize = 4096;
/// useradd's limit is 32; anything much longer is not a name a person gave.
const NAME_LIMIT: usize = 64;

/// The names of `uids` from `<host_root>/etc/passwd`; a uid without a (sane) entry is left
/// out, and so is everything when the file cannot be read.
pub fn names(host_root: &Path, uids: &BTreeSet<u32>) -> BTreeMap<u32, String> {
    if uids.is_empty() {
        return BTreeMap::new();
    }
    let host = HostFs::new(host_root, Trust::current());
    match host.open(Path::new("/etc/passwd"), FILE_LIMIT) {
        Ok(file) => parse(BufReader::new(file), uids),
        Err(_) => BTreeMap::new(),
    }
}

/// The first entry of each wanted uid, as getpwuid() takes the first. Lines longer than
/// [`LINE_LIMIT`] are skipped whole, without being held.
pub fn parse(mut reader: impl BufRead, uids: &BTreeSet<u32>) -> BTreeMap<u32, String> {
    let mut found = BTreeMap::new();
    let mut line = Vec::new();
    while found.len() < uids.len() {
        match next_line(&mut reader, &mut line) {
            None => break,
            Some(true) => continue,
            Some(false) => {
                if let Some((uid, name)) = entry(&line)
                    && uids.contains(&uid)
                {
                    found.entry(uid).or_insert(name);
                }
            }
        }
    }
    found
}

/// The next line into `line` (without its newline); `None` at the end (or a read error),
/// `Some(true)` for a line longer than [`LINE_LIMIT`], whose bytes are dropped as they come.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> Option<bool> {
    line.clear();
    let mut long = false;
    let mut any = false;
    loop {
        let buf = reader.fill_buf().ok()?;
        if buf.is_empty() {
            return any.then_some(long);
        }
        any = true;
        let (chunk, used, ends) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if long || line.len() + chunk.len() > LINE_LIMIT {
            long = true;
            line.clear();
        } else {
            line.extend_from_slice(chunk);
        }
        reader.consume(used);
        if ends {
            return Some(long);
        }
    }
}

/// `name:password:uid:…` → (uid, name), for a name that could be one.
fn entry(line: &[u8]) -> Option<(u32, String)> {
    let text = String::from_utf8_lossy(line);
    let mut fields = text.split(':');
    let name = fields.next()?;
    let uid = fields.nth(1)?.parse().ok()?;
    if name.is_empty() || name.len() > NAME_LIMIT || name.starts_with(['+', '-']) {
        // NIS compat lines (`+user`, `-user`) are not names.
        return None;
    }
    Some((uid, name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(uids: &[u32]) -> BTreeSet<u32> {
        uids.iter().copied().collect()
    }

    #[test]
    fn names_the_uids_asked_for_first_entry_wins() {
        // Lines as Debian 12 ships them, then a later duplicate.
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
                      nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                      toor:x:0:0::/:/bin/sh\n";
        let found = parse(passwd.as_bytes(), &wanted(&[0, 65534, 1000]));
        assert_eq!(
            found,
            BTreeMap::from([(0, "root".into()), (65534, "nobody".into())])
        );
    }

    #[test]
    fn hostile_lines_name_nobody_and_break_nothing() {
        let passwd = format!(
            "{}\nlong:x:7:7::/:/bin/sh{}\n{}:x:8:8::/:/bin/sh\n+nis:x:9:9:::\n:x:10:10:::\n\
             bad:x:eleven:11:::\nshort\n\x1b[2J:x:12:12:::\nlast:x:13:13:::",
            "x".repeat(100_000),
            "y".repeat(5000),
            "n".repeat(65),
        );
        let found = parse(
            BufReader::with_capacity(64, passwd.as_bytes()),
            &wanted(&[7, 8, 9, 10, 11, 12, 13]),
        );
        // Control characters are kept: the renderers escape them.
        assert_eq!(
            found,
            BTreeMap::from([(12, "\x1b[2J".into()), (13, "last".into())])
        );
    }

    #[test]
    fn nothing_is_read_for_no_uid() {
        assert!(names(Path::new("/nonexistent"), &BTreeSet::new()).is_empty());
        assert!(names(Path::new("/nonexistent"), &wanted(&[0])).is_empty());
    }
}
