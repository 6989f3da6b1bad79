//! CRI-O: `crio-<id>.scope`, named by its bundle's annotations
//! (`…/overlay-containers/<id>/userdata/config.json`), else by containers-storage.

use std::path::Path;

use super::{Form, Known, Runtime, Runtimes, bundle, storage};

pub static CRIO: Runtime = Runtime {
    word: "crio",
    cgroups: &[Form::Unit("crio-")],
    bare_ids: true,
    read,
};

fn read(r: &mut Runtimes, id: &str) -> Option<Known> {
    ["/run/containers/storage", "/var/lib/containers/storage"]
        .iter()
        .find_map(|root| {
            let path = Path::new(root)
                .join("overlay-containers")
                .join(id)
                .join("userdata/config.json");
            bundle::annotations(r, &path)
        })
        .or_else(|| storage::container(r, id))
}
