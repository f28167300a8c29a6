//! `hook`: the unattended installer entry point, driven as the real binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

use crate::support::repo;

fn sysfs() -> PathBuf {
    repo().join("samples/sysfs/qemu-igb-2vfs")
}

fn hook() -> Command {
    let mut c = Command::cargo_bin("harvester-sriov").unwrap();
    c.arg("hook").arg("--sysfs").arg(sysfs());
    c
}

/// Every file under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = vec![];
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

fn write_config(root: &Path, text: &str) -> PathBuf {
    let p = root.join("oem/harvester.config");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn no_sriov_section_exit_0_nothing_written() {
    let t = tempfile::tempdir().unwrap();
    write_config(t.path(), "install:\n  mode: create\n");
    hook()
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stdout(contains("no sriov section: nothing to do"));
    assert_eq!(tree(t.path()), ["oem/harvester.config"]);
}

#[test]
fn config_found_under_target_userdata_fallback() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("oem")).unwrap();
    std::fs::write(
        t.path().join("oem/userdata.yaml"),
        "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n",
    )
    .unwrap();
    hook()
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stdout(contains("oem/userdata.yaml: applying its sriov section"));
    assert!(t.path().join("oem/harvester-sriov/state.yaml").is_file());
}

#[test]
fn no_config_at_all_is_a_warning_unless_strict() {
    let t = tempfile::tempdir().unwrap();
    hook()
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stderr(contains("no install config found"));
    hook()
        .arg("--target")
        .arg(t.path())
        .arg("--strict")
        .assert()
        .code(2);
    assert!(tree(t.path()).is_empty());
}

const UNMATCHED_RULE: &str = "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n  devices:\n    - match: {address: \"0000:99:00.0\"}\n      num_vfs: 1\n";

#[test]
fn warning_exits_0_and_writes() {
    let t = tempfile::tempdir().unwrap();
    write_config(t.path(), UNMATCHED_RULE);
    hook()
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stderr(contains("warning: sriov.devices[0]"));
    assert!(t.path().join("oem/harvester-sriov/state.yaml").is_file());
}

#[test]
fn strict_turns_the_warning_into_exit_2_nothing_written() {
    let t = tempfile::tempdir().unwrap();
    write_config(t.path(), UNMATCHED_RULE);
    hook()
        .arg("--target")
        .arg(t.path())
        .arg("--strict")
        .assert()
        .code(2)
        .stderr(contains("matches no SR-IOV function"))
        .stderr(contains("nothing written"));
    assert_eq!(tree(t.path()), ["oem/harvester.config"]);
}

#[test]
fn no_usable_nic_is_a_warning() {
    let t = tempfile::tempdir().unwrap();
    // eth0 is the only SR-IOV NIC of the sample: as management NIC it is left alone.
    write_config(
        t.path(),
        "os:\n  hostname: n1\ninstall:\n  management_interface:\n    interfaces:\n      - name: eth0\nsriov:\n  enabled: true\n",
    );
    hook()
        .arg("--target")
        .arg(t.path())
        .assert()
        .code(0)
        .stderr(contains("no SR-IOV NIC on this node can be used"));
    hook()
        .arg("--target")
        .arg(t.path())
        .arg("--strict")
        .assert()
        .code(2);
}

#[test]
fn invalid_config_exit_2_names_the_key_target_unchanged() {
    let t = tempfile::tempdir().unwrap();
    let cfg = write_config(t.path(), "sriov:\n  enabled: true\n  num_vfs: eight\n");
    let before = tree(t.path());
    hook()
        .arg("--target")
        .arg(t.path())
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains("sriov.num_vfs"));
    assert_eq!(tree(t.path()), before);
}

#[test]
fn every_config_sample_applies_against_the_sample_sysfs() {
    let samples = repo().join("config-samples");
    let mut n = 0;
    for e in std::fs::read_dir(&samples).unwrap() {
        let cfg = e.unwrap().path();
        if cfg.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        n += 1;
        // A copy of the sysfs tree: the hook must never depend on writing to it.
        let sys = tempfile::tempdir().unwrap();
        copy_tree(&sysfs(), sys.path());
        let t = tempfile::tempdir().unwrap();
        let mut c = Command::cargo_bin("harvester-sriov").unwrap();
        c.arg("hook")
            .arg("--sysfs")
            .arg(sys.path())
            .arg("--target")
            .arg(t.path())
            .arg("--config")
            .arg(&cfg)
            .assert()
            .code(0);
        let files = tree(t.path());
        for want in [
            "oem/95_harvester-sriov.yaml",
            "oem/harvester-sriov/state.yaml",
            "oem/harvester-sriov/harvester-sriov",
            "etc/modprobe.d/harvester-sriov.conf",
            "etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml",
        ] {
            // netdevice VFs need no vfio-pci modprobe options, and pcidevices
            // (the default) binds VFs itself
            let text = std::fs::read_to_string(&cfg).unwrap();
            if want.contains("modprobe")
                && (text.contains("netdevice") || !text.contains("operator: sriov-network-operator"))
            {
                continue;
            }
            assert!(
                files.iter().any(|f| f == want),
                "{}: {want} missing in {files:?}",
                cfg.display()
            );
        }
        // the hand-off: a per-node (pcidevices) or per-policy (operator) file
        assert!(
            files
                .iter()
                .any(|f| f.starts_with("var/lib/rancher/rke2/server/manifests/harvester-sriov-")),
            "{}: no hand-off file in {files:?}",
            cfg.display()
        );
        let state = std::fs::read_to_string(t.path().join("oem/harvester-sriov/state.yaml")).unwrap();
        assert!(state.contains("address: \"0000:01:00.0\""), "{}", cfg.display());
    }
    assert!(n >= 5, "only {n} samples");
}

/// Copy a directory tree, keeping symlinks as symlinks (sysfs is made of them).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Every snippet of `installer-hooks/` is valid YAML of the shape its
/// consumer reads: yip stages, or a Harvester config fragment whose commands
/// are valid `sh` and whose `sriov` section this tool accepts.
#[test]
fn installer_hook_snippets_parse() {
    let dir = repo().join("installer-hooks");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().path();
        if f.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut commands: Vec<String> = vec![];
        if let Some(stages) = doc.get("stages") {
            let stages = stages.as_mapping().expect("stages: a mapping");
            for (_, steps) in stages {
                for step in steps.as_sequence().expect("a stage is a list") {
                    assert!(
                        step.get("name").and_then(|v| v.as_str()).is_some(),
                        "{}",
                        f.display()
                    );
                    for c in step["commands"].as_sequence().expect("commands: a list") {
                        commands.push(c.as_str().expect("a command is text").to_owned());
                    }
                }
            }
        }
        if let Some(list) = doc.get("os").and_then(|o| o.get("after_install_chroot_commands")) {
            for c in list.as_sequence().expect("after_install_chroot_commands: a list") {
                commands.push(c.as_str().expect("a command is text").to_owned());
            }
        }
        for c in &commands {
            let ok = std::process::Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(c)
                .status()
                .unwrap();
            assert!(ok.success(), "{}: not valid sh: {c}", f.display());
        }
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let has_sriov = doc.get("sriov").is_some();
        assert!(
            has_sriov || !commands.is_empty(),
            "{}: neither commands nor an sriov section",
            f.display()
        );
        if has_sriov {
            // What the hook in the snippet would do, against the sample tree.
            let t = tempfile::tempdir().unwrap();
            hook()
                .arg("--target")
                .arg(t.path())
                .arg("--config")
                .arg(&f)
                .assert()
                .code(0);
        }
    }
    assert!(n >= 4, "only {n} snippets");
}
