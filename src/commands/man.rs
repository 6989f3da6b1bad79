//! `sockscope man [COMMAND]`: complete man pages, one per command plus the main page, rendered
//! from the same clap definition as `--help` (clap_mangen), with the sections clap cannot know:
//! exit status, files, environment, examples and see also.

use std::io::{self, Write};

use clap::CommandFactory;

use crate::cli::{Cli, MAN_PAGES as PAGES};
use crate::error::Error;

/// Writes the page of `command` (the main page for `None`), in ASCII: whatever else the help
/// texts hold (`…`) as groff's `\[uXXXX]`, which man-db, groff and mandoc all read, where a raw
/// character warns without preconv.
pub fn run(command: Option<&str>, out: &mut dyn Write) -> Result<(), Error> {
    let mut page = Vec::new();
    render(command, &mut page)?;
    let text = String::from_utf8_lossy(&page);
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            ascii.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out.write_all(ascii.as_bytes())?;
    Ok(())
}

fn render(command: Option<&str>, out: &mut dyn Write) -> Result<(), Error> {
    let root = Cli::command();
    let (cmd, name) = match command {
        None => (root, "sockscope".to_string()),
        Some(sub) => {
            let Some(found) = root
                .get_subcommands()
                .find(|c| c.get_name() == sub && PAGES.contains(&sub))
            else {
                // Only the pages of the commands this build has (`serve` is a feature).
                let pages: Vec<&str> = PAGES
                    .iter()
                    .copied()
                    .filter(|p| root.get_subcommands().any(|c| c.get_name() == *p))
                    .collect();
                return Err(Error::Usage(format!(
                    "no man page for '{sub}'; pages: {}",
                    pages.join(", ")
                )));
            };
            // Global options belong on every page: build the subcommand as clap parses it.
            let mut built = Cli::command();
            built.build();
            let full = built
                .find_subcommand(sub)
                .cloned()
                .unwrap_or_else(|| found.clone());
            let name = match sub {
                "summary" => "sockscope-summary",
                "list" => "sockscope-list",
                "top" => "sockscope-top",
                "watch" => "sockscope-watch",
                "serve" => "sockscope-serve",
                _ => "sockscope-check",
            };
            (
                full.name(name).version(env!("CARGO_PKG_VERSION")),
                name.to_string(),
            )
        }
    };
    let man = clap_mangen::Man::new(cmd.clone()).title(name.to_uppercase());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    if command.is_none() {
        man.render_subcommands_section(out)?;
    }
    extra(command, out)?;
    man.render_version_section(out)?;
    Ok(())
}

fn section(out: &mut dyn Write, title: &str, paragraphs: &[&str]) -> io::Result<()> {
    writeln!(out, ".SH \"{title}\"")?;
    for p in paragraphs {
        writeln!(out, ".PP")?;
        writeln!(out, "{}", roff_escape(p))?;
    }
    Ok(())
}

/// Example commands, each with what it does. A command is a line to paste: not filled, not
/// hyphenated; the text under it is set ragged-right, unhyphenated, as the rest of the page
/// after it (SEE ALSO names pages).
fn examples(out: &mut dyn Write, items: &[(&str, &str)]) -> io::Result<()> {
    writeln!(out, ".SH EXAMPLES")?;
    writeln!(out, ".nh")?;
    writeln!(out, ".ad l")?;
    for (command, what) in items {
        writeln!(out, ".PP")?;
        writeln!(out, ".nf")?;
        writeln!(out, "\\fB{}\\fR", roff_escape(command))?;
        writeln!(out, ".fi")?;
        writeln!(out, ".RS 4")?;
        writeln!(out, "{}", roff_escape(what))?;
        writeln!(out, ".RE")?;
    }
    Ok(())
}

/// Backslashes and leading dots or quotes would be read as roff requests.
fn roff_escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn extra(command: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let check = command == Some("check");
    if check {
        section(
            out,
            "EXIT STATUS",
            &[
                "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugins rules). UNKNOWN is anything that stops sockscope from measuring or reporting: bad arguments, unreadable kernel data, a state file it cannot lock, read or write, an output it cannot write, no result within -t/--timeout (10 s by default). The lookup of the processes behind the findings stops at three quarters of the timeout and says how many processes it did not look at; the check then reports what it found.",
                "With --all-netns, the namespaces that could not be read are named in every format. More of them than --max-unread allows is UNKNOWN; the default limit is 0 when running as root (root can read every namespace), and there is none for other users (who cannot enter other users' namespaces, by design). A problem found in the namespaces that were read is still WARNING or CRITICAL.",
            ],
        )?;
    } else {
        section(
            out,
            "EXIT STATUS",
            &[
                "0 on success, 2 on an error (bad arguments, unreadable kernel data). A closed pipe (sockscope | head) exits 0 quietly. sockscope check has its own codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            ],
        )?;
    }
    section(
        out,
        "FILES",
        &[
            "/proc/net/tcp, /proc/net/tcp6: the socket tables (with --source proc, --proc-root or --pid); otherwise sockets come from netlink sock_diag.",
            "/proc/net/sockstat, /proc/net/netstat, /proc/net/snmp, /proc/sys/net: the kernel context the diagnostics compare against.",
            "/proc/PID/fd: read to name the processes behind findings (list -p, top --by process).",
            "$XDG_CONFIG_HOME/sockscope/config.toml (default ~/.config/sockscope/config.toml), then /etc/sockscope/config.toml: thresholds, state ranges, per-port overrides and disabled rules, read by the summary and check unless --config names another.",
            "The check --state-file PATH and its PATH.lock: written by check only, mode 0600, replaced atomically, never through a symbolic link. The --textfile PATH: mode 0644 whatever the umask (node_exporter runs as another user and must read it), replaced atomically.",
        ],
    )?;
    section(
        out,
        "ENVIRONMENT",
        &[
            "NO_COLOR: when set to a non-empty value, no colour is used.",
            "XDG_CONFIG_HOME, HOME: where the configuration file is looked for.",
            "COLUMNS: the width to wrap findings to; by default the terminal's, and no wrapping when the output is not a terminal.",
        ],
    )?;
    let items: &[(&str, &str)] = match command {
        None | Some("summary") => &[
            (
                "sockscope",
                "The state table and the findings, most severe first.",
            ),
            (
                "sockscope --format plain",
                "STATE COUNT lines, as the netstat | awk one-liner prints them.",
            ),
            (
                "sockscope --state close-wait --port 8080 --json",
                "Only CLOSE_WAIT sockets on port 8080, as JSON.",
            ),
        ],
        Some("list") => &[
            (
                "sockscope list -p -o --state close-wait",
                "Every CLOSE_WAIT socket with its process, timer and retransmits.",
            ),
            (
                "sockscope list --sort rx",
                "Sockets with the most unread data first.",
            ),
        ],
        Some("serve") => &[
            (
                "sockscope serve",
                "Serve /metrics on 127.0.0.1:10399, collecting on each scrape.",
            ),
            (
                "sockscope serve --listen 0.0.0.0:10399 --web-config /etc/sockscope/web.yml",
                "Serve every interface, with TLS and basic auth from an exporter-toolkit web config.",
            ),
        ],
        Some("watch") => &[
            (
                "sockscope watch -n 1 --port 8080",
                "The live view every second, only sockets on port 8080.",
            ),
            (
                "sockscope watch --format plain --count 60 | tee watch.log",
                "One timestamped STATE=COUNT record per refresh for two minutes (the default interval is 2 s), for a log.",
            ),
        ],
        Some("top") => &[
            (
                "sockscope top --by process --by peer --state close-wait",
                "Which program holds the CLOSE_WAIT sockets, toward which peers.",
            ),
            (
                "sockscope top --by local-port -n 5",
                "The five busiest local ports.",
            ),
        ],
        _ => &[
            (
                "sockscope check --warn close-wait=100 --crit close-wait=500",
                "Exit 1 above 100 CLOSE_WAIT sockets, 2 above 500; print nothing when all is well.",
            ),
            (
                "sockscope check --format nagios -t 9 --state-file /var/lib/sockscope/state.json",
                "A Nagios/Icinga plugin line with perfdata; rates and stuck sockets across runs; UNKNOWN after 9 s, before check_nrpe's default 10 s timeout.",
            ),
            (
                "sockscope check --textfile /var/lib/prometheus/node-exporter/sockscope.prom",
                "Also write the Prometheus text format for node_exporter's textfile collector.",
            ),
            (
                "sockscope check --all-netns --format nagios --max-unread 2",
                "Every network namespace; UNKNOWN when more than two could not be read, each named in a NOTE.",
            ),
        ],
    };
    examples(out, items)?;
    let see_also: Vec<String> = std::iter::once("sockscope".to_string())
        .chain(PAGES.iter().map(|p| format!("sockscope-{p}")))
        .filter(|p| match command {
            None => p != "sockscope",
            Some(c) => *p != format!("sockscope-{c}"),
        })
        .map(|p| format!("{p}(1)"))
        .chain(["ss(8)".to_string(), "netstat(8)".to_string()])
        .collect();
    section(out, "SEE ALSO", &[&see_also.join(", ")])
}
