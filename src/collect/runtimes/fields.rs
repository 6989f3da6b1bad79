//! The few fields sockscope takes from the runtimes' JSON, as typed values that keep nothing
//! else: every other field, however large, is skipped as it streams by (serde's `IgnoredAny`),
//! and a field of the wrong type or size is absent instead of failing its file.

use std::fmt;
use std::io::{BufReader, Read};
use std::marker::PhantomData;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::super::hostfs::HostFs;
use super::PodTriple;

/// Longest name kept: a container, pod or namespace name (Kubernetes allows 253), a pod uid.
pub const NAME: usize = 256;

/// A JSON state file (a `config.v2.json`, a bundle's `config.json`) larger than this is not a
/// container's: it is not read. Streamed, a file this size costs a read buffer, not its size.
pub const MAX_STATE: u64 = 16 << 20;

/// Streams the JSON file at `path` (a path of the host) into `T`, at most `limit` bytes; `None`
/// if it cannot be opened as a trusted regular file or is not a `T`.
pub fn read_json<T: DeserializeOwned>(fs: &HostFs, path: &Path, limit: u64) -> Option<T> {
    let file = fs.open(path, limit).ok()?;
    let reader = BufReader::with_capacity(64 << 10, file.take(limit));
    serde_json::from_reader(reader).ok()
}

/// A string of at most `N` bytes; anything else (a number, a longer string, an object) reads
/// as absent, without being kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<const N: usize>(pub Option<String>);

impl<'de, const N: usize> Deserialize<'de> for Text<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor::<N>)
    }
}

struct TextVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for TextVisitor<N> {
    type Value = Text<N>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<N>, E> {
        Ok(Text((s.len() <= N).then(|| s.to_string())))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text<N>, E> {
        Ok(Text(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text<N>, E> {
        Ok(Text(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<N>, E> {
        Ok(Text(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text<N>, E> {
        Ok(Text(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Text<N>, E> {
        Ok(Text(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Text<N>, E> {
        Ok(Text(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text<N>, D::Error> {
        Text::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<N>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<N>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

/// The first element of an array, when it is a [`Text`]; the rest are skipped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct First<const N: usize>(pub Option<String>);

impl<'de, const N: usize> Deserialize<'de> for First<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FirstVisitor<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for FirstVisitor<N> {
            type Value = First<N>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First<N>, A::Error> {
                let first = seq.next_element::<Text<N>>()?.and_then(|t| t.0);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }

            fn visit_unit<E: de::Error>(self) -> Result<First<N>, E> {
                Ok(First(None))
            }
        }
        d.deserialize_any(FirstVisitor::<N>)
    }
}

/// The Kubernetes keys of a container's labels (Docker) or annotations (OCI bundles).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Kubernetes {
    #[serde(rename = "io.kubernetes.pod.namespace")]
    pod_namespace: Text<NAME>,
    #[serde(rename = "io.kubernetes.pod.name")]
    pod_name: Text<NAME>,
    #[serde(rename = "io.kubernetes.pod.uid")]
    pod_uid: Text<NAME>,
    #[serde(rename = "io.kubernetes.cri.sandbox-namespace")]
    sandbox_namespace: Text<NAME>,
    #[serde(rename = "io.kubernetes.cri.sandbox-name")]
    sandbox_name: Text<NAME>,
    #[serde(rename = "io.kubernetes.cri.sandbox-uid")]
    sandbox_uid: Text<NAME>,
    #[serde(rename = "io.kubernetes.cri.container-name")]
    cri_container_name: Text<NAME>,
    #[serde(rename = "io.kubernetes.container.name")]
    container_name: Text<NAME>,
}

impl Kubernetes {
    /// The container's own name (containerd's CRI annotation, else the kubelet's label).
    pub fn container(&self) -> Option<String> {
        self.cri_container_name
            .0
            .clone()
            .or_else(|| self.container_name.0.clone())
    }

    /// The pod, from the CRI sandbox annotations, else the kubelet's pod labels.
    pub fn pod(&self) -> Option<PodTriple> {
        let triple = |ns: &Text<NAME>, name: &Text<NAME>, uid: &Text<NAME>| {
            (name.0.is_some() || uid.0.is_some())
                .then(|| (ns.0.clone(), name.0.clone(), uid.0.clone()))
        };
        triple(
            &self.sandbox_namespace,
            &self.sandbox_name,
            &self.sandbox_uid,
        )
        .or_else(|| triple(&self.pod_namespace, &self.pod_name, &self.pod_uid))
    }
}

/// Every element of a JSON array handed to `each` as it is read, none kept by the array.
pub struct Each<T, F>(F, PhantomData<T>);

impl<T, F> Each<T, F> {
    pub fn new(each: F) -> Self {
        Each(each, PhantomData)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> de::DeserializeSeed<'de> for Each<T, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for Each<T, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            (self.0)(item);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Sample {
        #[serde(rename = "Name")]
        name: Text<8>,
        names: First<8>,
    }

    #[test]
    fn only_short_strings_are_kept_and_everything_else_is_skipped() {
        let s: Sample = serde_json::from_str(
            r#"{"Junk": [0, {"a": [1, 2]}, "x"], "Name": "/web", "names": ["db", "other", 7]}"#,
        )
        .unwrap();
        assert_eq!(s.name.0.as_deref(), Some("/web"));
        assert_eq!(s.names.0.as_deref(), Some("db"));
        for other in [
            r#"5"#,
            r#"null"#,
            r#"{"a": 1}"#,
            r#"[1]"#,
            r#""much too long""#,
        ] {
            let s: Sample = serde_json::from_str(&format!(r#"{{"Name": {other}}}"#)).unwrap();
            assert_eq!(s.name.0, None, "{other}");
        }
    }

    #[test]
    fn pods_come_from_sandbox_annotations_then_pod_labels() {
        let k: Kubernetes = serde_json::from_str(
            r#"{"io.kubernetes.pod.namespace": "a", "io.kubernetes.pod.name": "b",
                "io.kubernetes.cri.sandbox-name": "c", "io.kubernetes.container.name": "d"}"#,
        )
        .unwrap();
        assert_eq!(k.pod(), Some((None, Some("c".into()), None)));
        assert_eq!(k.container().as_deref(), Some("d"));
        let k: Kubernetes = serde_json::from_str(r#"{"io.kubernetes.pod.uid": "u"}"#).unwrap();
        assert_eq!(k.pod(), Some((None, None, Some("u".into()))));
        assert_eq!(Kubernetes::default().pod(), None);
    }

    #[test]
    fn arrays_are_handed_on_element_by_element() {
        let mut seen = Vec::new();
        let mut de = serde_json::Deserializer::from_str(r#"[{"Name": "/a"}, {"Name": 3}, {}]"#);
        de::DeserializeSeed::deserialize(Each::new(|s: Sample| seen.push(s.name.0)), &mut de)
            .unwrap();
        assert_eq!(seen, [Some("/a".to_string()), None, None]);
    }
}
