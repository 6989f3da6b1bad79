//! OCI bundles (containerd's tasks, CRI-O's `userdata`): the container and pod names in the
//! `annotations` of `config.json`, the only field read.

use std::path::Path;

use serde::Deserialize;

use super::fields::{self, Kubernetes, MAX_STATE};
use super::{Known, Runtimes};

#[derive(Deserialize)]
struct Bundle {
    #[serde(default)]
    annotations: Option<Kubernetes>,
}

/// The names the bundle `config.json` at `path` (a path of the host) annotates.
pub fn annotations(r: &Runtimes, path: &Path) -> Option<Known> {
    let bundle: Bundle = fields::read_json(&r.fs, path, MAX_STATE)?;
    let a = bundle.annotations.unwrap_or_default();
    Some(Known {
        name: a.container(),
        pod: a.pod(),
    })
}
