
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'sockscope' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'sockscope'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'sockscope' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow the kernel''s destroy events for DURATION (e.g. 5s) before collecting, so the rules that judge rates (failed connects, port exhaustion) can run. Any user may follow the namespaces it can enter; where the kernel refuses, said once and the snapshot runs at once. At most 5m')
            [CompletionResult]::new('--flow-buffer', '--flow-buffer', [CompletionResultType]::ParameterName, 'The kernel''s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('summary', 'summary', [CompletionResultType]::ParameterValue, 'Count TCP sockets by state and run the diagnostics (the default command)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'One row per socket, like `ss -tan`, optionally with the owning processes')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Count sockets per process, port, peer or uid, most first')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Alerting for cron, Nagios/Icinga and Prometheus: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'The live view: every state with its trend, the findings and who is behind them, refreshed in place (a record per refresh when not a terminal)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'A Prometheus exporter: /metrics collected on each scrape, with rates and stuck sockets remembered between scrapes')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to standard output')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print a man page (roff) to standard output: the main page, or a command''s')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sockscope;summary' {
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow the kernel''s destroy events for DURATION (e.g. 5s) before collecting, so the rules that judge rates (failed connects, port exhaustion) can run. Any user may follow the namespaces it can enter; where the kernel refuses, said once and the snapshot runs at once. At most 5m')
            [CompletionResult]::new('--flow-buffer', '--flow-buffer', [CompletionResultType]::ParameterName, 'The kernel''s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;list' {
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Row order. Queues sort largest first')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Show the processes holding each socket (pid, name). Other users'' processes need root or CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH')
            [CompletionResult]::new('--processes', '--processes', [CompletionResultType]::ParameterName, 'Show the processes holding each socket (pid, name). Other users'' processes need root or CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Show the pending timer (kind and time left, as `ss -o`) and the retransmit count')
            [CompletionResult]::new('--timers', '--timers', [CompletionResultType]::ParameterName, 'Show the pending timer (kind and time left, as `ss -o`) and the retransmit count')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;top' {
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Group by this key; repeat to nest (`--by process --by peer`). Default: process')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Show the N largest groups (0 = all)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show the N largest groups (0 = all)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;check' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: text]')
            [CompletionResult]::new('--warn', '--warn', [CompletionResultType]::ParameterName, 'Warning when a state''s count is outside RANGE (Nagios syntax: 10, 10:, ~:10, @10:20), e.g. --warn close-wait=100. Repeatable')
            [CompletionResult]::new('--crit', '--crit', [CompletionResultType]::ParameterName, 'Critical when a state''s count is outside RANGE, e.g. --crit close-wait=500. Repeatable')
            [CompletionResult]::new('--textfile', '--textfile', [CompletionResultType]::ParameterName, 'Also write the Prometheus text format to PATH, atomically and world-readable (for node_exporter''s textfile collector), whatever --format says')
            [CompletionResult]::new('--otlp-endpoint', '--otlp-endpoint', [CompletionResultType]::ParameterName, 'Also push the same series as OTLP/HTTP protobuf to URL (an OpenTelemetry collector''s http://HOST:4318; /v1/metrics is added to a URL without a path). A failed push is UNKNOWN')
            [CompletionResult]::new('--state-file', '--state-file', [CompletionResultType]::ParameterName, 'Remember this run in PATH (created if missing): enables rates, growth, sockets stuck across runs, and --renotify. Locked, and replaced atomically')
            [CompletionResult]::new('--renotify', '--renotify', [CompletionResultType]::ParameterName, 'With text output: do not print an unchanged problem again until this long has passed (e.g. 1h); print the return to OK once')
            [CompletionResult]::new('--stuck-after', '--stuck-after', [CompletionResultType]::ParameterName, 'A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck')
            [CompletionResult]::new('--max-unread', '--max-unread', [CompletionResultType]::ParameterName, 'With --all-netns: how many network namespaces may go unread before the status is UNKNOWN [default: 0 as root, no limit for other users]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'UNKNOWN, in the format asked for, when the check has no result within this long: before a monitoring system kills it as "plugin timed out". Seconds (10, as the monitoring plugins take -t) or a duration (9s, 500ms); 0: no limit')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'UNKNOWN, in the format asked for, when the check has no result within this long: before a monitoring system kills it as "plugin timed out". Seconds (10, as the monitoring plugins take -t) or a duration (9s, 500ms); 0: no limit')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow the kernel''s destroy events for DURATION (e.g. 5s) before collecting, so the rules that judge rates (failed connects, port exhaustion) can run. Any user may follow the namespaces it can enter; where the kernel refuses, said once and the snapshot runs at once. At most 5m')
            [CompletionResult]::new('--flow-buffer', '--flow-buffer', [CompletionResultType]::ParameterName, 'The kernel''s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;watch' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Seconds between refreshes (2, 0.5, 1s, 500ms), as watch(1) takes them')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Seconds between refreshes (2, 0.5, 1s, 500ms), as watch(1) takes them')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after N refreshes (the screen and the records alike)')
            [CompletionResult]::new('--stuck-after', '--stuck-after', [CompletionResultType]::ParameterName, 'A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck')
            [CompletionResult]::new('--flow-buffer', '--flow-buffer', [CompletionResultType]::ParameterName, 'The kernel''s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted. 4MiB holds about half a second of 10,000 events a second (both ends of 5,000 connections)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--all-states', '--all-states', [CompletionResultType]::ParameterName, 'Show the states at zero too (the `z` key toggles it)')
            [CompletionResult]::new('--no-flows', '--no-flows', [CompletionResultType]::ParameterName, 'Do not follow the kernel''s destroy events (closes, lifetimes, failed connects)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address and port to listen on')
            [CompletionResult]::new('--min-interval', '--min-interval', [CompletionResultType]::ParameterName, 'A scrape sooner than this after the last collection gets its result (HA Prometheus pairs scrape the same target); concurrent scrapes always share one collection')
            [CompletionResult]::new('--max-series', '--max-series', [CompletionResultType]::ParameterName, 'Values kept per breakdown (local ports); the rest are summed into an "other" series')
            [CompletionResult]::new('--web-config', '--web-config', [CompletionResultType]::ParameterName, 'TLS and basic auth, in the format Prometheus exporters share (exporter-toolkit''s web-config.yml: tls_server_config.cert_file/key_file, basic_auth_users with bcrypt)')
            [CompletionResult]::new('--read-timeout', '--read-timeout', [CompletionResultType]::ParameterName, 'Time a client has to send its request (and finish the TLS handshake)')
            [CompletionResult]::new('--write-timeout', '--write-timeout', [CompletionResultType]::ParameterName, 'Time a client has to take the response')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections served at once; more are answered 503 at once')
            [CompletionResult]::new('--stuck-after', '--stuck-after', [CompletionResultType]::ParameterName, 'A CLOSE_WAIT or held FIN_WAIT2 socket seen for at least this long counts as stuck')
            [CompletionResult]::new('--otlp-endpoint', '--otlp-endpoint', [CompletionResultType]::ParameterName, 'Also push the series /metrics serves as OTLP/HTTP protobuf to URL every --otlp-interval (an OpenTelemetry collector''s http://HOST:4318; /v1/metrics is added to a URL without a path). Failed pushes are logged on stderr')
            [CompletionResult]::new('--otlp-interval', '--otlp-interval', [CompletionResultType]::ParameterName, 'Time between OTLP pushes')
            [CompletionResult]::new('--flow-buffer', '--flow-buffer', [CompletionResultType]::ParameterName, 'The kernel''s receive buffer for the events, per namespace (e.g. 4MiB, 512KiB); events past a full buffer are lost, and counted. 4MiB holds about half a second of 10,000 events a second (both ends of 5,000 connections)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--by-process', '--by-process', [CompletionResultType]::ParameterName, 'Also break sockets down by process name (sockscope_process_sockets): walks every process''s fds on each collection, which costs about as much as `top --by process`')
            [CompletionResult]::new('--no-flows', '--no-flows', [CompletionResultType]::ParameterName, 'Do not follow the kernel''s destroy events (closes, lifetimes, failed connects)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;completions' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;man' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; check: text]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Thresholds, state ranges, per-port overrides and disabled rules (TOML). Without it, $XDG_CONFIG_HOME/sockscope/config.toml, then /etc/sockscope/config.toml, if present. A broken file is UNKNOWN for check, a warning (and the defaults) for the summary')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only sockets in this state or state group (repeatable)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Only sockets whose local address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Only sockets whose remote address is ADDR or in the network ADDR/PREFIX (repeatable)')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Read the network namespace of process PID (a container''s) via /proc/PID/net')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where sockets come from: netlink sock_diag (fast, as ss) or the /proc text tables. auto: netlink for the running system, /proc with --proc-root or --pid, or when netlink is unavailable (the reason is in JSON collection.source_reason)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'One network namespace: a container name or id prefix, POD_NAMESPACE/POD, a /run/netns name, `host`, a namespace file (/run/netns/NAME, /proc/PID/ns/net) or pid:N')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the host''s /proc, /run, /var/lib/docker, /var/lib/containers and /var/log/pods under DIR: sockscope in a container with the host''s root mounted at DIR (and hostPID)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as --format json')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With plain output, also print attribution notes on stderr (kept quiet for cron)')
            [CompletionResult]::new('--no-processes', '--no-processes', [CompletionResultType]::ParameterName, 'Do not look up which processes hold the sockets behind findings: faster, and quiet about permissions; findings then name ports and peers only')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Only IPv4 sockets')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Only IPv6 sockets, dual-stack ones included')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host (containers, pods, `ip netns`), each counted and diagnosed on its own and named after its container or pod, plus the host-wide total')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockscope;help' {
            [CompletionResult]::new('summary', 'summary', [CompletionResultType]::ParameterValue, 'Count TCP sockets by state and run the diagnostics (the default command)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'One row per socket, like `ss -tan`, optionally with the owning processes')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Count sockets per process, port, peer or uid, most first')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Alerting for cron, Nagios/Icinga and Prometheus: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'The live view: every state with its trend, the findings and who is behind them, refreshed in place (a record per refresh when not a terminal)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'A Prometheus exporter: /metrics collected on each scrape, with rates and stuck sockets remembered between scrapes')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to standard output')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print a man page (roff) to standard output: the main page, or a command''s')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sockscope;help;summary' {
            break
        }
        'sockscope;help;list' {
            break
        }
        'sockscope;help;top' {
            break
        }
        'sockscope;help;check' {
            break
        }
        'sockscope;help;watch' {
            break
        }
        'sockscope;help;serve' {
            break
        }
        'sockscope;help;completions' {
            break
        }
        'sockscope;help;man' {
            break
        }
        'sockscope;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
