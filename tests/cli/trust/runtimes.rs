//! The runtimes' state trusted only where root wrote it: files and directories other users
//! own or can write, links out of the host root, huge files, and a FIFO swapped in while it is
//! read.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::process::Command as Process;

use super::{Host, Reaped, cid, config_v2, first_line, give_to_nobody, names_in, python};
use crate::util::{have_tool, is_root, skip};

#[test]
fn files_and_directories_other_users_control_do_not_name_containers() {
    if !is_root() {
        return skip("needs root (files owned by another user)");
    }
    let host = Host::new();
    let name = |n: &str| Some(n.to_string());
    // (id byte, what is planted, the name expected)
    let cases: [(&str, &str, Option<String>); 7] = [
        ("a1", "nothing: root's own file", name("trusted")),
        ("a2", "config.v2.json owned by nobody", None),
        ("a3", "the container's directory owned by nobody", None),
        ("a4", "the container's directory world-writable", None),
        ("a5", "a link owned by nobody to root's file", None),
        (
            "a6",
            "the containers directory is root's, sticky",
            name("sticky"),
        ),
        ("a7", "config.v2.json world-writable", None),
    ];
    for (i, (byte, what, _)) in cases.iter().enumerate() {
        let id = cid(byte);
        host.docker(100 + i as u32, 4026532100 + i as u64, &id);
        let dir = format!("var/lib/docker/containers/{id}");
        let config = format!("{dir}/config.v2.json");
        match *what {
            "config.v2.json owned by nobody" => {
                give_to_nobody(&host.write(&config, config_v2("planted")));
            }
            "the container's directory owned by nobody" => {
                host.write(&config, config_v2("planted"));
                give_to_nobody(&host.path(&dir));
            }
            "config.v2.json world-writable" => {
                let path = host.write(&config, config_v2("planted"));
                fs::set_permissions(path, fs::Permissions::from_mode(0o666)).unwrap();
            }
            "the container's directory world-writable" => {
                host.write(&config, config_v2("planted"));
                fs::set_permissions(host.path(&dir), fs::Permissions::from_mode(0o777)).unwrap();
            }
            "a link owned by nobody to root's file" => {
                host.write("srv/real/config.v2.json", config_v2("planted"));
                fs::create_dir_all(host.path(&dir)).unwrap();
                symlink("/srv/real/config.v2.json", host.path(&config)).unwrap();
                give_to_nobody(&host.path(&config));
            }
            _ => {}
        }
    }
    host.write(
        &format!("var/lib/docker/containers/{}/config.v2.json", cid("a1")),
        config_v2("trusted"),
    );
    // A sticky world-writable directory (as /tmp) on the way is fine: only root can replace
    // root's entries in it.
    let sticky = host.path("sticky");
    fs::create_dir_all(sticky.join(format!("containers/{}", cid("a6")))).unwrap();
    fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
    host.write(
        &format!("sticky/containers/{}/config.v2.json", cid("a6")),
        config_v2("sticky"),
    );
    host.write("etc/docker/daemon.json", r#"{"data-root": "/sticky"}"#);

    // Podman's containers.json, the kubelet's pod directory, containerd's bundle and
    // storage.conf, each planted by nobody.
    host.process(
        200,
        4026532200,
        &format!("0::/machine.slice/libpod-{}.scope/container\n", cid("b1")),
    );
    let storage = host.write(
        "var/lib/containers/storage/overlay-containers/containers.json",
        format!(
            r#"[{{"id":"{}","names":["planted"],"metadata":"{{}}"}}]"#,
            cid("b1")
        ),
    );
    give_to_nobody(&storage);
    let uid = "11111111-2222-4333-8444-555555555555";
    host.process(
        201,
        4026532201,
        &format!(
            "0::/kubepods.slice/kubepods-pod{}.slice/crio-{}.scope\n",
            uid.replace('-', "_"),
            cid("b2")
        ),
    );
    let pod_dir = host.path(&format!("var/log/pods/kube-system_coredns-legit_{uid}"));
    fs::create_dir_all(&pod_dir).unwrap();
    give_to_nobody(&pod_dir);
    host.process(
        202,
        4026532202,
        &format!("0::/kubepods.slice/cri-containerd-{}.scope\n", cid("b3")),
    );
    let bundle = host.write(
        &format!(
            "run/containerd/io.containerd.runtime.v2.task/k8s.io/{}/config.json",
            cid("b3")
        ),
        r#"{"annotations":{"io.kubernetes.cri.sandbox-name":"coredns-legit","io.kubernetes.cri.sandbox-namespace":"kube-system"}}"#,
    );
    give_to_nobody(&bundle);
    host.process(
        203,
        4026532203,
        &format!("0::/machine.slice/libpod-{}.scope/container\n", cid("b4")),
    );
    give_to_nobody(&host.write(
        "etc/containers/storage.conf",
        "[storage]\ngraphroot = \"/planted\"\n",
    ));
    host.write(
        "planted/overlay-containers/containers.json",
        format!(
            r#"[{{"id":"{}","names":["planted"],"metadata":"{{}}"}}]"#,
            cid("b4")
        ),
    );

    let names = host.names();
    for (i, (_, what, expected)) in cases.iter().enumerate() {
        let got = &names[&(4026532100 + i as u64)];
        assert_eq!(&got.0, expected, "{what}: {names:?}");
    }
    for inode in 4026532200..=4026532203 {
        assert_eq!(names[&inode], (None, None), "{inode}: {names:?}");
    }
}

#[test]
fn absolute_links_in_the_host_root_resolve_inside_it() {
    let host = Host::new();
    let (inside, outside, dotdot) = (cid("c1"), cid("c2"), cid("c3"));
    host.docker(100, 4026532100, &inside);
    host.docker(101, 4026532101, &outside);
    host.docker(102, 4026532102, &dotdot);
    // The host's /var/lib/docker is a link to /mnt/docker: the host's, under the root.
    fs::create_dir_all(host.path("var/lib")).unwrap();
    symlink("/mnt/docker", host.path("var/lib/docker")).unwrap();
    host.write(
        &format!("mnt/docker/containers/{inside}/config.v2.json"),
        config_v2("inside"),
    );
    // A link to a file outside the root, which exists on this machine: not read.
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("config.v2.json");
    fs::write(&target, config_v2("outside")).unwrap();
    fs::create_dir_all(host.path(&format!("mnt/docker/containers/{outside}"))).unwrap();
    symlink(
        &target,
        host.path(&format!("mnt/docker/containers/{outside}/config.v2.json")),
    )
    .unwrap();
    // `..` never climbs above the root either.
    let up = "../".repeat(64) + target.strip_prefix("/").unwrap().to_str().unwrap();
    fs::create_dir_all(host.path(&format!("mnt/docker/containers/{dotdot}"))).unwrap();
    symlink(
        up,
        host.path(&format!("mnt/docker/containers/{dotdot}/config.v2.json")),
    )
    .unwrap();
    let names = host.names();
    assert_eq!(names[&4026532100].0.as_deref(), Some("inside"), "{names:?}");
    assert_eq!(names[&4026532101].0, None, "{names:?}");
    assert_eq!(names[&4026532102].0, None, "{names:?}");
}

/// What `sockscope ARGS` prints, and its peak resident set in KiB as its parent sees it
/// (`ru_maxrss` of the children of a python3 that only runs it); why not, where python3 is
/// missing.
fn with_peak_rss(args: &[&std::ffi::OsStr]) -> Result<(Vec<u8>, u64), String> {
    if !have_tool("python3", "python3") {
        return Err("python3 is not installed".into());
    }
    let out = Process::new("python3")
        .arg("-c")
        .arg(
            "import resource, subprocess, sys\n\
             r = subprocess.run(sys.argv[1:])\n\
             print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)",
        )
        .arg(assert_cmd::cargo::cargo_bin("sockscope"))
        .args(args)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = err.lines().last().unwrap_or("").split(' ').collect();
    assert_eq!(last.first(), Some(&"0"), "{err}");
    Ok((out.stdout, last[1].parse().unwrap()))
}

#[test]
fn huge_state_files_cost_no_memory() {
    let host = Host::new();
    let mib = 1 << 20;
    // The attack as reported: 16 MiB of `[0,0,0,…]`; the same array inside a real-looking
    // config; and a legitimate config of 9.8 MB, most of it `Env`.
    let zeros = |prefix: &str, suffix: &str, size: usize| {
        let n = (size - prefix.len() - suffix.len() - 1) / 2;
        let mut s = String::with_capacity(size);
        s.push_str(prefix);
        s.push('0');
        for _ in 0..n {
            s.push_str(",0");
        }
        s.push_str(suffix);
        s
    };
    let env: Vec<String> = (0..100_000)
        .map(|i| format!("VARIABLE_{i:06}={}", "x".repeat(80)))
        .collect();
    let legit = serde_json::json!({
        "ID": cid("d3"), "Name": "/legit",
        "Config": {"Env": env, "Labels": {"io.kubernetes.pod.namespace": "shop",
                                          "io.kubernetes.pod.name": "big-env"}},
    })
    .to_string();
    assert!(legit.len() > 9_800_000, "{}", legit.len());
    let files = [
        ("d1", zeros("[", "]", 16 * mib)),
        (
            "d2",
            zeros(r#"{"Name":"/hostile","Junk":["#, "]}", 16 * mib),
        ),
        ("d3", legit),
    ];
    for (i, (byte, text)) in files.iter().enumerate() {
        host.docker(100 + i as u32, 4026532100 + i as u64, &cid(byte));
        host.write(
            &format!("var/lib/docker/containers/{}/config.v2.json", cid(byte)),
            text,
        );
    }
    let args = [
        "--all-netns".as_ref(),
        "--json".as_ref(),
        "--no-processes".as_ref(),
        "--host-root".as_ref(),
        host.root().as_os_str(),
    ];
    let (names, peak) = match with_peak_rss(&args) {
        Ok((out, kib)) => (names_in(&serde_json::from_slice(&out).unwrap()), Some(kib)),
        Err(why) => {
            skip(format!("measuring the peak RSS: {why}"));
            (host.names(), None)
        }
    };
    assert_eq!(names[&4026532100], (None, None), "{names:?}");
    assert_eq!(
        names[&4026532101].0.as_deref(),
        Some("hostile"),
        "{names:?}"
    );
    assert_eq!(
        names[&4026532102],
        (Some("legit".into()), Some("shop/big-env".into())),
        "{names:?}"
    );
    // Without the three files the same sweep peaks at 13 MiB (debug build); reading them into
    // a generic JSON value cost 300 MB.
    if let Some(peak) = peak {
        println!("peak RSS with 41 MiB of config.v2.json: {peak} KiB");
        assert!(peak < 32 << 10, "peak RSS {peak} KiB");
    }
}

/// Swaps a FIFO in for every path, then the regular file back, forever, each swap atomic
/// (`os.replace`), as a user who owns the directory can: each path is a FIFO half the time.
const SWAPPER: &str = r#"
import os, sys
paths = sys.argv[1:]
for p in paths:
    os.link(p, p + ".regular")
print("swapping", flush=True)
while True:
    for p in paths:
        os.mkfifo(p + ".tmp")
        os.replace(p + ".tmp", p)
    for p in paths:
        os.link(p + ".regular", p + ".tmp")
        os.replace(p + ".tmp", p)
"#;

#[test]
fn a_fifo_swapped_in_and_out_of_a_state_file_never_hangs() {
    let host = Host::new();
    // 200 containers whose directories all link to one directory, where the swapper works:
    // each run opens the swapped file 200 times.
    let config = host.write("var/lib/docker/swap/config.v2.json", config_v2("swapped"));
    for i in 0..200u32 {
        let id = format!("{:064x}", 0xe000 + i);
        host.docker(1000 + i, 4026532100 + u64::from(i), &id);
        let dir = host.path(&format!("var/lib/docker/containers/{id}"));
        fs::create_dir_all(dir.parent().unwrap()).unwrap();
        symlink("../swap", dir).unwrap();
    }
    let Some(child) = python(SWAPPER, &[config.as_os_str()]) else {
        return skip("python3 is not installed");
    };
    let mut swapper = Reaped(child);
    assert_eq!(first_line(&mut swapper.0), "swapping");
    // A blocking open() that meets the FIFO waits for a writer that never comes: a hang,
    // which the sweep's timeout turns into a failure. It did in 2 runs out of 10.
    for _ in 0..20 {
        let names = host.names();
        assert!(
            names
                .values()
                .all(|(name, _)| name.as_deref().is_none_or(|n| n == "swapped")),
            "{names:?}"
        );
    }
}
