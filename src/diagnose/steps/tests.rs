//! Next steps localised for each place: --pid, saved copies, named and unnamed namespaces.

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

#[test]
fn a_copy_without_processes_gets_no_process_views() {
    let mut p = place("/tmp/copy", None, true);
    p.copy_without_processes = true;
    assert_eq!(
        one(
            "sockscope top --by process --by peer --state close-wait",
            &p
        )
        .unwrap(),
        "sockscope --proc-root /tmp/copy top --by peer --state close-wait"
    );
    assert_eq!(
        one("sockscope list --sort rx -p | head", &p).unwrap(),
        "sockscope --proc-root /tmp/copy list --sort rx | head"
    );
    // A copy that kept its processes keeps the views.
    p.copy_without_processes = false;
    assert_eq!(
        one("sockscope list -p -o --state close-wait", &p).unwrap(),
        "sockscope --proc-root /tmp/copy list -p -o --state close-wait"
    );
}
