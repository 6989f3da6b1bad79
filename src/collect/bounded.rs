//! Opening what should be a regular file without trusting that it is one: without blocking
//! (a FIFO planted in `--proc-root` or as a config must not hang `open()`), refusing devices,
//! FIFOs and sockets (`/dev/zero` never ends, `/dev/urandom` never stops), and reading at most a
//! cap. The real `/proc` files are regular files of size 0, so the type is checked, never the
//! size. It never writes.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::OFlags;

/// Opens `path` for reading without blocking and refuses anything but a regular file, with an
/// error saying what it is instead. `follow`: whether a symlink in the last component is
/// followed; when not, a symlink is refused (ELOOP) with a message saying so.
pub fn open_regular(path: &Path, follow: bool) -> io::Result<File> {
    let mut flags = OFlags::NONBLOCK;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                io::Error::other("is a symbolic link; refusing to follow it")
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(not_regular(&meta));
    }
    Ok(file)
}

/// The error for a path that is `meta` instead of a regular file.
pub fn not_regular(meta: &Metadata) -> io::Error {
    io::Error::other(format!("is {}, not a regular file", kind(meta)))
}

/// What a non-regular file is, in words.
pub fn kind(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Reads all of `file`, refusing one longer than `limit` bytes.
pub fn read_capped(file: File, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "is larger than {}; refusing to read it",
            size(limit)
        )));
    }
    Ok(bytes)
}

/// A regular file's text (lossy UTF-8), at most `limit` bytes, following symlinks.
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    let bytes = read_capped(open_regular(path, true)?, limit)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn size(limit: u64) -> String {
    if limit >= 1 << 20 {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{} KiB", limit >> 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_large_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Without O_NONBLOCK this open() would wait for a writer forever.
        let e = open_regular(&fifo, true).unwrap_err();
        assert_eq!(e.to_string(), "is a FIFO, not a regular file");
        let e = open_regular(Path::new("/dev/zero"), true).unwrap_err();
        assert_eq!(e.to_string(), "is a character device, not a regular file");

        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        let e = read_text(&big, 1024).unwrap_err();
        assert_eq!(e.to_string(), "is larger than 1 KiB; refusing to read it");
        assert_eq!(read_text(&big, 2048).unwrap().len(), 2048);

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&big, &link).unwrap();
        assert!(open_regular(&link, true).is_ok());
        let e = open_regular(&link, false).unwrap_err();
        assert_eq!(e.to_string(), "is a symbolic link; refusing to follow it");
    }

    #[test]
    fn real_proc_files_are_regular_files_of_size_zero() {
        let Ok(file) = open_regular(Path::new("/proc/net/tcp"), true) else {
            println!("skipped: no /proc/net/tcp here");
            return;
        };
        assert_eq!(file.metadata().unwrap().len(), 0);
        assert!(!read_capped(file, 64 << 20).unwrap().is_empty());
    }
}
