
use builtin;
use str;

set edit:completion:arg-completer[sockscope] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'sockscope'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'sockscope'= {
            cand --format 'Output format'
            cand --config 'Thresholds and disabled rules (TOML), as `check` reads them. Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is a warning here, and the defaults apply'
            cand --state 'Only sockets in this state or state group (repeatable)'
            cand --port 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)'
            cand --sport 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)'
            cand --dport 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)'
            cand --src 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --dst 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --proc-root 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)'
            cand --pid 'Read the network namespace of process PID (a container''s) via /proc/PID/net'
            cand --source 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)'
            cand --netns 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N'
            cand --host-root 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)'
            cand --json 'Same as --format json'
            cand --no-processes 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
            cand -4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand --ipv4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand -6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --ipv6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --all-netns 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand summary 'Count TCP sockets by state (the default command)'
            cand list 'One row per socket, like `ss -tan`, optionally with the owning processes'
            cand top 'Count sockets per process, port, peer or uid, most first'
            cand check 'Alerting for cron, Nagios/Icinga and Prometheus: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
            cand completions 'Print a shell completion script to standard output'
            cand man 'Print the man page (roff) to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sockscope;summary'= {
            cand --format 'Output format'
            cand --config 'Thresholds and disabled rules (TOML), as `check` reads them. Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is a warning here, and the defaults apply'
            cand --state 'Only sockets in this state or state group (repeatable)'
            cand --port 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)'
            cand --sport 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)'
            cand --dport 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)'
            cand --src 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --dst 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --proc-root 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)'
            cand --pid 'Read the network namespace of process PID (a container''s) via /proc/PID/net'
            cand --source 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)'
            cand --netns 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N'
            cand --host-root 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)'
            cand --json 'Same as --format json'
            cand --no-processes 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
            cand -4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand --ipv4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand -6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --ipv6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --all-netns 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sockscope;list'= {
            cand --format 'Output format'
            cand --sort 'Row order. Queues sort largest first'
            cand --state 'Only sockets in this state or state group (repeatable)'
            cand --port 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)'
            cand --sport 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)'
            cand --dport 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)'
            cand --src 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --dst 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --proc-root 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)'
            cand --pid 'Read the network namespace of process PID (a container''s) via /proc/PID/net'
            cand --source 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)'
            cand --netns 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N'
            cand --host-root 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)'
            cand --json 'Same as --format json'
            cand -p 'Show the processes holding each socket (pid, name). Other users'' processes need root or CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH'
            cand --processes 'Show the processes holding each socket (pid, name). Other users'' processes need root or CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH'
            cand -o 'Show the pending timer (kind and time left, as `ss -o`) and the retransmit count'
            cand --timers 'Show the pending timer (kind and time left, as `ss -o`) and the retransmit count'
            cand -4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand --ipv4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand -6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --ipv6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --all-netns 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sockscope;top'= {
            cand --format 'Output format'
            cand --by 'Group by this key; repeat to nest (`--by process --by peer`). Default: process'
            cand -n 'Show the N largest groups (0 = all)'
            cand --limit 'Show the N largest groups (0 = all)'
            cand --state 'Only sockets in this state or state group (repeatable)'
            cand --port 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)'
            cand --sport 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)'
            cand --dport 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)'
            cand --src 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --dst 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --proc-root 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)'
            cand --pid 'Read the network namespace of process PID (a container''s) via /proc/PID/net'
            cand --source 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)'
            cand --netns 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N'
            cand --host-root 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)'
            cand --json 'Same as --format json'
            cand -4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand --ipv4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand -6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --ipv6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --all-netns 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sockscope;check'= {
            cand --format 'Output format'
            cand --warn 'Warning when a state''s count is outside RANGE (Nagios syntax: 10, 10:, ~:10, @10:20), e.g. --warn close-wait=100. Repeatable'
            cand --crit 'Critical when a state''s count is outside RANGE, e.g. --crit close-wait=500. Repeatable'
            cand --textfile 'Also write the Prometheus text format to PATH, atomically (for node_exporter''s textfile collector), whatever --format says'
            cand --config 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present'
            cand --state-file 'Remember this run in PATH (created if missing): enables rates, growth, sockets stuck across runs, and --renotify. Locked, and replaced atomically'
            cand --renotify 'With text output: do not print an unchanged problem again until this long has passed (e.g. 1h); print the return to OK once'
            cand --stuck-after 'A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck'
            cand --state 'Only sockets in this state or state group (repeatable)'
            cand --port 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)'
            cand --sport 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)'
            cand --dport 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)'
            cand --src 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --dst 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)'
            cand --proc-root 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)'
            cand --pid 'Read the network namespace of process PID (a container''s) via /proc/PID/net'
            cand --source 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)'
            cand --netns 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N'
            cand --host-root 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)'
            cand --no-processes 'Do not look up the processes behind findings'
            cand -4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand --ipv4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand -6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --ipv6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --all-netns 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sockscope;completions'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sockscope;man'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sockscope;help'= {
            cand summary 'Count TCP sockets by state (the default command)'
            cand list 'One row per socket, like `ss -tan`, optionally with the owning processes'
            cand top 'Count sockets per process, port, peer or uid, most first'
            cand check 'Alerting for cron, Nagios/Icinga and Prometheus: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
            cand completions 'Print a shell completion script to standard output'
            cand man 'Print the man page (roff) to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sockscope;help;summary'= {
        }
        &'sockscope;help;list'= {
        }
        &'sockscope;help;top'= {
        }
        &'sockscope;help;check'= {
        }
        &'sockscope;help;completions'= {
        }
        &'sockscope;help;man'= {
        }
        &'sockscope;help;help'= {
        }
    ]
    $completions[$command]
}
