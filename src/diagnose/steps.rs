//! Next steps that run where the operator is: inside the target's network namespace with
//! `--pid` or in a sweep, on a saved copy with `--proc-root`, without `sudo` when already
//! root. Pure: the place comes in, the findings' steps are rewritten.

use std::path::{Path, PathBuf};

use crate::report::{Finding, NetnsKind, NetnsLabel};

/// Where the findings' commands will be typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// `--pid N`: the sockets are in that process's network namespace.
    pub pid: Option<u32>,
    /// `--proc-root DIR` other than `/proc`: a saved copy, not a live system.
    pub saved_copy: Option<PathBuf>,
    /// The saved copy holds no processes (only the tables): sockscope's process views name
    /// no one there.
    pub copy_without_processes: bool,
    pub as_root: bool,
    /// A namespace of a sweep other than the host's: `ss` runs through `nsenter` into one of
    /// its processes, sockscope with `--netns`.
    pub netns: Option<Netns>,
}

/// A swept namespace, as its next steps reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netns {
    /// Its name for `--netns`.
    pub name: String,
    /// A process inside it, for `nsenter -t`.
    pub pid: Option<u32>,
}

impl Place {
    /// `live`: the root belongs to a running system (it has namespace links), even when it is
    /// not `/proc` (a host's /proc mounted into a container).
    pub fn new(proc_root: &Path, live: bool, pid: Option<u32>, as_root: bool) -> Place {
        Place {
            pid,
            saved_copy: (!live && proc_root != Path::new("/proc")).then(|| proc_root.to_path_buf()),
            copy_without_processes: false,
            as_root,
            netns: None,
        }
    }

    /// The same place, inside the swept namespace `label` (the host's needs nothing more).
    pub fn in_namespace(&self, label: &NetnsLabel) -> Place {
        Place {
            netns: (label.kind != NetnsKind::Host).then(|| Netns {
                name: label.name(),
                pid: label.sample.as_ref().map(|(pid, _)| *pid),
            }),
            ..self.clone()
        }
    }
}

/// A sockscope command without its process views (`top --by process`, `list -p`), for a copy
/// of /proc that holds no processes: the rest of it still reads the copy's tables.
fn without_processes(step: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut rest = step.split(' ').peekable();
    while let Some(w) = rest.next() {
        match w {
            "-p" | "--processes" => {}
            "--by" if rest.peek() == Some(&"process") => {
                rest.next();
            }
            _ => words.push(w),
        }
    }
    words.join(" ")
}

/// A name as one shell word: kept when plain, else single-quoted.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/:@+-=,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Commands that read the live kernel of the current network namespace.
const NAMESPACED: &[&str] = &["ss ", "nstat ", "sysctl ", "nc ", "conntrack "];
/// Commands that need a live system at all.
const LIVE_ONLY: &[&str] = &[
    "ss ",
    "nstat ",
    "sysctl ",
    "nc ",
    "conntrack ",
    "lsof ",
    "ls /proc",
];

fn localize_one(step: &str, place: &Place) -> Option<String> {
    let mut step = step.to_string();
    if place.as_root
        && let Some(rest) = step.strip_prefix("sudo ")
    {
        step = rest.to_string();
    }
    let sudo = if place.as_root { "" } else { "sudo " };
    let bare = step.strip_prefix("sudo ").unwrap_or(&step).to_string();
    if let Some(dir) = &place.saved_copy {
        if LIVE_ONLY.iter().any(|c| bare.starts_with(c)) {
            return None;
        }
        if place.copy_without_processes && bare.starts_with("sockscope ") {
            step = without_processes(&step);
        }
        if bare.starts_with("sockscope ") && !step.contains("--proc-root") {
            step = step.replacen(
                "sockscope ",
                &format!("sockscope --proc-root {} ", dir.display()),
                1,
            );
        }
    }
    if let Some(pid) = place.pid {
        if NAMESPACED.iter().any(|c| step.starts_with(c)) && place.saved_copy.is_none() {
            step = format!("{sudo}nsenter -t {pid} -n {step}");
        } else if bare.starts_with("sockscope ") && !step.contains("--pid") {
            step = step.replacen("sockscope ", &format!("sockscope --pid {pid} "), 1);
        }
    }
    if let Some(ns) = &place.netns {
        if let (Some(rest), Some(pid)) = (step.strip_prefix("ss "), ns.pid) {
            step = format!("nsenter -t {pid} -n ss {rest}");
        } else if step.contains("sockscope ") && !step.contains("--netns") {
            step = format!("{step} --netns {}", shell_word(&ns.name));
        }
    }
    Some(step)
}

/// Rewrites every finding's next steps for `place`; says so when live-only commands were left
/// out. Applying it twice changes nothing more.
pub fn localize(findings: &mut [Finding], place: &Place) {
    for f in findings {
        let before = f.next_steps.len();
        let mut steps: Vec<String> = f
            .next_steps
            .iter()
            .filter_map(|s| localize_one(s, place))
            .collect();
        if place.saved_copy.is_some() && steps.len() < before {
            steps.push(
                "Commands for a live system (ss, nstat, sysctl, lsof) are left out: --proc-root reads a saved copy; run them on the host it came from."
                    .to_string(),
            );
        }
        f.next_steps = steps;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(root: &str, pid: Option<u32>, as_root: bool) -> Place {
        Place::new(Path::new(root), false, pid, as_root)
    }

    #[test]
    fn with_pid_namespace_commands_run_inside_it() {
        let p = place("/proc", Some(4242), false);
        assert_eq!(
            localize_one("ss -tnp state close-wait", &p).unwrap(),
            "sudo nsenter -t 4242 -n ss -tnp state close-wait"
        );
        let p = place("/proc", Some(4242), true);
        assert_eq!(
            localize_one("sysctl net.ipv4.tcp_fin_timeout", &p).unwrap(),
            "nsenter -t 4242 -n sysctl net.ipv4.tcp_fin_timeout"
        );
        assert_eq!(
            localize_one("sudo sockscope top --by process", &p).unwrap(),
            "sockscope --pid 4242 top --by process"
        );
        assert_eq!(
            localize_one("lsof -nP -p 4242 -a -iTCP", &p).unwrap(),
            "lsof -nP -p 4242 -a -iTCP"
        );
        assert_eq!(
            localize_one("Review the code.", &p).unwrap(),
            "Review the code."
        );
    }

    #[test]
    fn a_saved_copy_keeps_only_what_works_on_it() {
        let p = place("/tmp/copy", None, false);
        assert_eq!(localize_one("ss -tno state last-ack", &p), None);
        assert_eq!(localize_one("ls /proc/1/fd | wc -l", &p), None);
        assert_eq!(
            localize_one("sudo sockscope top --by peer", &p).unwrap(),
            "sudo sockscope --proc-root /tmp/copy top --by peer"
        );
    }

    #[test]
    fn a_copy_without_processes_gets_no_process_views() {
        let mut p = place("/tmp/copy", None, true);
        p.copy_without_processes = true;
        assert_eq!(
            localize_one(
                "sockscope top --by process --by peer --state close-wait",
                &p
            )
            .unwrap(),
            "sockscope --proc-root /tmp/copy top --by peer --state close-wait"
        );
        assert_eq!(
            localize_one("sockscope list --sort rx -p | head", &p).unwrap(),
            "sockscope --proc-root /tmp/copy list --sort rx | head"
        );
        // A copy that kept its processes keeps the views.
        p.copy_without_processes = false;
        assert_eq!(
            localize_one("sockscope list -p -o --state close-wait", &p).unwrap(),
            "sockscope --proc-root /tmp/copy list -p -o --state close-wait"
        );
    }

    #[test]
    fn root_gets_no_sudo_and_twice_is_once() {
        let p = place("/proc", Some(7), true);
        #[derive(Debug, serde::Serialize)]
        struct Nothing;
        impl crate::report::Facts for Nothing {
            fn title(&self) -> String {
                String::new()
            }
            fn summary(&self) -> String {
                String::new()
            }
        }
        let mut f = vec![
            Finding::new("x", crate::report::Severity::Warning, Nothing)
                .with_next_steps(vec!["sudo sockscope top".into(), "ss -tn".into()]),
        ];
        localize(&mut f, &p);
        let once = f[0].next_steps.clone();
        localize(&mut f, &p);
        assert_eq!(f[0].next_steps, once);
        assert_eq!(
            once,
            vec!["sockscope --pid 7 top", "nsenter -t 7 -n ss -tn"]
        );
    }
}
