//! Podman: `libpod-<id>.scope` (systemd driver) or `/libpod_parent/…/<id>` (cgroupfs), named
//! in containers-storage's `containers.json` (wherever its conmon says podman's `--root` was),
//! else by the name its conmon was given.

use super::{Form, Known, Runtime, Runtimes, conmon, storage};

pub static PODMAN: Runtime = Runtime {
    word: "podman",
    cgroups: &[Form::Unit("libpod-"), Form::ParentPrefix("libpod")],
    bare_ids: false,
    read,
};

fn read(r: &mut Runtimes, id: &str) -> Option<Known> {
    storage::container(r, id).or_else(|| {
        // containers.json unreadable (not root's, say): the name root's conmon was started with.
        let name = conmon::all(r).into_iter().find(|c| c.id == id)?.name?;
        Some(Known {
            name: Some(name),
            pod: None,
        })
    })
}
