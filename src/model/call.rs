//! What a thread is doing in the kernel, from the syscall number in `/proc/PID/task/TID/syscall`:
//! the classes the evidence reasons with, and which of them name a file descriptor in their
//! first argument. Numbers are per architecture (x86_64 and aarch64 here); an unknown number
//! is kept as `Other`.

/// A blocking syscall, by what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Call {
    /// read, readv, recvfrom, recvmsg, recvmmsg: waiting for data on the fd.
    Read,
    /// write, writev, sendto, sendmsg, sendmmsg, sendfile: waiting to send on the fd.
    Write,
    /// accept, accept4: waiting for a connection on the listening fd.
    Accept,
    /// connect: waiting for the handshake on the fd.
    Connect,
    /// epoll_wait, epoll_pwait, epoll_pwait2, select, pselect6, poll, ppoll, io_uring_enter:
    /// waiting on many fds at once (an event loop).
    Poll,
    /// futex: a lock, a condition variable or a queue.
    Futex,
    /// nanosleep, clock_nanosleep: sleeping on purpose.
    Sleep,
    /// wait4, waitid, pause, rt_sigtimedwait, rt_sigsuspend, sigwait: waiting for a child or a
    /// signal.
    Signal,
    /// Any other syscall, by number.
    Other(i64),
}

impl Call {
    /// Whether the first argument is the file descriptor waited on.
    pub fn names_fd(self) -> bool {
        matches!(
            self,
            Call::Read | Call::Write | Call::Accept | Call::Connect
        )
    }

    /// The class of syscall `nr` on x86_64.
    pub fn of_x86_64(nr: i64) -> Call {
        match nr {
            0 | 19 | 45 | 47 | 299 => Call::Read,
            1 | 20 | 40 | 44 | 46 | 307 => Call::Write,
            43 | 288 => Call::Accept,
            42 => Call::Connect,
            7 | 23 | 232 | 270 | 271 | 281 | 426 | 441 => Call::Poll,
            202 => Call::Futex,
            35 | 230 => Call::Sleep,
            34 | 61 | 128 | 130 | 247 => Call::Signal,
            other => Call::Other(other),
        }
    }

    /// The class of syscall `nr` on aarch64 (the generic table, `asm-generic/unistd.h`).
    pub fn of_aarch64(nr: i64) -> Call {
        match nr {
            63 | 65 | 207 | 212 | 243 => Call::Read,
            64 | 66 | 71 | 206 | 211 | 269 => Call::Write,
            202 | 242 => Call::Accept,
            203 => Call::Connect,
            22 | 72 | 73 | 426 | 441 => Call::Poll,
            98 => Call::Futex,
            101 | 115 => Call::Sleep,
            95 | 133 | 137 | 260 => Call::Signal,
            other => Call::Other(other),
        }
    }

    /// The class of syscall `nr` on the architecture sockscope was built for.
    pub fn of(nr: i64) -> Call {
        if cfg!(target_arch = "aarch64") {
            Call::of_aarch64(nr)
        } else {
            Call::of_x86_64(nr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calls_the_evidence_reasons_with() {
        // x86_64: recvfrom 45, futex 202, epoll_wait 232, accept4 288, clock_nanosleep 230.
        assert_eq!(Call::of_x86_64(45), Call::Read);
        assert_eq!(Call::of_x86_64(202), Call::Futex);
        assert_eq!(Call::of_x86_64(232), Call::Poll);
        assert_eq!(Call::of_x86_64(288), Call::Accept);
        assert_eq!(Call::of_x86_64(230), Call::Sleep);
        assert_eq!(Call::of_x86_64(9999), Call::Other(9999));
        // aarch64: recvfrom 207, futex 98, epoll_pwait 22, accept4 242.
        assert_eq!(Call::of_aarch64(207), Call::Read);
        assert_eq!(Call::of_aarch64(98), Call::Futex);
        assert_eq!(Call::of_aarch64(22), Call::Poll);
        assert_eq!(Call::of_aarch64(242), Call::Accept);
        assert!(Call::Read.names_fd() && Call::Accept.names_fd());
        assert!(!Call::Futex.names_fd() && !Call::Poll.names_fd());
    }
}
