//! Attribution in words: why some owners are missing, said so an operator can act on it.

use crate::report::Attribution;

/// Why some owners are missing, in words an operator can act on.
pub fn notes(a: &Attribution) -> Vec<String> {
    let mut notes = Vec::new();
    let w = &a.walk;
    if a.unknown > 0 {
        if let Some(note) = cut_short(a) {
            notes.push(format!(
                "Owners unknown for {}: {note}.",
                sockets(a.unknown)
            ));
        } else if w.processes_out_of_fds > 0 {
            notes.push(format!(
                "Owners unknown for {}: the lookup ran out of file descriptors (EMFILE) before it could read {}; raise `ulimit -n` and run again.",
                sockets(a.unknown),
                processes(w.processes_out_of_fds)
            ));
        } else if w.as_root && w.processes_unreadable > 0 {
            notes.push(format!(
                    "Owners unknown for {}: {} refused even to root (a sandbox or security policy shields {}).",
                    sockets(a.unknown),
                    processes(w.processes_unreadable),
                    if w.processes_unreadable == 1 { "it" } else { "them" }
                ));
        } else if w.processes_unreadable > 0 || w.hidepid.is_some() {
            let mut why = Vec::new();
            if w.processes_unreadable > 0 {
                why.push(format!(
                    "{} of other users could not be read",
                    processes(w.processes_unreadable)
                ));
            }
            if let Some(h) = &w.hidepid {
                why.push(format!("/proc is mounted with hidepid={h}"));
            }
            notes.push(format!(
                    "Owners unknown for {} ({}): run as root or grant CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH.",
                    sockets(a.unknown),
                    why.join("; ")
                ));
        } else if w.processes_vanished > 0 {
            notes.push(format!(
                "Owners unknown for {}: {} exited during the owner lookup, or the sockets are held by processes outside this PID namespace.",
                sockets(a.unknown),
                processes(w.processes_vanished)
            ));
        } else if w.processes_scanned == 0 {
            // A live /proc always holds a process, the reader: this is a copy of the tables.
            notes.push(format!(
                "Owners unknown for {}: this copy of /proc holds no processes, only its tables; name them with `sockscope top --by process` on the host it came from.",
                sockets(a.unknown)
            ));
        } else {
            notes.push(format!(
                    "Owners unknown for {}: closed during the scan, or held by processes outside this PID namespace.",
                    sockets(a.unknown)
                ));
        }
    }
    if a.no_process > 0 {
        notes.push(format!(
                "{} no process by design: orphaned after close() (FIN_WAIT1, LAST_ACK, CLOSING, TIME_WAIT, orphaned FIN_WAIT2) or waiting in an accept queue.",
                if a.no_process == 1 { "1 socket has".to_string() } else { format!("{} sockets have", a.no_process) }
            ));
    }
    if a.shared > 0 {
        notes.push(format!(
            "{} held by several processes (fork, fd passing); each holder is counted.",
            if a.shared == 1 {
                "1 socket is".to_string()
            } else {
                format!("{} sockets are", a.shared)
            }
        ));
    }
    // A process that exited during the lookup only matters where an owner is missing (said
    // above); when every socket was attributed it explains nothing.
    notes
}

/// When the owner lookup stopped at `check --timeout`'s deadline: what it did not look at.
pub fn cut_short(a: &Attribution) -> Option<String> {
    let n = a.walk.processes_not_walked;
    (n > 0).then(|| {
        format!(
            "the owner lookup stopped at the --timeout deadline before looking at {}, so culprits may be missing",
            processes(n)
        )
    })
}

fn processes(n: u64) -> String {
    if n == 1 {
        "1 process".into()
    } else {
        format!("{n} processes")
    }
}

fn sockets(n: u64) -> String {
    if n == 1 {
        "1 socket".into()
    } else {
        format!("{n} sockets")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_owners_get_advice_that_fits_who_is_asking() {
        let mut a = Attribution {
            sockets: 2,
            unknown: 2,
            ..Attribution::default()
        };
        a.walk.processes_unreadable = 1;
        let user = notes(&a).join(" ");
        assert!(
            user.contains("1 process of other users could not be read"),
            "{user}"
        );
        assert!(
            user.contains("run as root or grant CAP_SYS_PTRACE"),
            "{user}"
        );
        a.walk.as_root = true;
        let root = notes(&a).join(" ");
        assert!(root.contains("refused even to root"), "{root}");
        assert!(!root.contains("run as root"), "{root}");
    }

    #[test]
    fn notes_explain_gaps_only() {
        // Every socket attributed: a process that exited meanwhile explains nothing.
        let mut a = Attribution {
            sockets: 3,
            attributed: 3,
            ..Attribution::default()
        };
        a.walk.processes_vanished = 1;
        assert_eq!(notes(&a), Vec::<String>::new());
        a.attributed = 2;
        a.unknown = 1;
        let gap = notes(&a).join(" ");
        assert!(
            gap.contains("1 process exited during the owner lookup"),
            "{gap}"
        );
        // Out of file descriptors: said as such, processes not blamed.
        a.walk.processes_out_of_fds = 40;
        a.walk.processes_unreadable = 2;
        let emfile = notes(&a).join(" ");
        assert!(
            emfile.contains("ran out of file descriptors (EMFILE)"),
            "{emfile}"
        );
        assert!(!emfile.contains("exited"), "{emfile}");
        assert!(!emfile.contains("other users"), "{emfile}");
    }
}
