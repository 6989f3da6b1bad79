# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sockscope_global_optspecs
    string join \n format= json v/verbose no-processes config= state= port= sport= dport= src= dst= 4/ipv4 6/ipv6 proc-root= pid= source= all-netns netns= host-root= follow= flow-buffer= h/help V/version
end

function __fish_sockscope_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sockscope_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sockscope_using_subcommand
    set -l cmd (__fish_sockscope_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sockscope -n "__fish_sockscope_needs_command" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_needs_command" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_needs_command" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_needs_command" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_needs_command" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_needs_command" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_needs_command" -l follow -d 'Follow the kernel\'s destroy events for DURATION (e.g. 5s) before collecting, so the rules that judge rates (failed connects, port exhaustion) can run. Any user may follow the namespaces it can enter; where the kernel refuses, said once and the snapshot runs at once. At most 5m' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l flow-buffer -d 'The kernel\'s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted' -r
complete -c sockscope -n "__fish_sockscope_needs_command" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_needs_command" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_needs_command" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_needs_command" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_needs_command" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_needs_command" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_needs_command" -s V -l version -d 'Print version'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "summary" -d 'Count TCP sockets by state and run the diagnostics (the default command)'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "list" -d 'One row per socket, like `ss -tan`, optionally with the owning processes'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "top" -d 'Count sockets per process, port, peer or uid, most first'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "check" -d 'Alerting for cron, Nagios/Icinga and Prometheus: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "watch" -d 'The live view: every state with its trend, the findings and who is behind them, refreshed in place (a record per refresh when not a terminal)'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "serve" -d 'A Prometheus exporter: /metrics collected on each scrape, with rates and stuck sockets remembered between scrapes'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "completions" -d 'Print a shell completion script to standard output'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "man" -d 'Print a man page (roff) to standard output: the main page, or a command\'s'
complete -c sockscope -n "__fish_sockscope_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l follow -d 'Follow the kernel\'s destroy events for DURATION (e.g. 5s) before collecting, so the rules that judge rates (failed connects, port exhaustion) can run. Any user may follow the namespaces it can enter; where the kernel refuses, said once and the snapshot runs at once. At most 5m' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l flow-buffer -d 'The kernel\'s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand summary" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l sort -d 'Row order. Queues sort largest first' -r -f -a "state\t'State (lifecycle order), then local, then peer address'
local\t'Local address and port'
peer\t'Peer address and port'
rx\t'Receive queue, largest first'
tx\t'Send queue, largest first (listeners, whose Send-Q is their backlog, last)'
none\t'As the kernel reports them; with --format plain, rows are written as they arrive, in constant memory'"
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -s p -l processes -d 'Show the processes holding each socket (pid, name). Other users\' processes need root or CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -s o -l timers -d 'Show the pending timer (kind and time left, as `ss -o`) and the retransmit count'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l by -d 'Group by this key; repeat to nest (`--by process --by peer`). Default: process' -r -f -a "process\t'The processes holding the socket (a shared socket counts for each holder)'
local-port\t'The local port; ephemeral ones (in ip_local_port_range, no listener) as one'
remote-port\t'The remote port (`*` for listeners)'
peer\t'The remote address (IPv4-mapped peers as plain IPv4; `*` for listeners)'
uid\t'The socket\'s user, named from /etc/passwd (who created it; needs no privilege)'
netns\t'The network namespace, by container, pod or netns name (implies --all-netns)'
container\t'The container or pod (implies --all-netns)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -s n -l limit -d 'Show the N largest groups (0 = all)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l format -d 'Output format [default: text]' -r -f -a "text\t'Nothing when OK, otherwise the status and each finding, for cron mail (the default)'
nagios\t'One line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
json\t'The summary\'s JSON document plus "status" and "exit_code"'
prometheus\t'The Prometheus text exposition format'"
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l warn -d 'Warning when a state\'s count is outside RANGE (Nagios syntax: 10, 10:, ~:10, @10:20), e.g. --warn close-wait=100. Repeatable' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l crit -d 'Critical when a state\'s count is outside RANGE, e.g. --crit close-wait=500. Repeatable' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l textfile -d 'Also write the Prometheus text format to PATH, atomically and world-readable (for node_exporter\'s textfile collector), whatever --format says' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l otlp-endpoint -d 'Also push the same series as OTLP/HTTP protobuf to URL (an OpenTelemetry collector\'s http://HOST:4318; /v1/metrics is added to a URL without a path). A failed push is UNKNOWN' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l state-file -d 'Remember this run in PATH (created if missing): enables rates, growth, sockets stuck across runs, and --renotify. Locked, and replaced atomically' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l renotify -d 'With text output: do not print an unchanged problem again until this long has passed (e.g. 1h); print the return to OK once' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l stuck-after -d 'A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l max-unread -d 'With --all-netns: how many network namespaces may go unread before the status is UNKNOWN [default: 0 as root, no limit for other users]' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -s t -l timeout -d 'UNKNOWN, in the format asked for, when the check has no result within this long: before a monitoring system kills it as "plugin timed out". Seconds (10, as the monitoring plugins take -t) or a duration (9s, 500ms); 0: no limit' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l follow -d 'Follow the kernel\'s destroy events for DURATION (e.g. 5s) before collecting, so the rules that judge rates (failed connects, port exhaustion) can run. Any user may follow the namespaces it can enter; where the kernel refuses, said once and the snapshot runs at once. At most 5m' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l flow-buffer -d 'The kernel\'s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -s n -l interval -d 'Seconds between refreshes (2, 0.5, 1s, 500ms), as watch(1) takes them' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l count -d 'Stop after N refreshes (the screen and the records alike)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l stuck-after -d 'A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l flow-buffer -d 'The kernel\'s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted. 4MiB holds about half a second of 10,000 events a second (both ends of 5,000 connections)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l all-states -d 'Show the states at zero too (the `z` key toggles it)'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l no-flows -d 'Do not follow the kernel\'s destroy events (closes, lifetimes, failed connects)'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l listen -d 'Address and port to listen on' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l min-interval -d 'A scrape sooner than this after the last collection gets its result (HA Prometheus pairs scrape the same target); concurrent scrapes always share one collection' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l max-series -d 'Values kept per breakdown (local ports); the rest are summed into an "other" series' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l web-config -d 'TLS and basic auth, in the format Prometheus exporters share (exporter-toolkit\'s web-config.yml: tls_server_config.cert_file/key_file, basic_auth_users with bcrypt)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l read-timeout -d 'Time a client has to send its request (and finish the TLS handshake)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l write-timeout -d 'Time a client has to take the response' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l max-connections -d 'Connections served at once; more are answered 503 at once' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l stuck-after -d 'A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l otlp-endpoint -d 'Also push the series /metrics serves as OTLP/HTTP protobuf to URL every --otlp-interval (an OpenTelemetry collector\'s http://HOST:4318; /v1/metrics is added to a URL without a path). Failed pushes are logged on stderr' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l otlp-interval -d 'Time between OTLP pushes' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l flow-buffer -d 'The kernel\'s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted. 4MiB holds about half a second of 10,000 events a second (both ends of 5,000 connections)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l by-process -d 'Also break sockets down by process name (sockscope_process_sockets): walks every process\'s fds on each collection, which costs about as much as `top --by process`'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l no-flows -d 'Do not follow the kernel\'s destroy events (closes, lifetimes, failed connects)'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l format -d 'Output format [default: table; check: text]' -r -f -a "table\t'For people: the summary\'s state table, list\'s rows, top\'s groups (the default)'
json\t'A versioned JSON document for scripts (schema_version 1)'
plain\t'Whitespace-separated fields for scripts: the summary prints `STATE COUNT` lines exactly like the netstat | awk one-liner; list one socket and top one group per line'
text\t'check: nothing when OK, otherwise the status and each finding, for cron mail (check\'s default)'
nagios\t'check: one line `SOCKSCOPE STATUS - summary | perfdata`, then details (Nagios, Icinga)'
prometheus\t'check: the Prometheus text exposition format'
screen\t'watch: the full-screen live view (watch\'s default on a terminal; piped, watch prints a plain record per refresh)'"
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l config -d 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l state -d 'Only sockets in this state or state group (repeatable)' -r -f -a "established\t''
syn-sent\t''
syn-recv\t''
fin-wait-1\t''
fin-wait-2\t''
time-wait\t''
closed\t''
close-wait\t''
last-ack\t''
listening\t''
closing\t''
all\t'Every state'
connected\t'Every state but listening and closed'
synchronized\t'Connected states except syn-sent'
bucket\t'States kept as mini-sockets: syn-recv and time-wait'
big\t'Every state but syn-recv and time-wait'"
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l port -d 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l sport -d 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l dport -d 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l src -d 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l dst -d 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l proc-root -d 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l pid -d 'Read the network namespace of process PID (a container\'s) via /proc/PID/net' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l source -d 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)' -r -f -a "auto\t''
netlink\t''
proc\t''"
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l netns -d 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N' -r
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l host-root -d 'Read the host\'s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host\'s root mounted at DIR (and hostPID)' -r -F
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l json -d 'Same as --format json'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -s v -l verbose -d 'With plain output, also print attribution notes on stderr (kept quiet for cron)'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l no-processes -d 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -s 4 -l ipv4 -d 'Only IPv4 sockets'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -s 6 -l ipv6 -d 'Only IPv6 sockets, dual-stack ones included'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -l all-netns -d 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total'
complete -c sockscope -n "__fish_sockscope_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "summary" -d 'Count TCP sockets by state and run the diagnostics (the default command)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "list" -d 'One row per socket, like `ss -tan`, optionally with the owning processes'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "top" -d 'Count sockets per process, port, peer or uid, most first'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "check" -d 'Alerting for cron, Nagios/Icinga and Prometheus: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "watch" -d 'The live view: every state with its trend, the findings and who is behind them, refreshed in place (a record per refresh when not a terminal)'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "serve" -d 'A Prometheus exporter: /metrics collected on each scrape, with rates and stuck sockets remembered between scrapes'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "completions" -d 'Print a shell completion script to standard output'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "man" -d 'Print a man page (roff) to standard output: the main page, or a command\'s'
complete -c sockscope -n "__fish_sockscope_using_subcommand help; and not __fish_seen_subcommand_from summary list top check watch serve completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
