//! The kubelet's log directories, `/var/log/pods/<namespace>_<pod>_<uid>`: a pod's name from
//! the uid its cgroup path carries, whichever runtime runs it. Only directories root made
//! count: their names are the data.

use std::collections::HashMap;
use std::path::Path;

use super::Runtimes;

/// pod uid → (namespace, name), listed once per run.
#[derive(Default)]
struct Pods(Option<HashMap<String, (String, String)>>);

/// The (namespace, name) of the pod with uid `uid`.
pub fn pod(r: &mut Runtimes, uid: &str) -> Option<(String, String)> {
    if r.memo::<Pods>().0.is_none() {
        let pods = list(r);
        r.memo::<Pods>().0 = Some(pods);
    }
    r.memo::<Pods>().0.as_ref()?.get(uid).cloned()
}

fn list(r: &Runtimes) -> HashMap<String, (String, String)> {
    let mut pods = HashMap::new();
    for dir in r.fs.subdirs(Path::new("/var/log/pods")).unwrap_or_default() {
        let name = dir.to_string_lossy();
        if let Some((rest, uid)) = name.rsplit_once('_')
            && let Some((ns, pod)) = rest.split_once('_')
        {
            pods.insert(uid.to_string(), (ns.to_string(), pod.to_string()));
        }
    }
    pods
}
