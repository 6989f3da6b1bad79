//! containers-storage (Podman, CRI-O): `overlay-containers/containers.json` under the
//! `graphroot` of `/etc/containers/storage.conf`, the `--root` a running conmon's podman was
//! given, and `/var/lib/containers/storage`; streamed once per run, keeping each container's
//! id, first name and pod.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeSeed;

use super::fields::{Each, First, MAX_STATE, NAME, Text};
use super::{Known, Runtimes, conmon};

/// `storage.conf`, read whole.
const MAX_CONF: u64 = 1 << 20;

/// The `metadata` string of a container, itself JSON: at most this long.
const MAX_METADATA: usize = 64 << 10;

/// Every container containers-storage lists, by id; `None` until read.
#[derive(Default)]
struct Listed(Option<HashMap<String, Known>>);

/// One container of `containers.json`.
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    id: Text<NAME>,
    #[serde(default)]
    names: First<NAME>,
    #[serde(default)]
    metadata: Text<MAX_METADATA>,
}

/// The pod in an entry's `metadata` (CRI-O's).
#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "pod-name", default)]
    pod_name: Text<NAME>,
    #[serde(rename = "pod-id", default)]
    pod_id: Text<NAME>,
    #[serde(default)]
    namespace: Text<NAME>,
}

#[derive(Deserialize)]
struct Conf {
    storage: Option<StorageTable>,
}

#[derive(Deserialize)]
struct StorageTable {
    graphroot: Option<String>,
}

/// What containers-storage says of container `id`.
pub fn container(r: &mut Runtimes, id: &str) -> Option<Known> {
    if r.memo::<Listed>().0.is_none() {
        let all = list(r);
        r.memo::<Listed>().0 = Some(all);
    }
    r.memo::<Listed>().0.as_ref()?.get(id).cloned()
}

fn list(r: &mut Runtimes) -> HashMap<String, Known> {
    let mut all = HashMap::new();
    let mut roots = Vec::new();
    if let Ok(conf) =
        r.fs.read(Path::new("/etc/containers/storage.conf"), MAX_CONF)
    {
        roots.extend(graphroot(&String::from_utf8_lossy(&conf)).map(PathBuf::from));
    }
    roots.push(PathBuf::from("/var/lib/containers/storage"));
    for c in conmon::all(r) {
        if let Some(root) = c.graphroot.filter(|g| !roots.contains(g)) {
            roots.push(root);
        }
    }
    roots.dedup();
    for root in roots {
        let path = root.join("overlay-containers/containers.json");
        let Ok(file) = r.fs.open(&path, MAX_STATE) else {
            continue;
        };
        let reader = BufReader::with_capacity(64 << 10, file.take(MAX_STATE));
        let mut de = serde_json::Deserializer::from_reader(reader);
        // A file that breaks off keeps the containers read before the break.
        let _ = Each::new(|e: Entry| {
            if let Some(id) = e.id.0 {
                all.entry(id)
                    .or_insert_with(|| known(e.names.0, e.metadata.0));
            }
        })
        .deserialize(&mut de);
    }
    all
}

fn known(name: Option<String>, metadata: Option<String>) -> Known {
    let meta = metadata.and_then(|m| serde_json::from_str::<Metadata>(&m).ok());
    let pod = meta.and_then(|m| {
        let name = m.pod_name.0?;
        Some((m.namespace.0, Some(name), m.pod_id.0))
    });
    Known { name, pod }
}

/// `graphroot = "/data/containers"` under `[storage]` in storage.conf.
fn graphroot(text: &str) -> Option<String> {
    toml::from_str::<Conf>(text).ok()?.storage?.graphroot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphroot_is_read_from_storage_conf() {
        let conf = "[storage]\ndriver = \"overlay\"\ngraphroot = \"/data/containers\"\n";
        assert_eq!(graphroot(conf).as_deref(), Some("/data/containers"));
        assert_eq!(graphroot("not toml ["), None);
        assert_eq!(graphroot("[storage]\ndriver = \"overlay\"\n"), None);
    }

    #[test]
    fn a_pod_is_read_from_crio_metadata() {
        let k = known(
            Some("db".into()),
            Some(r#"{"pod-name":"api-7d9f","pod-id":"u","namespace":"shop","x":[1]}"#.into()),
        );
        assert_eq!(k.name.as_deref(), Some("db"));
        assert_eq!(
            k.pod,
            Some((
                Some("shop".into()),
                Some("api-7d9f".into()),
                Some("u".into())
            ))
        );
        assert_eq!(known(None, Some("{}".into())).pod, None);
    }
}
