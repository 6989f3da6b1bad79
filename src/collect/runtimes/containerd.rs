//! containerd under Kubernetes: `cri-containerd-<id>.scope`, named by the annotations of its
//! task bundle, `/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json`.

use std::fs;

use super::{Form, Known, Runtime, Runtimes, bundle};

pub static CONTAINERD: Runtime = Runtime {
    word: "containerd",
    cgroups: &[Form::Unit("cri-containerd-")],
    bare_ids: true,
    read,
};

fn read(r: &mut Runtimes, id: &str) -> Option<Known> {
    let tasks = r.host("run/containerd/io.containerd.runtime.v2.task");
    let namespaces = fs::read_dir(&tasks).ok()?;
    namespaces
        .flatten()
        .find_map(|ns| bundle::annotations(&ns.path().join(id).join("config.json")))
}
