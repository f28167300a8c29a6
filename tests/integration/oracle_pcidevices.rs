//! Harvester's pcidevices controller (tests/oracles/pcidevices: ghw, the
//! library the controller discovers NICs with, on the same fake sysfs, and its
//! generator's rules) against the SRIOVNetworkDevice objects the real binary
//! hands over: the controller must adopt every one of them, field by field,
//! and create, delete or collide with nothing.

use std::process::Command;

use serde_json::Value;

use crate::support::apply;
use crate::support::hardware::{igb, mgmt};
use crate::support::oracle::{
    apply_sample, boot, config_samples, hostname, manifests_with_kind, oracle, run, write_manifests,
};
use crate::support::tree::Tree;

fn config(host: &str, mode: &str) -> String {
    format!(
        "os:\n  hostname: {host}\ninstall:\n  mode: {mode}\n  management_interface:\n    interfaces:\n      - name: eno1\n  \
addons:\n    harvester_pcidevices_controller:\n      enabled: true\nsriov:\n  enabled: true\n  num_vfs: 4\n  operator: pcidevices\n"
    )
}

/// apply (+ boot) for `node`, then the oracle; returns (exit, verdict, text).
fn judge(hw: &Tree, node: &str, mode: &str) -> (i32, Value, String) {
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("install-config.yaml");
    std::fs::write(&cfg, config(node, mode)).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    let applied = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "apply failed:\n{applied}");
    let booted = boot(sysfs.path(), target.path());
    let dir = tempfile::tempdir().unwrap();
    let files = write_manifests(target.path(), dir.path());
    assert!(
        !files.is_empty(),
        "apply handed nothing to the cluster:\n{applied}"
    );
    let mut cmd = Command::new(oracle("pcidevices"));
    cmd.args(["--node", node, "--skip-nic", "eno1", "--sysfs"])
        .arg(sysfs.path())
        .args(&files);
    let (code, stdout, stderr) = run(&mut cmd);
    let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    let shown: String = files
        .iter()
        .map(|f| format!("--- {}\n{}", f.display(), std::fs::read_to_string(f).unwrap()))
        .collect();
    (
        code,
        v,
        format!("{applied}\n{booted}\n{shown}\noracle exit {code}\n{stdout}{stderr}"),
    )
}

fn two_igb() -> Tree {
    Tree::new()
        .function(mgmt())
        .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
        .function(igb("0000:01:00.1", "ens1f1", "52:54:00:12:34:02").function())
}

fn check_adopted(code: i32, v: &Value, text: &str, node: &str) {
    assert_eq!(
        code, 0,
        "the pcidevices controller would not adopt the tool's objects:\n{text}"
    );
    assert_eq!(v["adopted"], true, "{text}");
    let generated = v["generated"].as_array().unwrap();
    let tool = v["tool"].as_array().unwrap();
    // one object per SR-IOV NIC, the management NIC (no SR-IOV here) left out
    assert_eq!(generated.len(), 2, "{text}");
    for g in generated {
        let name = g["metadata"]["name"].as_str().unwrap();
        let t = tool
            .iter()
            .find(|t| t["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no tool object named {name} (the controller's name):\n{text}"));
        assert_eq!(t["metadata"]["labels"], g["metadata"]["labels"], "{text}");
        assert_eq!(
            t["metadata"]["annotations"], g["metadata"]["annotations"],
            "{text}"
        );
        assert_eq!(t["spec"]["address"], g["spec"]["address"], "{text}");
        assert_eq!(t["spec"]["nodeName"], node, "{text}");
        // the planned count, which the controller then writes to sriov_numvfs
        assert_eq!(t["spec"]["numVFs"], 4, "{text}");
    }
}

#[test]
fn the_controller_adopts_every_object_of_a_create_node() {
    let (code, v, text) = judge(&two_igb(), "node-a", "create");
    check_adopted(code, &v, &text, "node-a");
}

#[test]
fn the_controller_adopts_the_objects_of_a_join_node_with_a_dotted_name() {
    // a node name with dots: the generator's name is lower(node-nic), dots kept
    let (code, v, text) = judge(&two_igb(), "node-b.example.com", "join");
    check_adopted(code, &v, &text, "node-b.example.com");
    assert!(
        v["generated"][0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("node-b.example.com-ens1f"),
        "{text}"
    );
}

#[test]
fn the_oracle_sees_an_object_without_the_controller_label_collide() {
    // the oracle has teeth: an object named as the controller names it, but
    // without its label, makes the controller's Create fail on every pass
    let sysfs = two_igb().build();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("by-hand.yaml");
    std::fs::write(
        &file,
        "apiVersion: devices.harvesterhci.io/v1beta1\nkind: SRIOVNetworkDevice\nmetadata:\n  name: node-a-ens1f0\n\
spec:\n  address: \"0000:01:00.0\"\n  nodeName: node-a\n  numVFs: 4\n",
    )
    .unwrap();
    let mut cmd = Command::new(oracle("pcidevices"));
    cmd.args(["--node", "node-a", "--skip-nic", "eno1", "--sysfs"])
        .arg(sysfs.path())
        .arg(&file);
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["collides"], serde_json::json!(["node-a-ens1f0"]), "{stdout}");
    assert!(stdout.contains("AlreadyExists"), "{stdout}");
}

/// The management interfaces of an install config (the pcidevices agent skips
/// the members of Harvester's management bond).
fn management_nics(config: &std::path::Path) -> Vec<String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    let install = &doc["install"];
    let mi = install
        .get("management_interface")
        .or_else(|| install.get("managementInterface"));
    mi.and_then(|m| m.get("interfaces"))
        .and_then(|i| i.as_sequence())
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect()
}

#[test]
fn every_config_sample_that_hands_over_to_pcidevices_is_adopted_on_the_shipped_snapshot() {
    let mut judged = 0;
    for config in config_samples() {
        let (_keep, sysfs, target, log) = apply_sample(&config);
        let node = hostname(&config);
        let dir = tempfile::tempdir().unwrap();
        let Some(files) = manifests_with_kind(target.path(), dir.path(), "SRIOVNetworkDevice") else {
            continue;
        };
        judged += 1;
        let mut cmd = Command::new(oracle("pcidevices"));
        cmd.args(["--node", &node, "--sysfs"]).arg(&sysfs);
        for nic in management_nics(&config) {
            cmd.args(["--skip-nic", &nic]);
        }
        cmd.args(&files);
        let (code, stdout, stderr) = run(&mut cmd);
        let shown: String = files
            .iter()
            .map(|f| format!("--- {}\n{}", f.display(), std::fs::read_to_string(f).unwrap()))
            .collect();
        assert_eq!(code, 0, "{log}\n{shown}\noracle exit {code}\n{stdout}{stderr}");
        let v: Value = serde_json::from_str(&stdout).unwrap();
        // the shipped snapshot's igb PF (eth0) is the one SR-IOV NIC
        assert_eq!(v["generated"].as_array().unwrap().len(), 1, "{stdout}");
    }
    assert!(judged > 0, "no config sample hands over to pcidevices");
}
