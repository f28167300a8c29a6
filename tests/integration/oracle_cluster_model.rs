//! The multi-node story of issue 9 through tests/oracles/cluster-model (a model
//! of rke2's deploy controller and pcidevices' discovery and reset, each rule
//! citing its upstream file): a create node, two join nodes (rke2 agents), one
//! of them promoted, one removed; each node's files from the real binary's
//! `apply` on its own fake sysfs, its VFs from the real binary's `boot`. Every
//! node's planned VFs must end usable and no step may prune, reset or fight
//! over anything.

use std::path::Path;
use std::process::Command;

use crate::support::apply;
use crate::support::hardware::{igb, mgmt, with_mtu, x710};
use crate::support::oracle::{
    MANIFESTS, boot, json_lines, node_files, node_labels, oracle, run, write_manifests,
};

/// rke2-server's drop-in the tool materialises with pcidevices.
const RKE2_DROPIN: &str = "/etc/systemd/system/rke2-server.service.d/95-harvester-sriov.conf";
use crate::support::tree::Tree;

/// Two 82576 ports (nodes a and b: the same hardware).
fn igb_node() -> Tree {
    Tree::new()
        .function(mgmt())
        .function(with_mtu(&igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")))
        .function(with_mtu(&igb("0000:01:00.1", "ens1f1", "52:54:00:12:34:02")))
}

/// Two X710 ports (node c: hardware no other node has).
fn x710_node() -> Tree {
    Tree::new()
        .function(mgmt())
        .function(with_mtu(&x710(
            "0000:3b:00.0",
            "ens2f0",
            "3c:fd:fe:00:00:01",
            0x001b21ffff2b46e0,
        )))
        .function(with_mtu(&x710(
            "0000:3b:00.1",
            "ens2f1",
            "3c:fd:fe:00:00:02",
            0x001b21ffff2b46e1,
        )))
}

fn config(host: &str, mode: &str, operator: &str) -> String {
    let addon = if operator == "pcidevices" {
        "  addons:\n    harvester_pcidevices_controller:\n      enabled: true\n"
    } else {
        ""
    };
    let extra = if operator == "pcidevices" {
        String::new()
    } else {
        "  device_type: vfio-pci\n  resource_name: sriovnics\n".to_owned()
    };
    format!(
        "os:\n  hostname: {host}\ninstall:\n  mode: {mode}\n  management_interface:\n    interfaces:\n      - name: eno1\n{addon}\
sriov:\n  enabled: true\n  num_vfs: 4\n  operator: {operator}\n{extra}"
    )
}

/// Install one node: its fake sysfs, `apply`, `boot`, and the node directory
/// the model reads (sysfs, manifests/, labels, skip-nics).
fn install(root: &Path, name: &str, mode: &str, operator: &str, hw: &Tree) -> String {
    let dir = root.join(name);
    let sysfs = dir.join("sysfs");
    std::fs::create_dir_all(&sysfs).unwrap();
    hw.write(&sysfs).unwrap();
    let target = dir.join("target");
    std::fs::create_dir_all(&target).unwrap();
    let cfg = dir.join("install-config.yaml");
    std::fs::write(&cfg, config(name, mode, operator)).unwrap();
    let out = apply(&cfg, &sysfs, &target);
    let log = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{name}: apply failed:\n{log}");
    let booted = boot(&sysfs, &target);
    // The manifests dir as yip lays it out on the node; the model reads it
    // (and any X.skip the tool puts there) through DIR/manifests.
    let mdir = target.join(MANIFESTS.trim_start_matches('/'));
    write_manifests(&target, &mdir);
    std::os::unix::fs::symlink(&mdir, dir.join("manifests")).unwrap();
    // rke2-server's ExecStartPre from the tool's own drop-in, for the model to
    // run before each rke2-server start: the binary under test for the one
    // under /oem, and this node's root as --target.
    if let Some(dropin) = node_files(&target).get(RKE2_DROPIN) {
        let text = String::from_utf8_lossy(dropin);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStartPre=-"))
            .unwrap_or_else(|| panic!("{RKE2_DROPIN}: no ExecStartPre=- line:\n{text}"));
        let mut argv: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        assert_eq!(argv[0], "/oem/harvester-sriov/harvester-sriov", "{text}");
        argv[0] = env!("CARGO_BIN_EXE_harvester-sriov").to_owned();
        argv.extend(["--target".to_owned(), target.display().to_string()]);
        std::fs::write(dir.join("rke2-server-exec-start-pre"), argv.join("\n")).unwrap();
    }
    std::fs::write(dir.join("labels"), node_labels(&target).join("\n")).unwrap();
    std::fs::write(dir.join("skip-nics"), "eno1\n").unwrap();
    format!("== {name} ({mode})\n{log}{booted}")
}

const STORY: &str =
    "create node-a; join node-b; join node-c; handoff node-c; promote node-b; restart node-a; remove node-c";

fn story(operator: &str) {
    let (code, told, stderr, log) = tell(operator, STORY);
    assert_eq!(
        code, 0,
        "the cluster does not keep every node's VFs ({operator}):\n{told}\n{stderr}\n--- installs\n{log}"
    );
}

/// Run the model on three installed nodes; returns (exit, story, stderr, install log).
fn tell(operator: &str, story: &str) -> (i32, String, String, String) {
    let root = tempfile::tempdir().unwrap();
    let mut log = String::new();
    log += &install(root.path(), "node-a", "create", operator, &igb_node());
    log += &install(root.path(), "node-b", "join", operator, &igb_node());
    log += &install(root.path(), "node-c", "join", operator, &x710_node());
    let mut cmd = Command::new(oracle("cluster-model"));
    if operator == "pcidevices" {
        cmd.arg("--pcidevices-addon");
    }
    for n in ["node-a", "node-b", "node-c"] {
        cmd.arg("--node")
            .arg(format!("{n}={}", root.path().join(n).display()));
    }
    for n in ["node-a", "node-b"] {
        for pf in ["0000:01:00.0", "0000:01:00.1"] {
            cmd.arg("--expect").arg(format!("{n}:{pf}=4"));
        }
    }
    for pf in ["0000:3b:00.0", "0000:3b:00.1"] {
        cmd.arg("--expect").arg(format!("node-c:{pf}=4"));
    }
    cmd.args(["--story", story]);
    let (code, stdout, stderr) = run(&mut cmd);
    // the story, step by step, for the failure message (and --nocapture)
    let mut told = String::new();
    for line in json_lines(&stdout) {
        if let Some(step) = line["step"].as_str() {
            told += &format!("step {}: {step}\n", line["step_no"]);
            for e in line["events"].as_array().unwrap() {
                let bad = if e["bad"] == true { "  !! " } else { "     " };
                told += &format!("{bad}{}\n", e["text"].as_str().unwrap());
            }
            for (node, r) in line["nodes"].as_object().unwrap() {
                for pf in r["planned"].as_array().unwrap() {
                    told += &format!(
                        "     {node} ({}) {} planned {}: {}\n",
                        r["role"].as_str().unwrap(),
                        pf["address"].as_str().unwrap(),
                        pf["planned"],
                        if pf["usable"] == true {
                            "usable".to_owned()
                        } else {
                            format!("not usable: {}", pf["why"].as_str().unwrap_or(""))
                        }
                    );
                }
            }
        } else if line["summary"] == true {
            told += &format!("summary: ok={} reasons={}\n", line["ok"], line["reasons"]);
        }
    }
    println!("{told}");
    (code, told, stderr, log)
}

#[test]
fn pcidevices_hand_off_survives_create_join_promote_remove() {
    story("pcidevices");
}

#[test]
fn sriov_network_operator_hand_off_survives_create_join_promote_remove() {
    story("sriov-network-operator");
}

#[test]
fn a_count_changed_in_the_ui_on_a_server_is_not_fought_over_at_the_next_rke2_start() {
    // issue 9: "what happens at the next boot after an admin changes the count
    // in the UI". Whichever count wins, no controller may be left retrying a
    // write the kernel refuses (EBUSY) or resetting VFs.
    let (_, told, stderr, log) = tell(
        "pcidevices",
        "create node-a; ui node-a/0000:01:00.0=2; restart node-a",
    );
    assert!(
        !told.contains("  !! "),
        "a step fights over the count:\n{told}\n{stderr}\n--- installs\n{log}"
    );
}
