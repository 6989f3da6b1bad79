//! `sockscope completions SHELL`: the completion script, generated from the same `Cli` as the
//! help (clap_complete); the files under `completions/` are this output, checked in.
//!
//! Bash gets a few values clap_complete cannot know, from a function that runs before its
//! own: `--netns` offers the names in `/run/netns` (under `--host-root` when given) and
//! `host`, and `man` the pages, not the options.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, MAN_PAGES};
use crate::error::Error;

pub fn run(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "sockscope", &mut script);
    out.write_all(&script)?;
    if shell == clap_complete::Shell::Bash {
        out.write_all(bash_values().as_bytes())?;
    }
    Ok(())
}

/// Runs before clap_complete's `_sockscope`, registered after it (the later `complete` wins).
fn bash_values() -> String {
    let commands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .chain(["help".to_string()])
        .collect();
    format!(
        r#"
# sockscope's own values, which clap_complete cannot know: the network namespaces for
# --netns, the pages for `man`. Everything else is _sockscope's.
_sockscope_values() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" cmd="" root="" i f
    if [[ ${{COMP_CWORD}} -gt 0 ]]; then
        prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            --host-root)
                root="${{COMP_WORDS[i+1]}}"
                # `--host-root=DIR`: bash splits at the `=`.
                if [[ "${{root}}" == "=" ]]; then
                    root="${{COMP_WORDS[i+2]}}"
                fi
                ;;
            {commands})
                if [[ -z "${{cmd}}" ]]; then
                    cmd="${{COMP_WORDS[i]}}"
                fi
                ;;
        esac
    done
    # `--netns=NAME`: bash makes the `=` a word of its own.
    local opt="${{prev}}"
    if [[ "${{cur}}" == "=" ]]; then
        cur=""
    elif [[ "${{prev}}" == "=" && ${{COMP_CWORD}} -gt 1 ]]; then
        opt="${{COMP_WORDS[COMP_CWORD-2]}}"
    fi
    if [[ "${{opt}}" == --netns ]]; then
        local names=(host)
        for f in "${{root%/}}"/run/netns/*; do
            if [[ -e "${{f}}" ]]; then
                names+=("${{f##*/}}")
            fi
        done
        COMPREPLY=($(compgen -W "${{names[*]}}" -- "${{cur}}"))
        return 0
    fi
    if [[ "${{cmd}}" == man && "${{prev}}" == man && "${{cur}}" != -* ]]; then
        COMPREPLY=($(compgen -W "{pages}" -- "${{cur}}"))
        return 0
    fi
    _sockscope "$@"
}}

if [[ "${{BASH_VERSINFO[0]}}" -eq 4 && "${{BASH_VERSINFO[1]}}" -ge 4 || "${{BASH_VERSINFO[0]}}" -gt 4 ]]; then
    complete -F _sockscope_values -o nosort -o bashdefault -o default sockscope
else
    complete -F _sockscope_values -o bashdefault -o default sockscope
fi
"#,
        commands = commands.join("|"),
        pages = MAN_PAGES.join(" "),
    )
}
