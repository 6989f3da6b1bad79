//! containerd under Kubernetes: `cri-containerd-<id>.scope`, named by the annotations of its
//! task bundle, `/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json`.

use std::path::Path;

use super::{Form, Known, Runtime, Runtimes, bundle};

pub static CONTAINERD: Runtime = Runtime {
    word: "containerd",
    cgroups: &[Form::Unit("cri-containerd-")],
    bare_ids: true,
    read,
};

const TASKS: &str = "/run/containerd/io.containerd.runtime.v2.task";

fn read(r: &mut Runtimes, id: &str) -> Option<Known> {
    // containerd's namespaces (`k8s.io`, `moby`, `default`): the directories root made there.
    let namespaces = r.fs.subdirs(Path::new(TASKS)).ok()?;
    namespaces.iter().find_map(|ns| {
        let path = Path::new(TASKS).join(ns).join(id).join("config.json");
        bundle::annotations(r, &path)
    })
}
