//! containers-storage (Podman, CRI-O): `overlay-containers/containers.json` under the
//! `graphroot` of `/etc/containers/storage.conf`, else `/var/lib/containers/storage`; read
//! whole, once per run.

use std::collections::HashMap;

use serde_json::Value;

use super::{Known, Runtimes, read_small};

/// Every container containers-storage lists, by id; `None` until read.
#[derive(Default)]
struct Listed(Option<HashMap<String, Known>>);

/// What containers-storage says of container `id`.
pub fn container(r: &mut Runtimes, id: &str) -> Option<Known> {
    if r.memo::<Listed>().0.is_none() {
        let all = list(r);
        r.memo::<Listed>().0 = Some(all);
    }
    r.memo::<Listed>().0.as_ref()?.get(id).cloned()
}

fn list(r: &Runtimes) -> HashMap<String, Known> {
    let mut all = HashMap::new();
    let mut roots = Vec::new();
    if let Some(text) = read_small(&r.host("etc/containers/storage.conf")) {
        roots.extend(graphroot(&text).map(|g| r.host(&g)));
    }
    roots.push(r.host("var/lib/containers/storage"));
    roots.dedup();
    for root in roots {
        let path = root.join("overlay-containers/containers.json");
        let Some(text) = read_small(&path) else {
            continue;
        };
        let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for c in list {
            let Some(cid) = c["id"].as_str() else {
                continue;
            };
            let meta: Value = c["metadata"]
                .as_str()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or(Value::Null);
            let name = c["names"][0].as_str().map(str::to_string);
            let pod = meta["pod-name"].as_str().map(|pod| {
                (
                    meta["namespace"].as_str().map(str::to_string),
                    Some(pod.to_string()),
                    meta["pod-id"].as_str().map(str::to_string),
                )
            });
            all.entry(cid.to_string()).or_insert(Known { name, pod });
        }
    }
    all
}

/// `graphroot = "/data/containers"` under `[storage]` in storage.conf.
fn graphroot(text: &str) -> Option<String> {
    let v: toml::Value = toml::from_str(text).ok()?;
    v.get("storage")?
        .get("graphroot")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphroot_is_read_from_storage_conf() {
        let conf = "[storage]\ndriver = \"overlay\"\ngraphroot = \"/data/containers\"\n";
        assert_eq!(graphroot(conf).as_deref(), Some("/data/containers"));
        assert_eq!(graphroot("not toml ["), None);
    }
}
