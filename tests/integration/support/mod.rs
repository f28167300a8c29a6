//! Test harness shared by the integration modules.

pub mod dumps;
pub mod oracle;
pub mod space;
pub mod tree;

use std::path::{Path, PathBuf};

/// The repository root (for fixtures and samples).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("harvester-sriov").unwrap()
}

/// Run `apply --config CONFIG --sysfs SYSFS --target TARGET` (bounded in time).
pub fn apply(config: &Path, sysfs: &Path, target: &Path) -> std::process::Output {
    bin()
        .args(["apply", "--config"])
        .arg(config)
        .arg("--sysfs")
        .arg(sysfs)
        .arg("--target")
        .arg(target)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

/// The shipped sysfs snapshot (a QEMU q35 guest, Linux 6.1, igb with 2 VFs).
pub fn sample_sysfs() -> PathBuf {
    repo().join("samples/sysfs/qemu-igb-2vfs")
}

/// A writable copy of a directory tree (symlinks kept as symlinks).
pub fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp -a {} {}", from.display(), to.display());
}

/// Every file under `root`, relative, sorted, with its bytes.
pub fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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
