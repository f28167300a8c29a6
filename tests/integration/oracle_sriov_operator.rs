//! sriov-network-operator's own admission webhook (v1.6.0, tests/oracles/
//! sriov-network-operator) on every object the real binary hands over, against
//! the SriovNetworkNodeState of the same fake sysfs after the tool's boot step
//! and the chart's supported-nic-ids.

use std::process::Command;

use serde_json::Value;

use crate::support::apply;
use crate::support::hardware::{Nic, igb, mgmt, with_mtu};
use crate::support::oracle::{
    apply_sample, boot, config_samples, hostname, json_lines, manifests_with_kind, node_labels, oracle, run,
    write_manifests,
};
use crate::support::tree::Tree;

struct Run {
    code: i32,
    verdicts: Vec<Value>,
    text: String,
}

/// apply + boot on `hw` with `config`, then the oracle on the node's manifests.
fn judge(hw: &Tree, node: &str, config: &str, extra: &[&str]) -> Run {
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("install-config.yaml");
    std::fs::write(&cfg, config).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    let applied = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "apply failed:\n{applied}");
    let booted = boot(sysfs.path(), target.path());
    let dir = tempfile::tempdir().unwrap();
    let files = write_manifests(target.path(), dir.path());
    if files.is_empty() {
        // nothing handed over: nothing for the webhook to refuse
        return Run {
            code: 0,
            verdicts: vec![],
            text: format!("{applied}\n{booted}\nno manifests"),
        };
    }
    let mut cmd = Command::new(oracle("sriov-network-operator"));
    cmd.arg("--node")
        .arg(format!("{node}={}", sysfs.path().display()));
    for l in node_labels(target.path()) {
        cmd.arg("--label").arg(format!("{node}:{l}"));
    }
    cmd.args(extra).args(&files);
    let (code, stdout, stderr) = run(&mut cmd);
    let shown: String = files
        .iter()
        .map(|f| format!("--- {}\n{}", f.display(), std::fs::read_to_string(f).unwrap()))
        .collect();
    Run {
        code,
        verdicts: json_lines(&stdout),
        text: format!("{applied}\n{booted}\n{shown}\noracle exit {code}\n{stdout}{stderr}"),
    }
}

fn objects<'a>(r: &'a Run, kind: &str) -> Vec<&'a Value> {
    r.verdicts.iter().filter(|v| v["kind"] == kind).collect()
}

const VFIO: &str = "os:\n  hostname: node-a\ninstall:\n  mode: create\n  management_interface:\n    interfaces:\n      - name: eno1\n\
sriov:\n  enabled: true\n  num_vfs: 4\n  device_type: vfio-pci\n  resource_name: sriovnics\n  operator: sriov-network-operator\n";

#[test]
fn the_operator_webhook_admits_every_object_the_tool_hands_over() {
    let a = igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01");
    let b = igb("0000:01:00.1", "ens1f1", "52:54:00:12:34:02");
    let hw = Tree::new()
        .function(mgmt())
        .function(with_mtu(&a))
        .function(with_mtu(&b));
    let r = judge(&hw, "node-a", VFIO, &[]);
    assert_eq!(
        r.code, 0,
        "the operator would refuse or ignore an object:\n{}",
        r.text
    );
    let policies = objects(&r, "SriovNetworkNodePolicy");
    assert!(
        !policies.is_empty(),
        "no SriovNetworkNodePolicy handed over:\n{}",
        r.text
    );
    for p in policies {
        assert_eq!(p["admitted"], true, "{}", r.text);
        assert_eq!(
            p["checked"], "webhook.MutateCustomResource+webhook.ValidateCustomResource",
            "{}",
            r.text
        );
        assert_eq!(p["namespace"], "sriov-network-operator", "{}", r.text);
    }
    // the chart owns `default` (sriovOperatorConfig.deploy); a second one fights it
    assert!(
        objects(&r, "SriovOperatorConfig").is_empty(),
        "the tool hands over a SriovOperatorConfig:\n{}",
        r.text
    );
}

#[test]
fn netdevice_vfs_with_a_jumbo_mtu_are_admitted_after_boot_set_the_mtu() {
    let a = igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01");
    let hw = Tree::new().function(mgmt()).function(with_mtu(&a));
    let cfg = "os:\n  hostname: node-b\ninstall:\n  mode: join\n  management_interface:\n    interfaces:\n      - name: eno1\n\
sriov:\n  enabled: true\n  num_vfs: 2\n  device_type: netdevice\n  resource_name: sriov_net\n  mtu: 9000\n  operator: sriov-network-operator\n";
    let r = judge(&hw, "node-b", cfg, &[]);
    assert_eq!(r.code, 0, "{}", r.text);
    assert!(!objects(&r, "SriovNetworkNodePolicy").is_empty(), "{}", r.text);
}

/// An 82576 (supported) and an Intel I350 (8086:1521, VF 1520), which is not
/// in the chart's supported-nic-ids.
fn igb_and_i350() -> Tree {
    let i350 = Nic {
        ids: (0x8086, 0x1521),
        vf_device: 0x1520,
        ..igb("0000:02:00.0", "ens2f0", "52:54:00:12:34:05")
    };
    let a = igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01");
    Tree::new()
        .function(mgmt())
        .function(with_mtu(&a))
        .function(with_mtu(&i350))
}

#[test]
fn a_nic_outside_the_supported_list_is_not_handed_over_as_is() {
    let r = judge(&igb_and_i350(), "node-a", VFIO, &[]);
    // whatever the tool writes for it, the webhook must not refuse it
    assert_eq!(r.code, 0, "{}", r.text);
    assert!(!objects(&r, "SriovNetworkNodePolicy").is_empty(), "{}", r.text);
}

#[test]
fn the_supported_extra_nics_line_the_tool_prints_makes_the_webhook_admit_the_nic() {
    // handed over on request, with the chart line to add: the oracle's
    // supported-nic-ids gets exactly that line, as the chart would render it
    let cfg = VFIO.to_owned() + "  operator_extra_nics: true\n";
    let hw = igb_and_i350();
    let first = judge(&hw, "node-a", &cfg, &[]);
    let line = first
        .text
        .lines()
        .find_map(|l| {
            let i = l.find("supportedExtraNICs")?;
            let rest = &l[i..];
            let a = rest.find("['")? + 2;
            let b = rest.find("']")?;
            Some(rest[a..b].to_owned())
        })
        .unwrap_or_else(|| panic!("apply printed no supportedExtraNICs line:\n{}", first.text));
    assert!(line.contains("\"8086 1521 1520\""), "{line}");
    let r = judge(&hw, "node-a", &cfg, &["--extra-nic", &line]);
    assert_eq!(r.code, 0, "{}", r.text);
    // the I350 is handed over (a policy selecting device 1521) and admitted
    assert!(
        r.text.contains("deviceID: \"1521\""),
        "no policy for the I350:\n{}",
        r.text
    );
}

#[test]
fn the_oracle_refuses_what_the_released_webhook_refuses() {
    // the oracle has teeth: a hand-written policy with a `-` in resourceName and
    // one asking for more VFs than the PF has now (externallyManaged)
    let a = igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01");
    let sysfs = Tree::new().function(mgmt()).function(with_mtu(&a)).build();
    let dir = tempfile::tempdir().unwrap();
    let policy = |name: &str, resource: &str| {
        format!(
            "---\napiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetworkNodePolicy\nmetadata:\n  name: {name}\n  namespace: sriov-network-operator\n\
spec:\n  resourceName: {resource}\n  nodeSelector:\n    kubernetes.io/hostname: node-a\n  numVfs: 4\n  nicSelector:\n    vendor: \"8086\"\n    deviceID: \"10c9\"\n    pfNames: [ens1f0]\n  deviceType: vfio-pci\n  externallyManaged: true\n"
        )
    };
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, policy("p1", "sriov-nics") + &policy("p2", "sriov_nics")).unwrap();
    let mut cmd = Command::new(oracle("sriov-network-operator"));
    cmd.arg("--node")
        .arg(format!("node-a={}", sysfs.path().display()))
        .arg(&file);
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let v = json_lines(&stdout);
    assert!(
        v[0]["reason"]
            .as_str()
            .unwrap()
            .contains("resource name \"sriov-nics\" contains invalid characters"),
        "{stdout}"
    );
    assert!(
        v[1]["reason"]
            .as_str()
            .unwrap()
            .contains("is higher than the virtual functions allocated for the PF externally value(0)"),
        "{stdout}"
    );
}

#[test]
fn every_config_sample_that_hands_over_to_the_operator_is_admitted_on_the_shipped_snapshot() {
    let mut judged = 0;
    for config in config_samples() {
        let (_keep, sysfs, target, log) = apply_sample(&config);
        let node = hostname(&config);
        let dir = tempfile::tempdir().unwrap();
        let Some(files) = manifests_with_kind(target.path(), dir.path(), "SriovNetworkNodePolicy") else {
            continue;
        };
        judged += 1;
        let mut cmd = Command::new(oracle("sriov-network-operator"));
        cmd.arg("--node").arg(format!("{node}={}", sysfs.display()));
        for l in node_labels(target.path()) {
            cmd.arg("--label").arg(format!("{node}:{l}"));
        }
        cmd.args(&files);
        let (code, stdout, stderr) = run(&mut cmd);
        let shown: String = files
            .iter()
            .map(|f| format!("--- {}\n{}", f.display(), std::fs::read_to_string(f).unwrap()))
            .collect();
        assert_eq!(code, 0, "{log}\n{shown}\noracle exit {code}\n{stdout}{stderr}");
    }
    assert!(
        judged > 0,
        "no config sample hands over to sriov-network-operator"
    );
}

/// Issue 19 item 7, with the operator's own renderer: the
/// NetworkAttachmentDefinition its controller makes from the tool's
/// `SriovNetwork` ((*SriovNetwork).RenderNetAttDef, api/v1/helper.go) gives
/// sriov-cni the VLAN and QoS the host sets, and no spoof check, trust, link
/// state or rate (sriov-cni's ApplyVFConfig sets those only when named, so
/// the host's stay); a `SriovNetwork` without `vlan` renders `"vlan":0`,
/// which sriov-cni would set at every attach.
#[test]
fn the_operators_renderer_gives_sriov_cni_the_hosts_vlan_and_no_flag_of_its_own() {
    let a = igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01");
    let b = igb("0000:01:00.1", "ens1f1", "52:54:00:12:34:02");
    let hw = Tree::new()
        .function(mgmt())
        .function(with_mtu(&a))
        .function(with_mtu(&b));
    let cfg = VFIO.to_owned()
        + "  vfs:\n    - {vlan_id: 100, qos: 3, spoof_check: false, trust: true, max_tx_rate: 100}\n  network: {name: sriov-vms, namespace: vms}\n";
    let r = judge(&hw, "node-a", &cfg, &[]);
    assert_eq!(r.code, 0, "{}", r.text);
    let nets = objects(&r, "SriovNetwork");
    assert_eq!(nets.len(), 1, "{}", r.text);
    let nad = &nets[0]["netAttachDef"];
    assert_eq!(
        (&nad["name"], &nad["namespace"], &nad["resourceName"]),
        (
            &Value::from("sriov-vms"),
            &Value::from("vms"),
            &Value::from("openshift.io/sriovnics")
        ),
        "{}",
        r.text
    );
    let c = &nad["config"];
    assert_eq!(c["type"], "sriov", "{}", r.text);
    assert_eq!(
        (&c["vlan"], &c["vlanQoS"]),
        (&Value::from(100), &Value::from(3)),
        "{}",
        r.text
    );
    for key in [
        "vlanProto",
        "spoofchk",
        "trust",
        "link_state",
        "min_tx_rate",
        "max_tx_rate",
    ] {
        assert!(c.get(key).is_none(), "the CNI config names {key}:\n{}", r.text);
    }

    // the premise: without `vlan` the operator still renders one, 0
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.yaml");
    std::fs::write(
        &file,
        "apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetwork\nmetadata:\n  name: plain\n  namespace: sriov-network-operator\nspec:\n  resourceName: sriovnics\n  networkNamespace: vms\n  ipam: \"{}\"\n",
    )
    .unwrap();
    let sysfs = hw.build();
    let mut cmd = Command::new(oracle("sriov-network-operator"));
    cmd.arg("--node")
        .arg(format!("node-a={}", sysfs.path().display()))
        .arg(&file);
    let (_, stdout, stderr) = run(&mut cmd);
    let v = json_lines(&stdout);
    let c = &v[0]["netAttachDef"]["config"];
    assert_eq!(
        (&c["vlan"], &c["vlanQoS"]),
        (&Value::from(0), &Value::from(0)),
        "{stdout}{stderr}"
    );
}
