//! OCI bundles (containerd's tasks, CRI-O's `userdata`): the container and pod names in the
//! `annotations` of `config.json`.

use std::path::Path;

use serde_json::Value;

use super::{Known, pod_from, read_small};

/// The names a bundle's `config.json` annotates.
pub fn annotations(path: &Path) -> Option<Known> {
    let v: Value = serde_json::from_str(&read_small(path)?).ok()?;
    let a = &v["annotations"];
    let pick = |keys: &[&str]| keys.iter().find_map(|k| a[*k].as_str()).map(str::to_string);
    Some(Known {
        name: pick(&[
            "io.kubernetes.cri.container-name",
            "io.kubernetes.container.name",
        ]),
        pod: pod_from(
            a,
            "io.kubernetes.cri.sandbox-namespace",
            "io.kubernetes.cri.sandbox-name",
            "io.kubernetes.cri.sandbox-uid",
        )
        .or_else(|| {
            pod_from(
                a,
                "io.kubernetes.pod.namespace",
                "io.kubernetes.pod.name",
                "io.kubernetes.pod.uid",
            )
        }),
    })
}
