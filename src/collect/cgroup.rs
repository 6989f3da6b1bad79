//! Which container a process is in, from its `/proc/PID/cgroup`: the path forms each runtime
//! of the registry writes under cgroup v1 and v2, with the systemd and cgroupfs drivers, and the
//! Kubernetes pod uid around them, and where that cgroup's directory is. Pure: a text in, an id
//! out.

use super::runtimes::{Form, REGISTRY, Runtime};

/// What a cgroup path says about its process.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The runtime the path names; `None` for a bare id, whose runtime the state files decide.
    pub runtime: Option<&'static Runtime>,
    /// The container id (64 hex digits).
    pub id: String,
    /// The Kubernetes pod uid, with dashes (`kubepods…pod<uid>…`).
    pub pod_uid: Option<String>,
    /// The cgroup that says so: its hierarchy's controllers (`pids`, `cpu,cpuacct`,
    /// `name=systemd`; empty on cgroup v2) and its path in that hierarchy.
    pub hierarchy: String,
    pub path: String,
}

impl Placement {
    /// Where the cgroup's directory can be, under the host's `/sys/fs/cgroup`: the unified
    /// hierarchy (`/sys/fs/cgroup`, or `unified` beside v1), or a v1 hierarchy by its
    /// controllers (`cpu,cpuacct`, then `cpu` and `cpuacct`; `name=systemd` is `systemd`).
    pub fn directories(&self) -> Vec<String> {
        let path = self.path.trim_start_matches('/');
        let mounts: Vec<String> = if self.hierarchy.is_empty() {
            vec![String::new(), "unified".into()]
        } else {
            let named = self.hierarchy.strip_prefix("name=");
            let mut m = vec![named.unwrap_or(&self.hierarchy).to_string()];
            if named.is_none() && self.hierarchy.contains(',') {
                m.extend(self.hierarchy.split(',').map(str::to_string));
            }
            m
        };
        mounts
            .iter()
            .map(|m| {
                let mount = if m.is_empty() {
                    String::new()
                } else {
                    format!("/{m}")
                };
                format!("/sys/fs/cgroup{mount}/{path}")
            })
            .collect()
    }
}

/// Reads a whole `/proc/PID/cgroup`: the v2 line (`0::/path`) or the v1 hierarchies, the first
/// path that names a container.
pub fn parse(text: &str) -> Option<Placement> {
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, hierarchy, path) = (fields.next()?, fields.next()?, fields.next()?);
        let mut placed = parse_path(path)?;
        placed.hierarchy = hierarchy.to_string();
        Some(placed)
    })
}

/// One cgroup path, e.g. `/kubepods.slice/kubepods-besteffort.slice/
/// kubepods-besteffort-pod0d4f….slice/cri-containerd-3a5c….scope`.
pub fn parse_path(path: &str) -> Option<Placement> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let pod_uid = parts.iter().find_map(|p| pod_uid(p));
    let placed = |runtime, id: &str| Placement {
        runtime,
        id: id.to_string(),
        pod_uid: pod_uid.clone(),
        hierarchy: String::new(),
        path: path.to_string(),
    };
    for (i, part) in parts.iter().enumerate().rev() {
        let unit = part.strip_suffix(".scope").unwrap_or(part);
        for runtime in REGISTRY {
            for form in runtime.cgroups {
                if let Form::Unit(prefix) = form
                    && let Some(id) = unit.strip_prefix(prefix)
                    && is_id(id)
                {
                    return Some(placed(Some(*runtime), id));
                }
            }
        }
        // cgroupfs drivers: `/docker/<id>`, `/kubepods/<qos>/pod<uid>/<id>`, `/libpod_parent/…`.
        if is_id(part) {
            let parent = i.checked_sub(1).map(|p| parts[p]).unwrap_or_default();
            let runtime = REGISTRY.iter().copied().find(|r| {
                r.cgroups.iter().any(|form| match form {
                    Form::Parent(name) => parent == *name,
                    Form::ParentPrefix(prefix) => parent.starts_with(prefix),
                    Form::Unit(_) => false,
                })
            });
            return Some(placed(runtime, part));
        }
    }
    None
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `pod0d4f…` (cgroupfs) or `kubepods-burstable-pod0d4f_…_….slice` (systemd, dashes as `_`).
fn pod_uid(part: &str) -> Option<String> {
    let unit = part.strip_suffix(".slice").unwrap_or(part);
    let at = unit.rfind("pod")?;
    if at > 0 && !unit[..at].ends_with('-') {
        return None;
    }
    let uid = unit[at + 3..].replace('_', "-");
    let ok = uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    ok.then_some(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3a5c1d7f9e2b4c6d8e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";
    const UID: &str = "0d4f2c3a-1b2c-4d5e-8f9a-0b1c2d3e4f5a";

    fn placed(text: &str) -> (Option<&'static str>, String, Option<String>) {
        let p = parse(text).expect(text);
        (p.runtime.map(|r| r.word), p.id, p.pod_uid)
    }

    #[test]
    fn docker_with_both_drivers_and_both_versions() {
        // cgroup v2, systemd driver (Debian 12 docker.io).
        let v2 = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(placed(&v2), (Some("docker"), ID.into(), None));
        // cgroup v1, cgroupfs driver.
        let v1 = format!("12:pids:/docker/{ID}\n1:name=systemd:/docker/{ID}\n");
        assert_eq!(placed(&v1), (Some("docker"), ID.into(), None));
    }

    #[test]
    fn podman_but_not_its_conmon() {
        let text = format!("0::/machine.slice/libpod-{ID}.scope/container\n");
        assert_eq!(placed(&text), (Some("podman"), ID.into(), None));
        let conmon = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert!(parse(&conmon).is_none());
        let cgroupfs = format!("5:pids:/libpod_parent/{ID}\n");
        assert_eq!(placed(&cgroupfs), (Some("podman"), ID.into(), None));
    }

    #[test]
    fn kubernetes_with_systemd_and_cgroupfs() {
        let systemd = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{ID}.scope\n",
            UID.replace('-', "_")
        );
        assert_eq!(
            placed(&systemd),
            (Some("containerd"), ID.into(), Some(UID.into()))
        );
        let crio = format!(
            "0::/kubepods.slice/kubepods-pod{}.slice/crio-{ID}.scope\n",
            UID.replace('-', "_")
        );
        assert_eq!(placed(&crio), (Some("crio"), ID.into(), Some(UID.into())));
        let cgroupfs = format!("4:memory:/kubepods/besteffort/pod{UID}/{ID}\n");
        assert_eq!(placed(&cgroupfs), (None, ID.into(), Some(UID.into())));
    }

    #[test]
    fn the_cgroup_directory_is_found_in_its_hierarchy() {
        let dirs = |text: &str| parse(text).unwrap().directories();
        assert_eq!(
            dirs(&format!("0::/system.slice/docker-{ID}.scope\n")),
            [
                format!("/sys/fs/cgroup/system.slice/docker-{ID}.scope"),
                format!("/sys/fs/cgroup/unified/system.slice/docker-{ID}.scope"),
            ]
        );
        assert_eq!(
            dirs(&format!("12:pids:/docker/{ID}\n")),
            [format!("/sys/fs/cgroup/pids/docker/{ID}")]
        );
        assert_eq!(
            dirs(&format!("3:cpu,cpuacct:/docker/{ID}\n")),
            [
                format!("/sys/fs/cgroup/cpu,cpuacct/docker/{ID}"),
                format!("/sys/fs/cgroup/cpu/docker/{ID}"),
                format!("/sys/fs/cgroup/cpuacct/docker/{ID}"),
            ]
        );
        assert_eq!(
            dirs(&format!("1:name=systemd:/docker/{ID}\n")),
            [format!("/sys/fs/cgroup/systemd/docker/{ID}")]
        );
    }

    #[test]
    fn host_processes_are_in_no_container() {
        for text in [
            "0::/init.scope\n",
            "0::/user.slice/user-1000.slice/session-3.scope\n",
            "0::/system.slice/docker.service\n",
            "garbage",
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
    }
}
