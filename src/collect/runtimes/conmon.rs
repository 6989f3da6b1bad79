//! conmon, the monitor Podman (and CRI-O) start beside each container: its command line names
//! the container (`-c ID`, `-n NAME`) and, in the cleanup command it runs at exit, the storage
//! Podman was started with (`--exit-command-arg --root --exit-command-arg DIR`). A Podman run
//! with `--root /srv/containers` keeps its `containers.json` there and nowhere storage.conf says.

use std::path::PathBuf;

use super::{Runtimes, daemons};

/// What a trusted conmon's command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conmon {
    pub id: String,
    pub name: Option<String>,
    /// The `--root` of the podman that started it, when it passed one.
    pub graphroot: Option<PathBuf>,
}

/// Every trusted conmon's, read once per run.
#[derive(Default)]
struct Seen(Option<Vec<Conmon>>);

/// The conmons running now, read once per run.
pub fn all(r: &mut Runtimes) -> Vec<Conmon> {
    if let Some(seen) = &r.memo::<Seen>().0 {
        return seen.clone();
    }
    let found: Vec<Conmon> = daemons::cmdlines(&r.proc_root, r.fs.trust(), "conmon")
        .iter()
        .filter_map(|c| parse(c))
        .collect();
    r.memo::<Seen>().0 = Some(found.clone());
    found
}

/// A conmon command line: `None` without a container id.
fn parse(cmdline: &[String]) -> Option<Conmon> {
    let mut id = None;
    let mut name = None;
    let mut exit_args = Vec::new();
    let mut args = cmdline.iter().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let slot = match flag {
            "-c" | "--cid" => &mut id,
            "-n" | "--name" => &mut name,
            "--exit-command-arg" => {
                if let Some(v) = inline.or_else(|| args.next().cloned()) {
                    exit_args.push(v);
                }
                continue;
            }
            _ => continue,
        };
        *slot = inline.or_else(|| args.next().cloned());
    }
    let id = id.filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_hexdigit()))?;
    Some(Conmon {
        id,
        name: name.filter(|n| !n.is_empty()),
        graphroot: root_of(&exit_args),
    })
}

/// `--root DIR` or `--root=DIR` among podman's own arguments (before its subcommand).
fn root_of(args: &[String]) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--root" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--root=") {
            return Some(PathBuf::from(v));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn podmans_root_comes_from_the_exit_command() {
        // As Podman 4 starts it (shortened).
        let c = parse(&line(
            "/usr/bin/conmon --api-version 1 -c 62473d36 -u 62473d36 -r /usr/bin/runc \
             -n privpod --exit-dir /run/libpod/exits --exit-command /usr/bin/podman \
             --exit-command-arg --root --exit-command-arg /srv/podtest \
             --exit-command-arg --runroot --exit-command-arg /run/podtest \
             --exit-command-arg container --exit-command-arg cleanup --exit-command-arg 62473d36",
        ))
        .unwrap();
        assert_eq!(c.id, "62473d36");
        assert_eq!(c.name.as_deref(), Some("privpod"));
        assert_eq!(c.graphroot, Some(PathBuf::from("/srv/podtest")));
    }

    #[test]
    fn other_spellings_and_what_is_not_a_container() {
        let c = parse(&line(
            "conmon --cid=abc --name=web --exit-command-arg=--root=/d",
        ))
        .unwrap();
        assert_eq!(
            (c.id.as_str(), c.name.as_deref(), c.graphroot),
            ("abc", Some("web"), Some(PathBuf::from("/d")))
        );
        // Without --root podman used its default storage: nothing to add.
        assert_eq!(parse(&line("conmon -c abc")).unwrap().graphroot, None);
        assert_eq!(parse(&line("conmon -n web")), None);
        assert_eq!(parse(&line("conmon -c ../../etc")), None);
        assert_eq!(parse(&line("conmon -c")), None);
    }
}
