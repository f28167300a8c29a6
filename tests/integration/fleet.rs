//! `fleet-check`: one install config over three nodes' `detect --format json`
//! (made here by the real binary on fake sysfs trees), a planted MAC clash
//! found with its exact lines, a clean fleet, a rule that matches nothing on
//! one node, bad files refused; and detect's JSON read back byte for byte.

use std::path::{Path, PathBuf};

use crate::support::hardware::{igb, mgmt, x710};
use crate::support::tree::Tree;
use crate::support::{bin, plan_json};

/// `detect --format json` of `tree` (with `--all` when asked), by the real binary.
fn detect_json(sysfs: &Path, all: bool) -> String {
    let mut cmd = bin();
    cmd.arg("detect")
        .arg("--sysfs")
        .arg(sysfs)
        .args(["--format", "json"]);
    if all {
        cmd.arg("--all");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Three nodes, each an igb (no serial: stable MACs from its MAC) and an
/// X710 (serial number). `node-3`'s X710 has `node-1`'s serial number (a
/// cloned card identity), and `node-2`'s igb is called eno5, not ens1f0.
fn fleet() -> Vec<(&'static str, Tree)> {
    let node = |igb_if: &'static str, igb_mac: &'static str, x_mac: &'static str, serial: u64| {
        Tree::new()
            .function(mgmt())
            .function(igb("0000:01:00.0", igb_if, igb_mac).function())
            .function(x710("0000:3b:00.0", "ens2f0", x_mac, serial).function())
    };
    vec![
        (
            "node-1",
            node(
                "ens1f0",
                "52:54:00:12:34:01",
                "3c:fd:fe:00:01:01",
                0x001b_21ff_ff2b_4601,
            ),
        ),
        (
            "node-2",
            node(
                "eno5",
                "52:54:00:12:34:02",
                "3c:fd:fe:00:02:01",
                0x001b_21ff_ff2b_4602,
            ),
        ),
        (
            "node-3",
            node(
                "ens1f0",
                "52:54:00:12:34:03",
                "3c:fd:fe:00:03:01",
                0x001b_21ff_ff2b_4601,
            ),
        ),
    ]
}

/// The fleet's trees built and detected: (trees kept alive, files dir, node files).
fn detected(nodes: Vec<(&'static str, Tree)>) -> (Vec<tempfile::TempDir>, tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut trees = vec![];
    let mut files = vec![];
    for (name, tree) in nodes {
        let t = tree.build();
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, detect_json(t.path(), false)).unwrap();
        files.push(file);
        trees.push(t);
    }
    (trees, dir, files)
}

fn config(dir: &Path, yaml: &str) -> PathBuf {
    let p = dir.join("config.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

fn fleet_check(config: &Path, nodes: &[String]) -> (Option<i32>, String, String) {
    let out = bin()
        .arg("fleet-check")
        .arg("--config")
        .arg(config)
        .args(nodes)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn paths(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.display().to_string()).collect()
}

/// The MACs `plan --format json` gives each VF of the PF at `address` on a node's tree.
fn planned_macs(config: &Path, sysfs: &Path, address: &str) -> Vec<String> {
    let target = tempfile::tempdir().unwrap();
    let out = plan_json(config, sysfs, target.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pf = v["plan"]["pfs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == address)
        .unwrap();
    pf["vfs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vf| vf["mac"].as_str().unwrap().to_owned())
        .collect()
}

const CLASHING: &str = "\
os:
  hostname: node-1
sriov:
  enabled: true
  num_vfs: 2
  operator: none
  device_type: netdevice
  vfs:
    - {mac_address: stable}
  devices:
    - match: {vendor: \"8086\", device: \"10c9\"}
      vfs:
        - {id: 0, mac_address: \"02:00:00:00:10:00\"}
";

#[test]
fn a_planted_clash_is_found_with_both_nodes_pfs_and_vfs() {
    let nodes = fleet();
    let (trees, dir, files) = detected(nodes);
    let cfg = config(dir.path(), CLASHING);
    let (code, stdout, stderr) = fleet_check(&cfg, &paths(&files));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(stderr, "");
    // node-1's and node-3's X710 share a serial number, so `stable` gives
    // them the same MACs: the ones `plan` on each node's own tree gives.
    let one = planned_macs(&cfg, trees[0].path(), "0000:3b:00.0");
    let three = planned_macs(&cfg, trees[2].path(), "0000:3b:00.0");
    assert_eq!(one, three);
    assert_eq!(one.len(), 2);
    let x710_hint = "    hint: `stable` derives from the PF's serial number (else its MAC): these PFs report the same one (cloned serial numbers?): give them fixed MACs";
    let mut want = vec![
        "clash: 02:00:00:00:10:00 on node-1 0000:01:00.0 (ens1f0) VF 0 (fixed), node-2 0000:01:00.0 (eno5) VF 0 (fixed) and node-3 0000:01:00.0 (ens1f0) VF 0 (fixed)".to_owned(),
        "    hint: a fixed mac_address in a rule that matches on several nodes: give each node its own config (or rule, by serial or address), or use `stable`".to_owned(),
    ];
    for (vf, mac) in one.iter().enumerate() {
        want.push(format!(
            "clash: {mac} on node-1 0000:3b:00.0 (ens2f0) VF {vf} (stable) and node-3 0000:3b:00.0 (ens2f0) VF {vf} (stable)"
        ));
        want.push(x710_hint.to_owned());
    }
    // sorted by MAC, as printed
    let mut pairs: Vec<(String, String)> = want.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
    pairs.sort_by_key(|(l, _)| l.split(' ').nth(1).unwrap().to_owned());
    let want: Vec<String> = pairs.into_iter().flat_map(|(a, b)| [a, b]).collect();
    let got: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("clash: ") || l.starts_with("    hint: "))
        .collect();
    assert_eq!(got, want, "{stdout}");
    for (i, f) in files.iter().enumerate() {
        let n = i + 1;
        assert!(
            stdout.contains(&format!(
                "node node-{n} ({}): 2 PFs planned, 4 VFs, 4 with a planned MAC; 0 SR-IOV functions left alone\n",
                f.display()
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.ends_with("3 nodes, 12 planned VF MACs: 3 MACs shared by two or more functions\n"),
        "{stdout}"
    );
}

#[test]
fn a_vf_mac_that_is_another_nodes_nic_mac_is_a_clash() {
    // node-2's X710 port already has the MAC the rule gives node-1's VF 0.
    let mut nodes = fleet();
    nodes[1].1 = Tree::new()
        .function(mgmt())
        .function(igb("0000:01:00.0", "eno5", "52:54:00:12:34:02").function())
        .function(
            x710(
                "0000:3b:00.0",
                "ens2f0",
                "02:00:00:00:10:00",
                0x001b_21ff_ff2b_4602,
            )
            .function(),
        );
    nodes.truncate(2);
    let (_trees, dir, files) = detected(nodes);
    let cfg = config(
        dir.path(),
        "sriov:\n  enabled: true\n  num_vfs: 1\n  operator: none\n  devices:\n    - match: {interface: ens1f0}\n      vfs:\n        - {id: 0, mac_address: \"02:00:00:00:10:00\"}\n",
    );
    let (code, stdout, stderr) = fleet_check(&cfg, &paths(&files));
    assert_eq!((code, stderr.as_str()), (Some(1), ""), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"clash: 02:00:00:00:10:00 on node-1 0000:01:00.0 (ens1f0) VF 0 (fixed) and node-2 0000:3b:00.0 (ens2f0) its own MAC"), "{stdout}");
    assert!(lines.contains(&"    hint: a VF would get the MAC another function of the fleet has: give that VF another mac_address"), "{stdout}");
    assert!(lines.contains(&"unmatched: sriov.devices[0] (match {interface: ens1f0}) matches no SR-IOV function on 1 of 2 nodes: node-2"), "{stdout}");
    assert_eq!(
        lines.last(),
        Some(&"2 nodes, 1 planned VF MAC: 1 MAC shared by two or more functions")
    );
    // a warning every node's plan gives is said once
    let vfio: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("device_type vfio-pci with operator none"))
        .collect();
    assert_eq!(vfio.len(), 1, "{stdout}");
    assert!(
        vfio[0].starts_with("warning: every node: device_type vfio-pci"),
        "{stdout}"
    );
}

#[test]
fn a_clean_fleet_exits_0_and_a_rule_matching_nothing_on_one_node_is_named() {
    // Distinct serial numbers, stable MACs only; the rule by interface
    // matches ens1f0, which node-2 calls eno5.
    let mut nodes = fleet();
    nodes[2].1 = Tree::new()
        .function(mgmt())
        .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:03").function())
        .function(
            x710(
                "0000:3b:00.0",
                "ens2f0",
                "3c:fd:fe:00:03:01",
                0x001b_21ff_ff2b_4603,
            )
            .function(),
        );
    let (_trees, dir, files) = detected(nodes);
    let cfg = config(
        dir.path(),
        "sriov:\n  enabled: true\n  num_vfs: 4\n  operator: none\n  device_type: netdevice\n  vfs:\n    - {mac_address: stable, spoof_check: true}\n  devices:\n    - match: {interface: ens1f0}\n      vfs:\n        - {id: 0, vlan_id: 100}\n",
    );
    // explicit names for two of them, the file's name for the third
    let mut args = paths(&files);
    args[0] = format!("edge-a={}", files[0].display());
    args[1] = format!("edge-b={}", files[1].display());
    let (code, stdout, stderr) = fleet_check(&cfg, &args);
    assert_eq!((code, stderr.as_str()), (Some(0), ""), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!stdout.contains("clash:"), "{stdout}");
    assert!(lines.contains(&"warning: node edge-b: sriov.devices[0] (match {interface: ens1f0}) matches no SR-IOV function on this node"), "{stdout}");
    assert!(lines.contains(&"unmatched: sriov.devices[0] (match {interface: ens1f0}) matches no SR-IOV function on 1 of 3 nodes: edge-b"), "{stdout}");
    assert!(
        lines.contains(
            &format!(
                "node node-3 ({}): 2 PFs planned, 8 VFs, 8 with a planned MAC; 0 SR-IOV functions left alone",
                files[2].display()
            )
            .as_str()
        ),
        "{stdout}"
    );
    assert_eq!(
        lines.last(),
        Some(&"3 nodes, 24 planned VF MACs: no MAC shared by two functions")
    );
}

#[test]
fn a_0_2_0_detect_output_without_vf_settings_gives_the_same_report() {
    let (_trees, dir, files) = detected(fleet());
    let cfg = config(dir.path(), CLASHING);
    let (code, want, _) = fleet_check(&cfg, &paths(&files));
    assert_eq!(code, Some(1));
    // 0.2.0 wrote every field but vf_settings (src/scan/device.rs's
    // Serialize is unchanged since then): take it out of each file.
    for f in &files {
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for d in v["devices"].as_array_mut().unwrap() {
            assert!(d.as_object_mut().unwrap().remove("vf_settings").is_some());
        }
        std::fs::write(f, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
    assert_eq!(fleet_check(&cfg, &paths(&files)), (Some(1), want, String::new()));
}

#[test]
fn bad_files_and_names_are_refused_with_one_message_naming_them() {
    let (_trees, dir, files) = detected(fleet());
    let cfg = config(dir.path(), CLASHING);
    let good = files[0].display().to_string();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let one_device = std::fs::read_to_string(&files[0]).unwrap();
    let cases: Vec<(String, String)> = vec![
        (
            cfg.display().to_string(),
            format!(
                "{}: not `detect --format json` output: expected value at line 1 column 1",
                cfg.display()
            ),
        ),
        (
            write("empty.json", ""),
            format!(
                "{}/empty.json: not `detect --format json` output: EOF while parsing a value at line 1 column 0",
                dir.path().display()
            ),
        ),
        (
            write("other.json", "{\"items\": []}"),
            format!(
                "{}/other.json: not `detect --format json` output: missing field `devices` at line 1 column 13",
                dir.path().display()
            ),
        ),
        (
            write(
                "short.json",
                "{\"devices\": [{\"address\": \"0000:01:00.0\", \"vendor_id\": \"8086\"}]}",
            ),
            format!(
                "{}/short.json: not `detect --format json` output: missing field `device_id` at line 1 column 61",
                dir.path().display()
            ),
        ),
        (
            write(
                "edited.json",
                &one_device.replacen("\"status\": \"ready\"", "\"status\": \"no-driver\"", 1),
            ),
            format!(
                "{}/edited.json: not `detect --format json` output: device 0000:01:00.0: status: \"no-driver\", but its fields give \"ready\" (edited, or not written by detect) at line 46 column 4",
                dir.path().display()
            ),
        ),
        (
            write(
                "id.json",
                &one_device.replacen("\"vendor_id\": \"8086\"", "\"vendor_id\": \"0x8086\"", 1),
            ),
            format!(
                "{}/id.json: not `detect --format json` output: device 0000:01:00.0: vendor_id: \"0x8086\" is not 4 lower-case hex digits at line 46 column 4",
                dir.path().display()
            ),
        ),
        (
            "/dev/zero".to_owned(),
            "/dev/zero: not a regular file: give the file `detect --format json` wrote".to_owned(),
        ),
        (
            format!("dir={}", dir.path().display()),
            format!(
                "{}: not a regular file: give the file `detect --format json` wrote",
                dir.path().display()
            ),
        ),
        (
            format!("{}/missing.json", dir.path().display()),
            format!(
                "{}/missing.json: cannot read it: No such file or directory (os error 2)",
                dir.path().display()
            ),
        ),
        (
            format!("Node_1={good}"),
            format!(
                "NODE \"Node_1={good}\": node name \"Node_1\" (from NAME=FILE) is not a valid Kubernetes node name (lower-case DNS subdomain): give it as NAME=FILE"
            ),
        ),
        (
            format!("node-1={good}"),
            format!(
                "NODE \"node-1={good}\": node node-1 is given twice (also {good}): name them with NAME=FILE"
            ),
        ),
        (
            format!("again={good}"),
            format!(
                "NODE \"again={good}\": {good} is given for node node-1 too: each node needs its own detect output"
            ),
        ),
    ];
    for (arg, message) in cases {
        let (code, stdout, stderr) = fleet_check(&cfg, &[good.clone(), arg.clone()]);
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (
                Some(2),
                "",
                format!("harvester-sriov: error: {message}\n").as_str()
            ),
            "{arg}"
        );
    }
    // a node whose plan fails is named with its file
    let tight = config(
        dir.path(),
        "sriov:\n  enabled: true\n  devices:\n    - match: {interface: ens1f0}\n      num_vfs: 8\n",
    );
    let (code, stdout, stderr) = fleet_check(&tight, &paths(&files));
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert_eq!(
        stderr,
        format!(
            "harvester-sriov: error: node node-1 ({}): {}: sriov.devices[0].num_vfs: 8 VFs asked for 0000:01:00.0 (Intel Corporation 82576 Gigabit Network Connection), but its kernel allows at most 7 (sriov_totalvfs)\n",
            files[0].display(),
            tight.display()
        )
    );
}

#[test]
fn two_pf_identities_that_derive_the_same_stable_macs_are_a_clash() {
    // Found by search: 30 bits of a stable MAC come from the PF's identity,
    // and these two MACs (no serial number: the identity is the MAC) hash alike.
    let node = |mac: &'static str| Tree::new().function(igb("0000:01:00.0", "ens1f0", mac).function());
    let (trees, dir, files) = detected(vec![
        ("node-1", node("52:54:00:00:1b:63")),
        ("node-2", node("52:54:00:01:31:b0")),
    ]);
    let cfg = config(
        dir.path(),
        "sriov:\n  enabled: true\n  num_vfs: 2\n  operator: none\n  vfs:\n    - {mac_address: stable}\n",
    );
    let one = planned_macs(&cfg, trees[0].path(), "0000:01:00.0");
    assert_eq!(one, planned_macs(&cfg, trees[1].path(), "0000:01:00.0"));
    assert!(one[0].starts_with("aa:4c:66:39:"), "{one:?}");
    let (code, stdout, stderr) = fleet_check(&cfg, &paths(&files));
    assert_eq!((code, stderr.as_str()), (Some(1), ""), "{stdout}");
    let got: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("clash: ") || l.starts_with("    hint: "))
        .collect();
    let hint = "    hint: two PF identities derive the same stable MAC (a chance collision: 30 bits of a stable MAC come from the identity): give one of these VFs a fixed MAC";
    let mut want = vec![];
    for (vf, mac) in one.iter().enumerate() {
        want.push(format!(
            "clash: {mac} on node-1 0000:01:00.0 (ens1f0) VF {vf} (stable) and node-2 0000:01:00.0 (ens1f0) VF {vf} (stable)"
        ));
        want.push(hint.to_owned());
    }
    assert_eq!(got, want, "{stdout}");
}

#[test]
fn json_says_the_same_for_a_program() {
    let (_trees, dir, files) = detected(fleet());
    let cfg = config(dir.path(), CLASHING);
    let mut args = paths(&files);
    args.extend(["--format".to_owned(), "json".to_owned()]);
    let (code, stdout, stderr) = fleet_check(&cfg, &args);
    assert_eq!((code, stderr.as_str()), (Some(1), ""), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["vf_macs"], 12);
    assert_eq!(v["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(v["nodes"][1]["name"], "node-2");
    assert_eq!(v["nodes"][1]["pfs"][0]["interface"], "eno5");
    assert_eq!(
        v["nodes"][1]["pfs"][0]["macs"][0],
        serde_json::json!({"vf": 0, "mac": "02:00:00:00:10:00", "stable": false})
    );
    let clashes = v["clashes"].as_array().unwrap();
    assert_eq!(clashes.len(), 3);
    assert_eq!(clashes[0]["mac"], "02:00:00:00:10:00");
    assert_eq!(
        clashes[0]["holders"][1],
        serde_json::json!({"node": "node-2", "pf": "0000:01:00.0", "interface": "eno5", "vf": 0, "origin": "fixed"})
    );
    for c in &clashes[1..] {
        let holders = c["holders"].as_array().unwrap();
        assert_eq!(holders.len(), 2);
        assert!(
            holders
                .iter()
                .all(|h| h["origin"] == "stable" && h["pf"] == "0000:3b:00.0")
        );
        assert_eq!(
            (&holders[0]["node"], &holders[1]["node"]),
            (&"node-1".into(), &"node-3".into())
        );
    }
    assert_eq!(v["unmatched"], serde_json::json!([]));
}

/// detect's JSON read back as `fleet-check` reads it, byte for byte. The
/// read-back is the fuzz harness's (`harvester_sriov::fuzzing`), so this
/// runs with the `fuzzing` feature only: scripts/test-all.sh runs it
/// (`cargo test --features fuzzing ... fleet::round_trip`), while the plain
/// `cargo test` tests the library as it ships, without the harness.
#[cfg(feature = "fuzzing")]
mod round_trip {
    use super::*;
    use crate::support::hardware::{self, Nic};
    use crate::support::space::{Space, SriovFields};
    use crate::support::tree::{Function, KernelSriov};
    use crate::support::{repo, sample_sysfs};

    /// Functions whose detect JSON carries what no field says: a capability cut
    /// short, a looping chain, config space of 64 bytes, a PF without a driver.
    fn odd_functions() -> Tree {
        let fields = SriovFields::igb();
        let pf = |address: &str, config: Vec<u8>| {
            Function::new(address, config)
                .driver("igb")
                .kernel_sriov(KernelSriov::new(7, 0, 128, 2, 0x10ca))
        };
        Tree::new()
            .function(Function::new(
                "0000:05:00.0",
                Space::pcie(0x8086, 0x10c9, 0x020000)
                    .sriov(0x100, 0, fields)
                    .truncate(0x110)
                    .bytes(),
            ))
            .function(pf(
                "0000:06:00.0",
                Space::pcie(0x8086, 0x10c9, 0x020000)
                    .ext(0x100, 0x0001, 1, 0x100)
                    .bytes(),
            ))
            .function(pf(
                "0000:07:00.0",
                Space::pcie(0x8086, 0x10c9, 0x020000).truncate(64).bytes(),
            ))
            .function(
                Function::new(
                    "0000:08:00.0",
                    Space::pcie(0x8086, 0x10c9, 0x020000)
                        .sriov(0x100, 0, fields)
                        .bytes(),
                )
                .kernel_sriov(KernelSriov::new(7, 0, 128, 2, 0x10ca)),
            )
            .function(
                Nic {
                    num_vfs: 2,
                    ..igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
                }
                .function(),
            )
    }

    #[test]
    fn detect_json_reads_back_byte_for_byte() {
        let mut roots: Vec<(String, tempfile::TempDir)> = vec![];
        for case in crate::support::cases::all() {
            let name = case.strip_prefix(repo()).unwrap().display().to_string();
            let tree = hardware::load(&case.join("in/hardware.yaml")).unwrap_or_else(|e| panic!("{e}"));
            roots.push((name, tree.build()));
        }
        roots.push(("odd functions".into(), odd_functions().build()));
        let mut checked = vec![(sample_sysfs(), "samples/sysfs/qemu-igb-2vfs".to_owned())];
        checked.extend(roots.iter().map(|(n, t)| (t.path().to_owned(), n.clone())));
        let mut statuses = std::collections::BTreeSet::new();
        for (root, name) in &checked {
            for all in [false, true] {
                let json = detect_json(root, all);
                let back = harvester_sriov::fuzzing::detect_json_round_trip(&json);
                assert_eq!(back.as_deref(), Ok(json.as_str()), "{name} (--all: {all})");
                let v: serde_json::Value = serde_json::from_str(&json).unwrap();
                for d in v["devices"].as_array().unwrap() {
                    statuses.insert(d["status"].as_str().unwrap().to_owned());
                }
            }
        }
        // the trees give every status detect can give a fake tree but firmware-limited
        assert!(statuses.len() >= 7, "{statuses:?}");
    }
}
