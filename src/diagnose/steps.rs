//! Next steps that run where the operator is: inside the target's network namespace with
//! `--pid` or in a sweep, on a saved copy with `--proc-root`, without `sudo` when already
//! root. Pure: the place comes in, the findings' steps are rewritten, each command of a step
//! (`a | b; c`) on its own.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::report::{Culprit, Finding, NetnsKind, NetnsLabel};

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
    /// A namespace of a sweep other than the host's: the commands that read a namespace run
    /// inside it ([`Netns::enter`]), sockscope with `--netns`.
    pub netns: Option<Netns>,
}

/// A swept namespace, as a person on the host reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netns {
    /// Its name for `--netns`.
    pub name: String,
    /// Its iproute2 name (`/run/netns/NAME`), for `ip netns exec`.
    pub ip_name: Option<String>,
    /// Its processes: a finding's holder among them is entered through.
    pub members: Vec<u32>,
    /// The process that has been in it longest (never this one), for `nsenter -t`.
    pub steady: Option<u32>,
    /// A bind mount of it, for `nsenter --net=FILE` when it has neither name nor process.
    pub file: Option<PathBuf>,
}

impl Netns {
    /// The namespace `label` names, with its processes, the longest-lived of them and a bind
    /// mount of it; `None` for the host's, where commands run as they are.
    pub fn of(
        label: &NetnsLabel,
        members: Vec<u32>,
        steady: Option<u32>,
        file: Option<&Path>,
    ) -> Option<Netns> {
        (label.kind != NetnsKind::Host).then(|| Netns {
            name: label.name(),
            ip_name: label.names.first().cloned(),
            members,
            steady,
            file: file.map(Path::to_path_buf),
        })
    }

    /// How a command of `finding` enters the namespace: `ip netns exec NAME` for a named one;
    /// else `nsenter -t PID -n` through the finding's holder when it is in there (its first
    /// process culprit that is), or the longest-lived member; else through a bind mount.
    fn enter(&self, finding: Option<&Finding>) -> Option<String> {
        if let Some(name) = &self.ip_name {
            return Some(format!("ip netns exec {}", shell_word(name)));
        }
        let holder = finding.and_then(|f| {
            f.culprits.iter().find_map(|c| match c {
                Culprit::Process { pid, .. } if self.members.contains(pid) => Some(*pid),
                _ => None,
            })
        });
        if let Some(pid) = holder.or(self.steady) {
            return Some(format!("nsenter -t {pid} -n"));
        }
        self.file
            .as_ref()
            .map(|f| format!("nsenter --net={}", shell_word(&f.to_string_lossy())))
    }
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

    /// The same place, inside the swept namespace `netns` (`None`: the host's, which needs
    /// nothing more).
    pub fn in_namespace(&self, netns: Option<Netns>) -> Place {
        Place {
            netns,
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
const NAMESPACED: &[&str] = &["ss", "nstat", "sysctl", "nc", "conntrack"];
/// Commands that need a live system at all (besides the namespaced ones).
const LIVE_ONLY: &[&str] = &["lsof"];

/// The commands of a shell line, as byte ranges without their surrounding blanks: split at
/// `;`, `&&`, `||` and `|` outside quotes, up to a comment.
fn commands(line: &str) -> Vec<Range<usize>> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    let mut quote: Option<u8> = None;
    let mut start = 0;
    let mut i = 0;
    let push = |from: usize, to: usize, found: &mut Vec<Range<usize>>| {
        let text = &line[from..to];
        let lead = text.len() - text.trim_start().len();
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            found.push(from + lead..from + lead + trimmed.len());
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) => {
                push(start, i, &mut found);
                return found;
            }
            None if b == b';' || b == b'|' || (b == b'&' && bytes.get(i + 1) == Some(&b'&')) => {
                push(start, i, &mut found);
                let width = if b != b';' && bytes.get(i + 1) == Some(&b) {
                    2
                } else {
                    1
                };
                i += width;
                start = i;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    push(start, bytes.len(), &mut found);
    found
}

/// The command's first word, past a `sudo`.
fn program(command: &str) -> &str {
    let bare = command.strip_prefix("sudo ").unwrap_or(command);
    bare.split_whitespace().next().unwrap_or("")
}

/// One command rewritten for `place`; `None` when it cannot run there (a saved copy).
fn localize_command(command: &str, place: &Place, finding: Option<&Finding>) -> Option<String> {
    let sudo = if place.as_root { "" } else { "sudo " };
    let bare = command.strip_prefix("sudo ").unwrap_or(command);
    let word = program(command);
    let namespaced = NAMESPACED.contains(&word);
    if place.saved_copy.is_some()
        && (namespaced || LIVE_ONLY.contains(&word) || bare.starts_with("ls /proc"))
    {
        return None;
    }
    if namespaced {
        let enter = match (&place.netns, place.pid) {
            (Some(ns), _) => ns.enter(finding),
            (None, Some(pid)) => Some(format!("nsenter -t {pid} -n")),
            (None, None) => None,
        };
        if let Some(enter) = enter {
            return Some(format!("{sudo}{enter} {bare}"));
        }
    }
    let mut command = if place.as_root { bare } else { command }.to_string();
    if word == "sockscope" {
        if place.saved_copy.is_some() && place.copy_without_processes {
            command = without_processes(&command);
        }
        let mut options = String::new();
        let has = |option: &str| command.split_whitespace().any(|w| w == option);
        if let Some(dir) = &place.saved_copy
            && !has("--proc-root")
        {
            options.push_str(&format!(
                " --proc-root {}",
                shell_word(&dir.to_string_lossy())
            ));
        }
        if let Some(pid) = place.pid
            && !has("--pid")
        {
            options.push_str(&format!(" --pid {pid}"));
        }
        if let Some(ns) = &place.netns
            && !has("--netns")
        {
            options.push_str(&format!(" --netns {}", shell_word(&ns.name)));
        }
        let at = command.find("sockscope").unwrap_or(0) + "sockscope".len();
        command.insert_str(at, &options);
    }
    Some(command)
}

/// One step rewritten for `place`, command by command; `None` when a command of it cannot run
/// there. Prose is left as it is.
fn localize_one(step: &str, place: &Place, finding: Option<&Finding>) -> Option<String> {
    let mut out = String::with_capacity(step.len() + 32);
    let mut at = 0;
    for range in commands(step) {
        out.push_str(&step[at..range.start]);
        out.push_str(&localize_command(&step[range.clone()], place, finding)?);
        at = range.end;
    }
    out.push_str(&step[at..]);
    Some(out)
}

/// Rewrites every finding's next steps for `place`; says so when live-only commands were left
/// out. Applying it twice changes nothing more.
pub fn localize(findings: &mut [Finding], place: &Place) {
    for f in findings {
        let before = f.next_steps.len();
        let finding: &Finding = f;
        let mut steps: Vec<String> = finding
            .next_steps
            .iter()
            .filter_map(|s| localize_one(s, place, Some(finding)))
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
mod tests;
