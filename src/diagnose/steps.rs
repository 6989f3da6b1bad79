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
mod tests {
    use super::*;
    use crate::report::{Facts, Severity};

    fn place(root: &str, pid: Option<u32>, as_root: bool) -> Place {
        Place::new(Path::new(root), false, pid, as_root)
    }

    fn one(step: &str, place: &Place) -> Option<String> {
        localize_one(step, place, None)
    }

    #[derive(Debug, serde::Serialize)]
    struct Nothing;
    impl Facts for Nothing {
        fn title(&self) -> String {
            String::new()
        }
        fn summary(&self) -> String {
            String::new()
        }
    }

    /// A finding whose sockets `holders` hold, with these steps.
    fn finding(holders: &[u32], steps: &[&str]) -> Finding {
        Finding::new("x", Severity::Warning, Nothing)
            .with_next_steps(steps.iter().map(|s| s.to_string()).collect())
            .with_culprits(
                holders
                    .iter()
                    .map(|&pid| Culprit::Process {
                        pid,
                        comm: "java".into(),
                        count: 30,
                        fd_count: 40,
                        nofile_soft: None,
                    })
                    .collect(),
            )
    }

    fn label(names: &[&str], kind: NetnsKind) -> NetnsLabel {
        NetnsLabel {
            inode: 4026532301,
            kind,
            container: None,
            pod: None,
            names: names.iter().map(|n| n.to_string()).collect(),
            sample: Some((77, "sockscope".into())),
        }
    }

    /// The steps of `f` once localised at `place`.
    fn steps(f: Finding, place: &Place) -> Vec<String> {
        let mut all = [f];
        localize(&mut all, place);
        let [f] = all;
        f.next_steps
    }

    #[test]
    fn with_pid_namespace_commands_run_inside_it() {
        let p = place("/proc", Some(4242), false);
        assert_eq!(
            one("ss -tnp state close-wait", &p).unwrap(),
            "sudo nsenter -t 4242 -n ss -tnp state close-wait"
        );
        let p = place("/proc", Some(4242), true);
        assert_eq!(
            one("sysctl net.ipv4.tcp_fin_timeout", &p).unwrap(),
            "nsenter -t 4242 -n sysctl net.ipv4.tcp_fin_timeout"
        );
        assert_eq!(
            one("sudo sockscope top --by process", &p).unwrap(),
            "sockscope --pid 4242 top --by process"
        );
        assert_eq!(
            one("lsof -nP -p 4242 -a -iTCP", &p).unwrap(),
            "lsof -nP -p 4242 -a -iTCP"
        );
        assert_eq!(one("Review the code.", &p).unwrap(), "Review the code.");
    }

    #[test]
    fn a_saved_copy_keeps_only_what_works_on_it() {
        let p = place("/tmp/copy", None, false);
        assert_eq!(one("ss -tno state last-ack", &p), None);
        assert_eq!(one("ls /proc/1/fd | wc -l", &p), None);
        assert_eq!(
            one(
                "ls /proc/1/fd | wc -l; grep 'open files' /proc/1/limits",
                &p
            ),
            None
        );
        assert_eq!(
            one("sudo sockscope top --by peer", &p).unwrap(),
            "sudo sockscope --proc-root /tmp/copy top --by peer"
        );
    }

    #[test]
    fn root_gets_no_sudo_and_twice_is_once() {
        let p = place("/proc", Some(7), true);
        let mut f = vec![finding(&[], &["sudo sockscope top", "ss -tn"])];
        localize(&mut f, &p);
        let once = f[0].next_steps.clone();
        localize(&mut f, &p);
        assert_eq!(f[0].next_steps, once);
        assert_eq!(
            once,
            vec!["sockscope --pid 7 top", "nsenter -t 7 -n ss -tn"]
        );
    }

    #[test]
    fn a_named_namespace_is_entered_with_ip_netns_exec_for_every_namespaced_command() {
        let ns = Netns::of(
            &label(&["blue"], NetnsKind::Named),
            vec![77, 900],
            Some(77),
            None,
        );
        let p = place("/proc", None, false).in_namespace(ns);
        let f = finding(
            &[900],
            &[
                "ss -tnp state close-wait '( sport = :8080 )'",
                "nstat -az TcpExtListenOverflows TcpExtListenDrops",
                "sysctl net.ipv4.ip_local_port_range net.ipv4.tcp_tw_reuse   # tcp_tw_reuse=1 lets…",
                "sudo conntrack -S",
                "nc -vz 10.0.0.5 5432",
                "lsof -nP -p 900 -a -iTCP -sTCP:CLOSE_WAIT",
                "sudo sockscope top --by process --by peer --state close-wait",
                "Review where the application closes connections.",
            ],
        );
        assert_eq!(
            steps(f.clone(), &p),
            [
                "sudo ip netns exec blue ss -tnp state close-wait '( sport = :8080 )'",
                "sudo ip netns exec blue nstat -az TcpExtListenOverflows TcpExtListenDrops",
                "sudo ip netns exec blue sysctl net.ipv4.ip_local_port_range net.ipv4.tcp_tw_reuse   # tcp_tw_reuse=1 lets…",
                "sudo ip netns exec blue conntrack -S",
                "sudo ip netns exec blue nc -vz 10.0.0.5 5432",
                "lsof -nP -p 900 -a -iTCP -sTCP:CLOSE_WAIT",
                "sudo sockscope --netns blue top --by process --by peer --state close-wait",
                "Review where the application closes connections.",
            ]
        );
        // As root: no sudo anywhere.
        let mut root = p.clone();
        root.as_root = true;
        assert!(steps(f, &root).iter().all(|s| !s.contains("sudo")));
    }

    #[test]
    fn an_unnamed_namespace_is_entered_through_the_holder_when_it_is_a_member() {
        let ns = Netns::of(
            &label(&[], NetnsKind::Container("docker")),
            vec![77, 900],
            Some(77),
            None,
        );
        let p = place("/proc", None, true).in_namespace(ns);
        let ss = "ss -tnp state close-wait";
        assert_eq!(
            steps(finding(&[900], &[ss]), &p),
            [format!("nsenter -t 900 -n {ss}")]
        );
        // A holder outside the namespace (it was handed the socket, or made it from a thread
        // that entered the namespace): the longest-lived member instead.
        assert_eq!(
            steps(finding(&[5, 900], &[ss]), &p),
            [format!("nsenter -t 900 -n {ss}")]
        );
        assert_eq!(
            steps(finding(&[5], &[ss]), &p),
            [format!("nsenter -t 77 -n {ss}")]
        );
        assert_eq!(
            steps(finding(&[], &[ss]), &p),
            [format!("nsenter -t 77 -n {ss}")]
        );
        // No process at all: through a bind mount of it.
        let ns = Netns::of(
            &label(&[], NetnsKind::Unknown),
            Vec::new(),
            None,
            Some(Path::new("/run/docker/netns/abc 1")),
        );
        let p = place("/proc", None, true).in_namespace(ns);
        assert_eq!(
            steps(finding(&[], &[ss]), &p),
            [format!("nsenter --net='/run/docker/netns/abc 1' {ss}")]
        );
    }

    #[test]
    fn the_host_of_a_sweep_needs_nothing() {
        assert_eq!(
            Netns::of(&label(&[], NetnsKind::Host), vec![1], Some(1), None),
            None
        );
    }

    #[test]
    fn each_command_of_a_step_is_localised_and_comments_are_left_alone() {
        let ns = Netns::of(&label(&["blue"], NetnsKind::Named), vec![], None, None);
        let p = place("/proc", None, true).in_namespace(ns);
        assert_eq!(
            one(
                "sockscope list --sort rx -p | head; sockscope list --sort tx -p | head",
                &p
            )
            .unwrap(),
            "sockscope --netns blue list --sort rx -p | head; sockscope --netns blue list --sort tx -p | head"
        );
        assert_eq!(
            one(
                "sockscope   # which listener or destination is behind it",
                &p
            )
            .unwrap(),
            "sockscope --netns blue   # which listener or destination is behind it"
        );
        assert_eq!(
            one(
                "ss -tn state syn-recv '( sport = :80 )' | awk '{print $5}' | sort | uniq -c",
                &p
            )
            .unwrap(),
            "ip netns exec blue ss -tn state syn-recv '( sport = :80 )' | awk '{print $5}' | sort | uniq -c"
        );
        assert_eq!(
            one(
                "On the destination: sockscope (accept_queue_overflow) and its firewall.",
                &p
            )
            .unwrap(),
            "On the destination: sockscope (accept_queue_overflow) and its firewall."
        );
        let names = Netns::of(&label(&["it's"], NetnsKind::Named), vec![], None, None);
        let p = place("/proc", None, true).in_namespace(names);
        assert_eq!(
            one("nstat -az TcpExtTCPTimeWaitOverflow", &p).unwrap(),
            "ip netns exec 'it'\\''s' nstat -az TcpExtTCPTimeWaitOverflow"
        );
    }

    #[test]
    fn commands_split_outside_quotes_and_stop_at_comments() {
        let line = "a 'x; y' | b && c || d; e # f; g";
        let got: Vec<&str> = commands(line).into_iter().map(|r| &line[r]).collect();
        assert_eq!(got, ["a 'x; y'", "b", "c", "d", "e"]);
        assert_eq!(commands("   ").len(), 0);
        let redirect = "ss -tn 2>&1";
        let got: Vec<&str> = commands(redirect)
            .into_iter()
            .map(|r| &redirect[r])
            .collect();
        assert_eq!(got, ["ss -tn 2>&1"]);
    }
}
