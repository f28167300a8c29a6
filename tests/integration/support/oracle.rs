//! Running the Go oracles (tests/oracles/<name>, built by `bash scripts/oracles.sh`
//! into target/oracles/<name>) on what the real binary left on a node.
//!
//! A node's files are read the way the node sees them after a boot: the files
//! under the target root, overlaid with the files the yip file(s) in
//! `/oem/*.yaml` materialise (`stages.<stage>[].files[]`, path and content), so
//! these tests hold whether the tool writes a file directly or through yip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{bin, repo};

pub(crate) const MANIFESTS: &str = "/var/lib/rancher/rke2/server/manifests/";
pub(crate) const RKE2_CONFIG_D: &str = "/etc/rancher/rke2/config.yaml.d/";

/// The built oracle `name`; a missing one fails the test (a skipped oracle
/// test would be a silent pass).
pub(crate) fn oracle(name: &str) -> PathBuf {
    let p = repo().join("target/oracles").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run bash scripts/oracles.sh (needs Go; see tests/oracles/{name}/README.md)",
        p.display()
    );
    p
}

/// Run an oracle; returns (exit code, stdout, stderr).
pub(crate) fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("running the oracle");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file the node has after a boot: absolute path -> bytes.
pub(crate) fn node_files(target: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (rel, bytes) in super::snapshot(target) {
        let s = rel.to_string_lossy().into_owned();
        if !s.ends_with('/') {
            out.insert(format!("/{s}"), bytes);
        }
    }
    let oem = target.join("oem");
    let mut yips: Vec<PathBuf> = std::fs::read_dir(&oem)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    yips.sort();
    for yip in yips {
        let ext = yip.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "yaml" | "yml") || !yip.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&yip).unwrap();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", yip.display()));
        let Some(stages) = doc.get("stages").and_then(|s| s.as_mapping()) else {
            continue;
        };
        for (_, steps) in stages {
            for step in steps.as_sequence().into_iter().flatten() {
                for f in step
                    .get("files")
                    .and_then(|f| f.as_sequence())
                    .into_iter()
                    .flatten()
                {
                    let path = f.get("path").and_then(|p| p.as_str()).unwrap_or_default();
                    let content = f.get("content").and_then(|c| c.as_str()).unwrap_or_default();
                    if !path.is_empty() {
                        out.insert(path.to_owned(), content.as_bytes().to_vec());
                    }
                }
            }
        }
    }
    out
}

/// The node's manifests-dir files: (file name, bytes).
pub(crate) fn manifests(target: &Path) -> Vec<(String, Vec<u8>)> {
    node_files(target)
        .into_iter()
        .filter_map(|(p, b)| {
            let name = p.strip_prefix(MANIFESTS)?;
            (!name.contains('/')).then(|| (name.to_owned(), b))
        })
        .collect()
}

/// The node's manifests written into `dir` when one of them holds an object
/// of `kind` (the hand-off the oracle judges); `None` otherwise.
pub(crate) fn manifests_with_kind(target: &Path, dir: &Path, kind: &str) -> Option<Vec<PathBuf>> {
    let files = write_manifests(target, dir);
    let needle = format!("kind: \"{kind}\"");
    files
        .iter()
        .any(|f| std::fs::read_to_string(f).unwrap().contains(&needle))
        .then_some(files)
}

/// Write the node's manifests into `dir` (created); returns their paths.
pub(crate) fn write_manifests(target: &Path, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    manifests(target)
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

/// The node labels its rke2 config gives it (`node-label` and `node-label+`
/// of every `config.yaml.d` file, as k3s merges them): `key=value` strings.
pub(crate) fn node_labels(target: &Path) -> Vec<String> {
    let mut out = vec![];
    for (p, bytes) in node_files(target) {
        if !p.starts_with(RKE2_CONFIG_D) {
            continue;
        }
        let doc: serde_yaml::Value =
            serde_yaml::from_slice(&bytes).unwrap_or_else(|e| panic!("{p}: not YAML: {e}"));
        for key in ["node-label", "node-label+"] {
            for l in doc.get(key).and_then(|v| v.as_sequence()).into_iter().flatten() {
                if let Some(s) = l.as_str() {
                    out.push(s.to_owned());
                }
            }
        }
    }
    out
}

/// The plan file `apply` left for `boot`.
pub(crate) fn state_file(target: &Path) -> PathBuf {
    let dir = target.join("oem/harvester-sriov");
    ["state.json", "state.yaml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no state file under {}", dir.display()))
}

/// Run the real `boot` on a fake sysfs (what happens before rke2 at every
/// boot); returns its output for failure messages.
pub(crate) fn boot(sysfs: &Path, target: &Path) -> String {
    let out = bin()
        .args(["boot", "--wait", "0", "--sysfs"])
        .arg(sysfs)
        .arg("--state")
        .arg(state_file(target))
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    format!(
        "boot exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The JSON lines an oracle printed.
pub(crate) fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("oracle printed non-JSON {l:?}: {e}")))
        .collect()
}

/// A writable copy of the shipped sysfs snapshot (samples/sysfs/qemu-igb-2vfs),
/// completed with what the snapshot did not record but the kernel has in
/// every `net/IF/`: the `device` link back to the function (ghw, which
/// pcidevices uses, needs it) and `mtu` (1500, the kernel's default; `boot`
/// sets the planned MTU there).
pub(crate) fn completed_sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sys");
    super::copy_tree(&super::sample_sysfs(), &root);
    let class_net = root.join("class/net");
    for e in std::fs::read_dir(&class_net).unwrap() {
        let link = e.unwrap().path();
        let target = std::fs::read_link(&link).unwrap();
        let net_if = class_net.join(&target);
        let function = net_if.parent().and_then(Path::parent).unwrap();
        if target.to_string_lossy().contains("devices/virtual/") {
            continue;
        }
        let addr = function.file_name().unwrap().to_string_lossy().into_owned();
        let _ = std::fs::remove_file(net_if.join(".gitkeep"));
        std::os::unix::fs::symlink(format!("../../../{addr}"), net_if.join("device")).unwrap();
        std::fs::write(net_if.join("mtu"), "1500\n").unwrap();
    }
    dir
}

/// The config samples (config-samples/*.yaml), sorted.
pub(crate) fn config_samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("config-samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no config-samples/*.yaml");
    v
}

/// `os.hostname` of an install config (the node name).
pub(crate) fn hostname(config: &Path) -> String {
    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    doc.get("os")
        .and_then(|o| o.get("hostname"))
        .and_then(|h| h.as_str())
        .unwrap_or_else(|| panic!("{}: no os.hostname", config.display()))
        .to_owned()
}

/// `apply` a config sample on a completed copy of the shipped snapshot, then
/// `boot`; returns (sysfs dir, target dir, log).
pub(crate) fn apply_sample(config: &Path) -> (tempfile::TempDir, PathBuf, tempfile::TempDir, String) {
    let sample = completed_sample();
    let sysfs = sample.path().join("sys");
    let target = tempfile::tempdir().unwrap();
    let out = super::apply(config, &sysfs, target.path());
    let log = format!(
        "== {}\n{}{}",
        config.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "apply failed:\n{log}");
    let booted = boot(&sysfs, target.path());
    (sample, sysfs, target, log + &booted)
}
