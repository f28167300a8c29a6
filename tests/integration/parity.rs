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
