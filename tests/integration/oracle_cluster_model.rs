//! The multi-node story of issue 9 through tests/oracles/cluster-model (a model
//! of rke2's deploy controller and pcidevices' discovery and reset, each rule
//! citing its upstream file): a create node, two join nodes (rke2 agents), one
//! of them promoted, one removed; each node's files from the real binary's
//! `apply` on its own fake sysfs, its VFs from the real binary's `boot`. Every
//! node's planned VFs must end usable and no step may prune, reset or fight
//! over anything.
//!
//! Issue 17's rename step: a node reboots with its PF under another name; the
//! model runs the real binary's `boot` before rke2 (it follows the rename),
//! rke2 applies what it left, the pcidevices agents run; the count must land
//! on the new name with nothing torn down or fought over. The negative control
//! runs the same `boot` from a state that is not the node's own, so nothing
//! follows, and the model must name the lost count.

use std::path::Path;
use std::process::Command;

use crate::support::apply;
use crate::support::hardware::{igb, mgmt, with_mtu, x710};
use crate::support::oracle::{
    MANIFESTS, RKE2_CONFIG_D, boot, json_lines, node_files, node_labels, oracle, run, state_file,
    write_manifests,
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
/// the model reads (sysfs, manifests/, labels, skip-nics, rke2-config, boot).
/// `follow`: the node's boot at a reboot is the tool's own (`boot --target`,
/// which follows a renamed PF); without it, boot reads the same state through
/// `--state` and, that state not being the root's own, rewrites nothing: the
/// VFs as before, the files as a tool without the follow leaves them.
fn install(root: &Path, name: &str, mode: &str, operator: &str, hw: &Tree, follow: bool) -> String {
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
    // rke2's config.yaml.d as yip lays it out at boot (the model merges its
    // node labels at each rke2 start; the tool's boot rewrites it on a rename)
    let config_d = target.join(RKE2_CONFIG_D.trim_start_matches('/'));
    std::fs::create_dir_all(&config_d).unwrap();
    for (path, bytes) in node_files(&target) {
        if let Some(file) = path.strip_prefix(RKE2_CONFIG_D) {
            std::fs::write(config_d.join(file), bytes).unwrap();
        }
    }
    std::os::unix::fs::symlink(&config_d, dir.join("rke2-config")).unwrap();
    // the tool's boot, run by the model at a reboot (before rke2)
    let me = env!("CARGO_BIN_EXE_harvester-sriov").to_owned();
    let (t, s) = (target.display().to_string(), sysfs.display().to_string());
    let argv = if follow {
        vec![
            me,
            "boot".into(),
            "--target".into(),
            t,
            "--sysfs".into(),
            s,
            "--wait".into(),
            "0".into(),
        ]
    } else {
        let state = state_file(&target).display().to_string();
        vec![
            me,
            "boot".into(),
            "--state".into(),
            state,
            "--sysfs".into(),
            s,
            "--wait".into(),
            "0".into(),
        ]
    };
    std::fs::write(dir.join("boot"), argv.join("\n")).unwrap();
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
    let t = tell_with(operator, story, true);
    (t.code, t.told, t.stderr, t.log)
}

/// What the model said.
struct Told {
    code: i32,
    /// The story, step by step, for failure messages.
    told: String,
    /// Its JSON lines.
    lines: Vec<serde_json::Value>,
    stderr: String,
    log: String,
}

impl Told {
    /// Everything, for a failure message.
    fn all(&self) -> String {
        format!("{}\n{}\n--- installs\n{}", self.told, self.stderr, self.log)
    }

    /// The JSON line of each step whose step starts with `prefix`.
    fn steps(&self, prefix: &str) -> Vec<&serde_json::Value> {
        self.lines
            .iter()
            .filter(|l| l["step"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .collect()
    }

    /// The summary's cluster objects.
    fn cluster(&self) -> &Vec<serde_json::Value> {
        let summary = self
            .lines
            .iter()
            .find(|l| l["summary"] == true)
            .expect("a summary line");
        summary["cluster"].as_array().unwrap()
    }

    /// Every event of every step: (text, bad).
    fn events(&self) -> Vec<(String, bool)> {
        self.lines
            .iter()
            .filter_map(|l| l["events"].as_array())
            .flatten()
            .map(|e| (e["text"].as_str().unwrap().to_owned(), e["bad"] == true))
            .collect()
    }
}

/// Run the model on three installed nodes, their boot following a rename or not.
fn tell_with(operator: &str, story: &str, follow: bool) -> Told {
    let root = tempfile::tempdir().unwrap();
    let mut log = String::new();
    log += &install(root.path(), "node-a", "create", operator, &igb_node(), follow);
    log += &install(root.path(), "node-b", "join", operator, &igb_node(), follow);
    log += &install(root.path(), "node-c", "join", operator, &x710_node(), follow);
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
            for r in line["renames"].as_array().into_iter().flatten() {
                told += &format!(
                    "     rename {} {} {} -> {}: landed={} holder={} count={} vfs={} why={}\n",
                    r["node"].as_str().unwrap(),
                    r["address"].as_str().unwrap(),
                    r["from"].as_str().unwrap(),
                    r["to"].as_str().unwrap(),
                    r["landed"],
                    r["holder"],
                    r["count"],
                    r["vfs"],
                    r["why"]
                );
            }
        } else if line["summary"] == true {
            told += &format!("summary: ok={} reasons={}\n", line["ok"], line["reasons"]);
        }
    }
    println!("{told}");
    Told {
        code,
        told,
        lines: json_lines(&stdout),
        stderr,
        log,
    }
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

/// Issue 17: an upgrade renames a server's PF (v1.6 -> v1.7: enp6s0f0 ->
/// enp6s0f0np0; here ens1f0 -> ens1f0np0) between two rke2 starts. The
/// tool's boot follows before rke2, rke2 applies the rewritten hand-off, and
/// the agents run: the count lands on the new name, nothing is torn down,
/// nothing is fought over. Then a promoted server's PF, the same way.
const RENAME_STORY: &str = "create node-a; join node-b; promote node-b; \
rename node-a ens1f0=ens1f0np0; restart node-a; rename node-b ens1f1=ens1f1np1; restart node-b";

/// The rename reports of the story's rename steps, each asserted landed.
fn assert_renames_landed(t: &Told, operator: &str) -> Vec<serde_json::Value> {
    assert_eq!(t.code, 0, "a rename loses VFs ({operator}):\n{}", t.all());
    let bad: Vec<_> = t.events().into_iter().filter(|(_, bad)| *bad).collect();
    assert!(bad.is_empty(), "{operator}: bad events {bad:?}\n{}", t.all());
    let zero: Vec<_> = t
        .events()
        .into_iter()
        .filter(|(e, _)| e.contains("writes 0 to"))
        .collect();
    assert!(zero.is_empty(), "{operator}: VFs reset {zero:?}\n{}", t.all());
    let steps = t.steps("rename ");
    assert_eq!(steps.len(), 2, "{}", t.all());
    let mut out = vec![];
    for (step, (node, addr, from, to)) in steps.iter().zip([
        ("node-a", "0000:01:00.0", "ens1f0", "ens1f0np0"),
        ("node-b", "0000:01:00.1", "ens1f1", "ens1f1np1"),
    ]) {
        let events: Vec<&str> = step["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["text"].as_str().unwrap())
            .collect();
        // the real boot saw the rename and rewrote the node's files before rke2
        assert!(
            events.iter().any(|e| e.contains(&format!(
                "renamed from {from} to {to} (same MAC): rewrote the state and the hand-off for it, before rke2 starts"
            ))),
            "{operator}: {events:#?}"
        );
        let renames = step["renames"].as_array().unwrap();
        assert_eq!(renames.len(), 1, "{operator}: {renames:#?}");
        let r = &renames[0];
        assert_eq!(
            (&r["node"], &r["address"], &r["from"], &r["to"]),
            (&(*node).into(), &(*addr).into(), &(*from).into(), &(*to).into()),
            "{operator}: {r:#}"
        );
        assert_eq!(r["landed"], true, "{operator}: {r:#}\n{}", t.all());
        assert_eq!(
            (&r["planned"], &r["count"], &r["vfs"], &r["zero_writes"]),
            (&4.into(), &4.into(), &4.into(), &0.into()),
            "{operator}: {r:#}"
        );
        assert_eq!(r["why"], serde_json::json!([]), "{operator}: {r:#}");
        // the node's VFs after the step, as the step reports them
        assert_eq!(step["nodes"][node]["vfs"][addr], 4, "{operator}: {step:#}");
        out.push(r.clone());
    }
    out
}

/// The cluster's objects of `kind`, by name.
fn objects<'a>(t: &'a Told, kind: &str) -> std::collections::BTreeMap<String, &'a serde_json::Value> {
    t.cluster()
        .iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| (o["name"].as_str().unwrap().to_owned(), o))
        .collect()
}

#[test]
fn pcidevices_a_renamed_pf_keeps_its_count_under_the_new_name() {
    let t = tell_with("pcidevices", RENAME_STORY, true);
    let renames = assert_renames_landed(&t, "pcidevices");
    // The old-name object went, and it went as expected (not as a prune or
    // a deletion that loses the count): rke2's apply of the rewritten file
    // prunes it before the agent's pass.
    assert_eq!(renames[0]["holder"], "node-a-ens1f0np0", "{:#}", renames[0]);
    assert_eq!(
        renames[0]["deleted"],
        serde_json::json!(["node-a-ens1f0 (numVFs 4) pruned by Addon \"harvester-sriov-node-node-a\""]),
        "{}",
        t.all()
    );
    assert_eq!(renames[1]["holder"], "node-b-ens1f1np1", "{:#}", renames[1]);
    let devs = objects(&t, "SRIOVNetworkDevice");
    assert_eq!(
        devs.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "node-a-ens1f0np0",
            "node-a-ens1f1",
            "node-b-ens1f0",
            "node-b-ens1f1np1"
        ],
        "{}",
        t.all()
    );
    for (name, addr, nic, node) in [
        ("node-a-ens1f0np0", "0000:01:00.0", "ens1f0np0", "node-a"),
        ("node-b-ens1f1np1", "0000:01:00.1", "ens1f1np1", "node-b"),
    ] {
        let o = devs[name];
        assert_eq!(o["spec"]["numVFs"], 4, "{o:#}");
        assert_eq!(o["spec"]["address"], addr, "{o:#}");
        assert_eq!(o["labels"]["nodename"], node, "{o:#}");
        assert_eq!(
            o["annotations"]["sriov.devices.harvesterhi.io/interface-name"], nic,
            "{o:#}"
        );
    }
    // The start after the rename: the hand-off is not applied again.
    for restart in t.steps("restart ") {
        let text = restart["events"].to_string();
        assert!(
            text.contains("rke2 skips harvester-sriov-node-node-"),
            "{restart:#}"
        );
    }
}

#[test]
fn sriov_network_operator_a_renamed_pf_is_selected_by_the_new_name() {
    let t = tell_with("sriov-network-operator", RENAME_STORY, true);
    let renames = assert_renames_landed(&t, "sriov-network-operator");
    let policies = objects(&t, "SriovNetworkNodePolicy");
    let names_of = |pf_names: &[&str]| -> String {
        let want = serde_json::json!(pf_names);
        let found: Vec<&String> = policies
            .iter()
            .filter(|(_, o)| o["spec"]["nicSelector"]["pfNames"] == want)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(found.len(), 1, "pfNames {want}: {}", t.all());
        let o = policies[found[0]];
        assert_eq!(
            (&o["spec"]["numVfs"], &o["spec"]["externallyManaged"]),
            (&4.into(), &true.into()),
            "{o:#}"
        );
        found[0].clone()
    };
    let before = names_of(&["ens1f0", "ens1f1"]);
    let a = names_of(&["ens1f0np0", "ens1f1"]);
    let b = names_of(&["ens1f0", "ens1f1np1"]);
    assert_eq!(policies.len(), 3, "{}", t.all());
    assert_eq!(renames[0]["holder"], a, "{:#}", renames[0]);
    assert_eq!(renames[1]["holder"], b, "{:#}", renames[1]);
    // The install-time policy stays (a removed file deletes nothing, and k3s
    // never takes a node label away): it still selects node-a and names
    // ens1f0, which node-a no longer has. Said, not bad.
    assert_eq!(
        renames[0]["stale_policies"],
        serde_json::json!([before]),
        "{:#}",
        renames[0]
    );
    assert!(
        t.events().iter().any(|(e, bad)| !bad
            && e.contains(&format!("policy {before} still selects node-a"))
            && e.contains("it selects nothing there by that name")),
        "{}",
        t.all()
    );
}

/// The negative control: the same story, the node's boot reading its state
/// as not its own (`--state`), so it rewrites nothing: the hand-off still
/// names the old interface, as a tool without the follow leaves it. The model
/// must fail it and name the lost count (pcidevices) and the policy that
/// selects a name no longer there (sriov-network-operator).
#[test]
fn without_the_follow_a_rename_loses_the_count_and_the_model_says_so() {
    let story = "create node-a; join node-b; promote node-b; rename node-a ens1f0=ens1f0np0; restart node-a";
    for operator in ["pcidevices", "sriov-network-operator"] {
        let t = tell_with(operator, story, false);
        assert_eq!(
            t.code,
            1,
            "{operator}: a rename without the follow passes:\n{}",
            t.all()
        );
        let step = t.steps("rename ")[0];
        let text = step["events"].to_string();
        assert!(
            text.contains("renamed from ens1f0 to ens1f0np0 (same MAC): the state ")
                && text.contains("not rewritten"),
            "{operator}: {step:#}"
        );
        let r = &step["renames"][0];
        assert_eq!(r["landed"], false, "{operator}: {r:#}");
        let why: Vec<&str> = r["why"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        let summary = t.lines.iter().find(|l| l["summary"] == true).unwrap();
        let reasons = summary["reasons"].to_string();
        if operator == "pcidevices" {
            assert_eq!(
                why,
                [
                    "node-a-ens1f0np0 has numVFs 0, 4 planned: the count was lost",
                    "the PF has 0 VFs, 4 planned"
                ],
                "{}",
                t.all()
            );
            assert_eq!(
                r["deleted"],
                serde_json::json!(["node-a-ens1f0 (numVFs 4) deleted by pcidevices(node-a)"]),
                "{}",
                t.all()
            );
            assert!(reasons.contains("the count was lost"), "{reasons}");
            let devs = objects(&t, "SRIOVNetworkDevice");
            assert!(!devs.contains_key("node-a-ens1f0"), "{}", t.all());
            assert_eq!(devs["node-a-ens1f0np0"]["spec"]["numVFs"], 0, "{}", t.all());
            assert_eq!(
                devs["node-a-ens1f0np0"]["creator"],
                "pcidevices(node-a)",
                "{}",
                t.all()
            );
        } else {
            let stale = r["stale_policies"][0].as_str().unwrap();
            assert_eq!(
                why,
                [
                    "no SriovNetworkNodePolicy in sriov-network-operator selects it by the name it has now (ens1f0np0)".to_owned(),
                    format!("policy {stale} selects pfName ens1f0, which no longer exists on node-a"),
                ],
                "{}",
                t.all()
            );
            assert!(reasons.contains("which no longer exists on node-a"), "{reasons}");
            assert!(
                reasons.contains("end: node-a 0000:01:00.0: planned 4 VFs not usable"),
                "{reasons}"
            );
        }
    }
}
