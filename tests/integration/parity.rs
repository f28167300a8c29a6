//! Issue 16: the tool reads Harvester's config as the installer does and
//! says only true things about what it will do.

use std::path::Path;

use crate::apply::{igb, mgmt};
use crate::support::tree::Tree;
use crate::support::{apply, plan};

/// eno1 (onboard, no SR-IOV, 52:54:00:00:00:01) and an igb ens1f0 (00:1b:21:2b:46:e0).
fn node() -> tempfile::TempDir {
    Tree::new()
        .function(mgmt())
        .function(igb("0000:01:00.0", "ens1f0", "00:1b:21:2b:46:e0").function())
        .build()
}

fn config(dir: &Path, interface: &str) -> std::path::PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "os:\n  hostname: node-1\ninstall:\n  mode: join\n  management_interface:\n    interfaces:\n      - {interface}\nsriov:\n  enabled: true\n  num_vfs: 2\n  operator: none\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_management_nic_that_is_not_on_the_node_is_warned_about_by_plan_and_apply() {
    let sysfs = node();
    let work = tempfile::tempdir().unwrap();
    let missing = [
        (
            "name: eth9",
            "install.management_interface.interfaces[0].name: this node has no interface \"eth9\": the installer stops with \"no interface matching name eth9 found\"",
        ),
        (
            "{name: eth9, hwAddr: \"52:54:00:00:00:01\"}",
            "install.management_interface.interfaces[0].name: this node has no interface \"eth9\": the installer configures the management network on this name",
        ),
        (
            "hwAddr: \"52:54:00:00:00:99\"",
            "install.management_interface.interfaces[0].hwAddr: no interface on this node has MAC 52:54:00:00:00:99: the installer stops",
        ),
    ];
    for (entry, warning) in missing {
        let cfg = config(work.path(), entry);
        let target = tempfile::tempdir().unwrap();
        for out in [
            plan(&cfg, sysfs.path(), target.path()),
            apply(&cfg, sysfs.path(), target.path()),
        ] {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{entry}: {stderr}");
            assert!(
                stderr.contains(&format!("warning: {}: {warning}", cfg.display())),
                "{entry}: {stderr}"
            );
        }
    }
    // present by name, by MAC in any case, with dashes: nothing said
    for entry in [
        "name: eno1",
        "hwAddr: \"52:54:00:00:00:01\"",
        "hwAddr: \"52-54-00-00-00-01\"",
        "HWADDR: \"52:54:00:00:00:01\"",
        "hwAddr: \"5254.0000.0001\"",
    ] {
        let cfg = config(work.path(), entry);
        let out = plan(&cfg, sysfs.path(), work.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{entry}: {stderr}");
        assert!(!stderr.contains("management_interface"), "{entry}: {stderr}");
    }
}

#[test]
fn a_management_mac_with_dashes_and_upper_case_keeps_its_nic_from_vfs() {
    let sysfs = node();
    let work = tempfile::tempdir().unwrap();
    let cfg = config(work.path(), "hwAddr: \"00-1B-21-2B-46-E0\"");
    let out = plan(&cfg, sysfs.path(), work.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("0000:01:00.0") && stdout.contains("management NIC"),
        "{stdout}"
    );
    assert!(!stderr.contains("management_interface"), "{stderr}");
}

fn mode_config(dir: &Path, operator: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{operator}.yaml"));
    std::fs::write(
        &path,
        format!(
            "os:\n  hostname: node-1\ninstall:\n  mode: create\n  management_interface:\n    interfaces:\n      - name: eno1\n  addons:\n    harvester_pcidevices_controller:\n      enabled: true\nsriov:\n  enabled: true\n  num_vfs: 2\n  device_type: netdevice\n  operator: {operator}\n"
        ),
    )
    .unwrap();
    path
}

fn apply_args(args: &[&str], cfg: &Path, sysfs: &Path, target: &Path) -> (i32, String, String) {
    let out = crate::support::bin()
        .args(args)
        .arg("--config")
        .arg(cfg)
        .arg("--sysfs")
        .arg(sysfs)
        .arg("--target")
        .arg(target)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Item 7: with pcidevices the tool creates no VFs and says so; with the
/// other hand-offs the unit does, at boot or with --now.
#[test]
fn apply_says_who_creates_the_vfs_in_each_mode() {
    let work = tempfile::tempdir().unwrap();
    for operator in ["pcidevices", "sriov-network-operator", "none"] {
        let cfg = mode_config(work.path(), operator);
        let sysfs = node();
        let target = tempfile::tempdir().unwrap();
        let (code, stdout, stderr) = apply_args(&["apply"], &cfg, sysfs.path(), target.path());
        assert_eq!(code, 0, "{operator}: {stderr}");
        let pcidevices = operator == "pcidevices";
        assert_eq!(
            stdout.contains("the VFs: with operator pcidevices this tool writes no VF count; the pcidevices agent does, once the cluster runs"),
            pcidevices,
            "{operator}: {stdout}"
        );
        assert_eq!(
            stdout.contains(
                "the VFs: harvester-sriov.service writes each planned count at every boot, the next one first"
            ),
            !pcidevices,
            "{operator}: {stdout}"
        );
        // not a running node: --now is not offered
        assert!(!stdout.contains("--now"), "{operator}: {stdout}");

        let sysfs = node();
        let target = tempfile::tempdir().unwrap();
        let (code, stdout, stderr) = apply_args(&["apply", "--now"], &cfg, sysfs.path(), target.path());
        assert_eq!(code, 0, "{operator}: {stdout}{stderr}");
        let numvfs =
            std::fs::read_to_string(sysfs.path().join("bus/pci/devices/0000:01:00.0/sriov_numvfs")).unwrap();
        if pcidevices {
            assert!(!stdout.contains("creating the VFs"), "{stdout}");
            assert!(
                stdout.contains("checking the PFs now (as harvester-sriov.service does at every boot; with operator pcidevices it writes no VF count: the pcidevices agent creates the VFs"),
                "{stdout}"
            );
            assert!(stdout.contains("0 VFs now; the count is pcidevices'"), "{stdout}");
            assert_eq!(numvfs.trim(), "0", "pcidevices: the tool wrote a count");
        } else {
            assert!(
                stdout.contains("creating the VFs now (as harvester-sriov.service does at every boot):"),
                "{stdout}"
            );
            assert_eq!(numvfs.trim(), "2", "{operator}: {stdout}");
        }
    }
}

#[test]
fn help_for_now_says_what_it_does_per_hand_off() {
    for command in ["apply", "configure"] {
        let out = crate::support::bin().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            help.contains("create the VFs now (operator sriov-network-operator or none); with operator pcidevices only check the PFs, as the pcidevices agent creates the VFs"),
            "{command}: {help}"
        );
    }
}

/// Item 9: a `sriov:` key the chosen hand-off ignores is named, with why.
#[test]
fn a_key_without_effect_in_the_hand_off_is_warned_about() {
    let work = tempfile::tempdir().unwrap();
    let sysfs = node();
    let cases: [(&str, &[&str], &[&str]); 3] = [
        (
            "pcidevices",
            &[
                "sriov.device_type: has no effect with operator pcidevices: the VFs keep their network driver until a PCIDeviceClaim",
                "sriov.resource_name: has no effect with operator pcidevices: only sriov-network-operator's objects use it",
                "sriov.operator_namespace: has no effect with operator pcidevices",
            ],
            &[],
        ),
        (
            "none",
            &[
                "sriov.resource_name: has no effect with operator none",
                "sriov.operator_namespace: has no effect with operator none",
            ],
            &["sriov.device_type:"],
        ),
        ("sriov-network-operator", &[], &["has no effect"]),
    ];
    for (operator, said, unsaid) in cases {
        let cfg = work.path().join("c.yaml");
        std::fs::write(
            &cfg,
            format!(
                "os:\n  hostname: node-1\ninstall:\n  mode: join\nsriov:\n  enabled: true\n  deviceType: netdevice\n  resourceName: fast_nics\n  operator_namespace: sriov-system\n  mtu: 9000\n  operator: {operator}\n"
            ),
        )
        .unwrap();
        let out = plan(&cfg, sysfs.path(), work.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{operator}: {stderr}");
        for s in said {
            assert!(
                stderr.contains(&format!("warning: {}: {s}", cfg.display())),
                "{operator}: {s}\n{stderr}"
            );
        }
        for s in unsaid {
            assert!(!stderr.contains(s), "{operator}: {s}\n{stderr}");
        }
        // mtu is the PF's, set by boot in every mode
        assert!(!stderr.contains("sriov.mtu"), "{operator}: {stderr}");
    }
}

/// Item 9: no sample sets a key its hand-off ignores (join-node.yaml did).
#[test]
fn no_config_sample_sets_a_key_without_effect() {
    let target = tempfile::tempdir().unwrap();
    for sample in crate::support::oracle::config_samples() {
        let out = plan(&sample, &crate::support::sample_sysfs(), target.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", sample.display());
        assert!(
            !stderr.contains("has no effect"),
            "{}: {stderr}",
            sample.display()
        );
    }
}
