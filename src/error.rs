//! Errors that stop a command. Each names the path it touched; expected gaps (a missing tcp6,
//! a malformed line) are data in the report instead, never errors.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read '{}': {}", path.display(), Cause(source))]
    Read { path: PathBuf, source: io::Error },

    #[error("cannot read '{}' at line {line}: {}", path.display(), Cause(source))]
    ReadLine {
        path: PathBuf,
        line: u64,
        source: io::Error,
    },

    #[error("cannot write '{}': {}", path.display(), Cause(source))]
    Write { path: PathBuf, source: io::Error },

    #[error("netlink sock_diag failed: {}", Cause(.0))]
    Netlink(io::Error),

    #[error("cannot enter the network namespace of '{}': {}", path.display(), Cause(source))]
    Netns { path: PathBuf, source: io::Error },

    #[error("{0}")]
    Usage(String),

    #[error("cannot listen on {addr}: {}", Cause(source))]
    Listen {
        addr: std::net::SocketAddr,
        source: io::Error,
    },

    #[error("bad configuration in '{}': {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("no process {pid} under '{}': it has exited, or it is hidden from this user", root.display())]
    NoProcess { pid: u32, root: PathBuf },

    /// A socket table with lines but not one socket among them: garbage, never "0 sockets".
    #[error("no socket could be read from '{}': {skipped} malformed line{}, the first at line {line}: {why}", path.display(), if *skipped == 1 { "" } else { "s" })]
    Unparsed {
        path: PathBuf,
        skipped: u64,
        line: u64,
        why: String,
    },

    /// A namespace asked for by name that could not be read: never a report of 0 sockets.
    #[error("cannot read network namespace {name}: {why}")]
    Unread { name: String, why: String },

    /// An OTLP push that the receiver did not take (the words name the URL and the answer).
    #[error("{0}")]
    Push(String),
    /// `check --timeout` passed with no result: UNKNOWN before a monitoring system kills it.
    #[error(
        "timed out after {0} (-t/--timeout): the socket tables, the processes or the state file's lock did not answer in time"
    )]
    Timeout(String),

    /// Writing our own output failed (a closed pipe is handled by the caller).
    #[error("cannot write output: {}", Cause(.0))]
    Output(#[from] io::Error),
}

impl Error {
    /// `sockscope ... | head` closes the pipe early: that is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// An `io::Error` in our lower-case message style: "permission denied", not
/// "Permission denied (os error 13)".
pub struct Cause<'a>(pub &'a io::Error);

impl fmt::Display for Cause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.0.kind() {
            io::ErrorKind::NotFound => "no such file or directory",
            io::ErrorKind::PermissionDenied => "permission denied",
            io::ErrorKind::IsADirectory => "is a directory",
            io::ErrorKind::InvalidData => "not valid data",
            io::ErrorKind::UnexpectedEof => "unexpected end of file",
            _ => {
                let full = self.0.to_string();
                let short = full.split(" (os error").next().unwrap_or(&full);
                let mut chars = short.chars();
                return match chars.next() {
                    Some(first) => write!(f, "{}{}", first.to_lowercase(), chars.as_str()),
                    None => f.write_str("unknown error"),
                };
            }
        };
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lower_case_and_name_the_path() {
        let e = Error::Read {
            path: "/proc/net/tcp".into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            e.to_string(),
            "cannot read '/proc/net/tcp': permission denied"
        );
        let e = Error::Read {
            path: "/x".into(),
            source: io::Error::from_raw_os_error(5),
        };
        assert_eq!(e.to_string(), "cannot read '/x': input/output error");
    }
}
