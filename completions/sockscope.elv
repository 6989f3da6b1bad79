
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
            cand --state 'Only sockets in this state or state group (repeatable)'
            cand --port 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)'
            cand --sport 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)'
            cand --dport 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)'
            cand --proc-root 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)'
            cand --pid 'Read the network namespace of process PID (a container''s) via /proc/PID/net'
            cand --json 'Same as --format json'
            cand -4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand --ipv4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand -6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --ipv6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand summary 'Count TCP sockets by state (the default command)'
            cand completions 'Print a shell completion script to standard output'
            cand man 'Print the man page (roff) to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sockscope;summary'= {
            cand --format 'Output format'
            cand --state 'Only sockets in this state or state group (repeatable)'
            cand --port 'Only sockets whose local or remote port is PORT or in LO-HI (repeatable)'
            cand --sport 'Only sockets whose local (source) port is PORT or in LO-HI (repeatable)'
            cand --dport 'Only sockets whose remote (destination) port is PORT or in LO-HI (repeatable)'
            cand --proc-root 'Read a saved or fake /proc from DIR instead of the live one (DIR/net/tcp, DIR/net/tcp6)'
            cand --pid 'Read the network namespace of process PID (a container''s) via /proc/PID/net'
            cand --json 'Same as --format json'
            cand -4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand --ipv4 'Only IPv4 sockets (reads /proc/net/tcp only)'
            cand -6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
            cand --ipv6 'Only IPv6 sockets, dual-stack ones included (reads /proc/net/tcp6 only)'
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
            cand completions 'Print a shell completion script to standard output'
            cand man 'Print the man page (roff) to standard output'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sockscope;help;summary'= {
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
