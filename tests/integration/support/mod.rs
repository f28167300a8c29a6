//! Test harness shared by the integration modules.

pub(crate) mod cases;
pub(crate) mod dumps;
pub(crate) mod hardware;
pub(crate) mod oracle;
pub(crate) mod pcap;
pub(crate) mod peer;
pub(crate) mod space;
pub(crate) mod tree;

use std::path::{Path, PathBuf};

/// The repository root (for fixtures and samples).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test.
pub(crate) fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("harvester-sriov").unwrap()
}

/// Run `apply --config CONFIG --sysfs SYSFS --target TARGET` (bounded in time).
pub(crate) fn apply(config: &Path, sysfs: &Path, target: &Path) -> std::process::Output {
    with_config(&["apply"], config, sysfs, target)
}

/// `plan --config CONFIG --sysfs SYSFS --target TARGET` on the real binary.
pub(crate) fn plan(config: &Path, sysfs: &Path, target: &Path) -> std::process::Output {
    with_config(&["plan"], config, sysfs, target)
}

/// `plan --format json` likewise.
pub(crate) fn plan_json(config: &Path, sysfs: &Path, target: &Path) -> std::process::Output {
    with_config(&["plan", "--format", "json"], config, sysfs, target)
}

fn with_config(command: &[&str], config: &Path, sysfs: &Path, target: &Path) -> std::process::Output {
    bin()
        .args(command)
        .arg("--config")
        .arg(config)
        .arg("--sysfs")
        .arg(sysfs)
        .arg("--target")
        .arg(target)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

/// What the yip file's `initramfs` stage does at boot, for the tests that
/// look at a whole node: write every `files[]` entry of
/// `TARGET/oem/95_harvester-sriov.yaml` (content through yip's template
/// expansion, which for our files only turns `{{"{{"}}` back into `{{`) with
/// its mode, and make the `systemctl enable` symlink. A stand-in; the real
/// yip runs in tests/oracles/yip. Returns the paths written.
pub(crate) fn materialise(target: &Path) -> Vec<PathBuf> {
    let yip = target.join("oem/95_harvester-sriov.yaml");
    let Ok(text) = std::fs::read_to_string(&yip) else {
        return vec![];
    };
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut written = vec![];
    for step in doc["stages"]["initramfs"].as_sequence().unwrap() {
        for f in step["files"].as_sequence().into_iter().flatten() {
            let rel = f["path"].as_str().unwrap().trim_start_matches('/');
            let path = target.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let content = f["content"].as_str().unwrap().replace("{{\"{{\"}}", "{{");
            std::fs::write(&path, content).unwrap();
            let mode = f["permissions"].as_u64().unwrap() as u32;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            written.push(PathBuf::from(rel));
        }
        for unit in step["systemctl"]["enable"].as_sequence().into_iter().flatten() {
            let unit = unit.as_str().unwrap();
            let wants = target.join("etc/systemd/system/multi-user.target.wants");
            std::fs::create_dir_all(&wants).unwrap();
            let link = wants.join(unit);
            if std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(format!("/etc/systemd/system/{unit}"), &link).unwrap();
            }
        }
    }
    written
}

/// The shipped sysfs snapshot (a QEMU q35 guest, Linux 6.1, igb with 2 VFs).
pub(crate) fn sample_sysfs() -> PathBuf {
    repo().join("samples/sysfs/qemu-igb-2vfs")
}

/// A writable copy of a directory tree (symlinks kept as symlinks).
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp -a {} {}", from.display(), to.display());
}

/// Every file under `root`, relative, sorted, with its bytes.
pub(crate) fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_owned();
            if meta.file_type().is_symlink() {
                out.push((
                    rel,
                    std::fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                ));
            } else if meta.is_dir() {
                out.push((rel.join(""), vec![]));
                walk(root, &p, out);
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = vec![];
    walk(root, root, &mut out);
    out.sort();
    out
}
