//! Opening what should be a regular file without trusting that it is one: without blocking
//! (a FIFO planted in `--proc-root` or as a config must not hang `open()`), refusing devices,
//! FIFOs and sockets (`/dev/zero` never ends, `/dev/urandom` never stops), and reading at most a
//! cap. The real `/proc` files are regular files of size 0, so the type is checked, never the
//! size. It never writes.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsFd;
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

/// Reads the regular file `name` inside the open directory `dir` into `buf`, as many files
/// under one `/proc/PID/task/TID` are read: opened relative to the directory, without following
/// a symlink and without blocking, its type checked on the descriptor, refused when it does not
/// fit in `buf`. Returns the bytes read. No allocation, and one `read` for a file that fits: a
/// regular file's short read is its end (procfs hands out a small file whole).
pub fn read_at<'b>(dir: impl AsFd, name: &str, buf: &'b mut [u8]) -> io::Result<&'b [u8]> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| {
        if e == rustix::io::Errno::LOOP {
            io::Error::other("is a symbolic link; refusing to follow it")
        } else {
            e.into()
        }
    })?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(not_regular(&meta));
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // Full: one more byte says whether the file is longer than the buffer.
            let mut probe = [0u8; 1];
            if (&file).read(&mut probe)? == 0 {
                break;
            }
            return Err(io::Error::other(format!(
                "is larger than {} bytes; refusing to read it",
                buf.len()
            )));
        }
        let asked = buf.len() - filled;
        match (&file).read(&mut buf[filled..]) {
            Ok(n) if n < asked => {
                filled += n;
                break;
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..filled])
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
    // Room for a /proc or /proc/sys file in one read: an empty vector would make read_to_end
    // probe with small reads first, several syscalls per file for every namespace of a sweep.
    let mut bytes = Vec::with_capacity(limit.saturating_add(1).min(8 << 10) as usize);
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
    fn files_in_a_directory_are_read_without_links_or_blocking_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stat"), "42 (x) S 1\n").unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 65]).unwrap();
        std::os::unix::fs::symlink(dir.path().join("stat"), dir.path().join("link")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let fd = File::open(dir.path()).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(read_at(&fd, "stat", &mut buf).unwrap(), b"42 (x) S 1\n");
        let e = read_at(&fd, "big", &mut buf).unwrap_err();
        assert_eq!(
            e.to_string(),
            "is larger than 64 bytes; refusing to read it"
        );
        // Exactly the buffer's size fits.
        assert_eq!(read_at(&fd, "big", &mut [0u8; 65]).unwrap().len(), 65);
        let e = read_at(&fd, "link", &mut buf).unwrap_err();
        assert_eq!(e.to_string(), "is a symbolic link; refusing to follow it");
        let e = read_at(&fd, "fifo", &mut buf).unwrap_err();
        assert_eq!(e.to_string(), "is a FIFO, not a regular file");
        let e = read_at(&fd, "sub", &mut buf).unwrap_err();
        assert_eq!(e.to_string(), "is a directory, not a regular file");
        let e = read_at(&fd, "gone", &mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
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
