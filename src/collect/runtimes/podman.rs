//! Podman: `libpod-<id>.scope` (systemd driver) or `/libpod_parent/…/<id>` (cgroupfs), named
//! in containers-storage's `containers.json`.

use super::{Form, Known, Runtime, Runtimes, storage};

pub static PODMAN: Runtime = Runtime {
    word: "podman",
    cgroups: &[Form::Unit("libpod-"), Form::ParentPrefix("libpod")],
    bare_ids: false,
    read,
};

fn read(r: &mut Runtimes, id: &str) -> Option<Known> {
    storage::container(r, id)
}
