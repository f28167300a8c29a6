//! The installer's reading of a config (tests/oracles/installer-config:
//! rancher/mapper at the installer's pin, yaml.v3 and encoding/json, as
//! harvester/harvester-installer:pkg/config/schemas.go `LoadHarvesterConfig`
//! uses them) against what the real binary takes from the same file: the
//! node name, the management NICs (which PFs are skipped as management), the
//! pcidevices addon (the warning when it is off), and whether the file loads
//! at all. Issue 16 items 1-3.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::hardware::igb;
use crate::support::oracle::{oracle, run};
use crate::support::plan_json;
use crate::support::tree::Tree;

/// Two SR-IOV NICs the management entries name by name or by MAC.
const NICS: [(&str, &str, &str); 2] = [
    ("0000:01:00.0", "ens1f0", "00:1b:21:2b:46:e0"),
    ("0000:02:00.0", "ens1f1", "00:1b:21:2b:46:e1"),
];

/// A create node's config whose Harvester keys are `harvester` (YAML text
/// at the top level), with an sriov section handing over to pcidevices.
fn variants() -> Vec<(&'static str, String)> {
    let sriov = "sriov:\n  enabled: true\n  num_vfs: 2\n";
    let v = |harvester: &str| format!("{harvester}{sriov}");
    vec![
        (
            "snake_case",
            v(
                "os:\n  hostname: n1\ninstall:\n  mode: create\n  management_interface:\n    interfaces:\n      - name: ens1f0\n  addons:\n    harvester_pcidevices_controller:\n      enabled: true\n",
            ),
        ),
        (
            "Go names",
            v(
                "OS:\n  Hostname: n2\nInstall:\n  Mode: create\n  ManagementInterface:\n    Interfaces:\n      - Name: ens1f1\n",
            ),
        ),
        (
            "HWADDR",
            v(
                "os:\n  hostname: n3\ninstall:\n  mode: create\n  managementInterface:\n    interfaces: [{HWADDR: \"00:1B:21:2B:46:E1\"}]\n",
            ),
        ),
        (
            "hw_addr with dashes",
            v(
                "os:\n  hostname: n4\ninstall:\n  mode: create\n  management_interface:\n    interfaces: [{hw_addr: \"00-1b-21-2b-46-e0\"}]\n",
            ),
        ),
        (
            "singular keys",
            v(
                "os:\n  hostname: n5\ninstall:\n  mode: create\n  management_interface:\n    interface:\n      - name: ens1f1\n  addon:\n    harvester_pcidevices_controller:\n      enabled: true\n",
            ),
        ),
        (
            "lower-cased Go names",
            v(
                "os:\n  hostname: n6\ninstall:\n  mode: create\n  managementinterface:\n    interfaces:\n      - hwaddr: \"00:1b:21:2b:46:e0\"\n",
            ),
        ),
        (
            "enabled [true]",
            v(
                "os:\n  hostname: n7\ninstall:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: [true]\n",
            ),
        ),
        (
            "enabled \"yes\"",
            v(
                "os:\n  hostname: n8\ninstall:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: \"yes\"\n",
            ),
        ),
        (
            "enabled \"no\"",
            v(
                "os:\n  hostname: n9\ninstall:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: \"no\"\n",
            ),
        ),
        (
            "enabled \"true\" under Install",
            v(
                "os:\n  hostname: n10\nInstall:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: \"true\"\n",
            ),
        ),
        (
            "enabled [true] under Install",
            v(
                "os:\n  hostname: n11\nInstall:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: [true]\n",
            ),
        ),
        (
            "Enabled",
            v(
                "os:\n  hostname: n12\ninstall:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      Enabled: true\n",
            ),
        ),
    ]
}

fn canonical_mac(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', ":")
}

#[test]
fn the_tool_reads_every_variant_as_the_installers_loader_does() {
    let mut tree = Tree::new();
    for (address, ifname, mac) in NICS {
        tree = tree.function(igb(address, ifname, mac).function());
    }
    let sysfs = tree.build();
    let work = tempfile::tempdir().unwrap();
    let mut files = vec![];
    for (i, (_, text)) in variants().iter().enumerate() {
        let f = work.path().join(format!("v{i}.yaml"));
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    let (code, stdout, stderr) = run(Command::new(oracle("installer-config")).args(&files));
    assert_eq!(code, 0, "{stderr}");
    let seen: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(seen.len(), files.len(), "{stdout}");
    let mut checked = 0;
    for ((name, _), (file, installer)) in variants().iter().zip(files.iter().zip(&seen)) {
        let out = plan_json(file, sysfs.path(), work.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("{name}: installer {installer}\ntool: {stderr}");
        // loads at all
        if installer["ok"] == false {
            assert_eq!(out.status.code(), Some(2), "{what}");
            assert!(
                stderr.contains("Harvester's installer cannot load this config"),
                "{what}"
            );
            checked += 1;
            continue;
        }
        assert_eq!(out.status.code(), Some(0), "{what}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let plan = &doc["plan"];
        // the node name
        assert_eq!(plan["node"], installer["hostname"], "{what}");
        // the management NICs: the installer looks a NIC up by name, else by MAC
        let management: Vec<&str> = plan["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["reason"].as_str().unwrap().starts_with("management NIC"))
            .map(|s| s["address"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = NICS
            .iter()
            .filter(|(_, ifname, mac)| {
                installer["management"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| match m["name"].as_str() {
                        Some(n) if !n.is_empty() => n == *ifname,
                        _ => m["hwAddr"].as_str().is_some_and(|h| canonical_mac(h) == *mac),
                    })
            })
            .map(|(a, _, _)| *a)
            .collect();
        assert_eq!(management, expected, "{what}");
        // the pcidevices addon: the warning when it is not on
        let warned = doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("pcidevices addon is off"));
        assert_eq!(warned, installer["pcidevices_addon"] != true, "{what}");
        checked += 1;
    }
    assert_eq!(checked, variants().len());
    // the variants cover both answers of each question
    let any = |f: &dyn Fn(&Value) -> bool| seen.iter().any(f);
    assert!(
        any(&|v| v["ok"] == false)
            && any(&|v| v["pcidevices_addon"] == true)
            && any(&|v| v["pcidevices_addon"] == false)
    );
    assert!(any(&|v| v["management"]
        .as_array()
        .is_some_and(|m| !m.is_empty())));
}

/// The oracle itself: a file it cannot read is said, not guessed.
#[test]
fn the_oracle_reports_a_file_it_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "install: [1, 2\n").unwrap();
    let missing = Path::new("/nonexistent/config.yaml");
    let (code, stdout, _) = run(Command::new(oracle("installer-config")).arg(&bad).arg(missing));
    assert_eq!(code, 0);
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["ok"], false, "{line}");
        assert!(!v["error"].as_str().unwrap().is_empty(), "{line}");
    }
    assert_eq!(stdout.lines().count(), 2);
}
