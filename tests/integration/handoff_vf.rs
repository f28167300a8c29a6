//! Issue 19 item 7: the `SriovNetwork` handed to sriov-network-operator never
//! contradicts the per-VF settings the host sets. The operator always renders
//! `vlan`/`vlanQoS` into the CNI config and sriov-cni sets them at every
//! attach (src/plan/network.rs has the sources), so the object carries the
//! host's VLAN, and names no spoof check, trust, link state or rate, which
//! sriov-cni then leaves as the host set them. What cannot agree is refused at
//! plan: exit 2, one message naming the key, nothing written.
//! (tests/integration/oracle_sriov_operator.rs renders the object with the
//! operator's own code.)

use serde_json::Value;

use crate::support::hardware;
use crate::support::oracle::manifests;
use crate::support::{apply, plan, snapshot};

/// Two igb (82576) PFs, sriov-network-operator, `sriov:` continued by `rest`.
fn config(rest: &str) -> String {
    format!(
        "os:\n  hostname: node-a\ninstall:\n  mode: create\n  management_interface:\n    interfaces:\n      - name: eno1\n      - hwAddr: \"52:54:00:12:34:03\"\n\
sriov:\n  enabled: true\n  num_vfs: 4\n  operator: sriov-network-operator\n{rest}"
    )
}

/// apply; (exit code, stderr, the SriovNetwork's spec if one was written)
fn run(rest: &str) -> (Option<i32>, String, Option<Value>, bool) {
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = tempfile::tempdir().unwrap();
    let before = snapshot(target.path());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("node.yaml");
    std::fs::write(&cfg, config(rest)).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&cfg.display().to_string(), "node.yaml");
    let unchanged = snapshot(target.path()) == before;
    let spec = manifests(target.path()).into_iter().find_map(|(name, bytes)| {
        if !name.starts_with("harvester-sriov-network-") {
            return None;
        }
        let doc: Value = serde_yaml::from_slice(&bytes).unwrap();
        assert_eq!(doc["kind"], "SriovNetwork", "{name}");
        Some(doc["spec"].clone())
    });
    (out.status.code(), stderr, spec, unchanged)
}

#[test]
fn the_sriov_network_carries_the_hosts_vlan_and_names_no_flag_the_host_sets() {
    let (code, stderr, spec, _) = run(
        "  vfs:\n    - {vlan_id: 100, qos: 3, spoof_check: false, trust: true, max_tx_rate: 100}\n  network: {name: sriov-vms, namespace: vms}\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    let spec = spec.unwrap_or_else(|| panic!("no SriovNetwork written:\n{stderr}"));
    assert_eq!(
        spec,
        serde_json::json!({
            "resourceName": "sriovnics",
            "networkNamespace": "vms",
            "vlan": 100,
            "vlanQoS": 3,
            "ipam": "{}",
        }),
        "{stderr}"
    );
}

#[test]
fn a_network_vlan_equal_to_the_hosts_is_kept_and_one_without_a_host_vlan_is_the_users() {
    let (code, stderr, spec, _) =
        run("  vfs:\n    - {vlan_id: 100}\n  network: {name: sriov-vms, vlan: 100}\n");
    assert_eq!(code, Some(0), "{stderr}");
    let spec = spec.unwrap();
    assert_eq!(spec["vlan"], 100, "{spec}");
    assert!(spec.get("vlanQoS").is_none(), "{spec}");
    // the host sets trust only: the network's VLAN is the only VLAN there is
    let (code, stderr, spec, _) =
        run("  vfs:\n    - {trust: true}\n  network: {name: sriov-vms, vlan: 300}\n");
    assert_eq!(code, Some(0), "{stderr}");
    let spec = spec.unwrap();
    assert_eq!(spec["vlan"], 300, "{spec}");
    assert!(spec.get("trust").is_none(), "{spec}");
}

#[test]
fn a_sriov_network_that_would_undo_the_hosts_vlan_is_refused_and_nothing_is_written() {
    let rows = [
        (
            "  vfs:\n    - {vlan_id: 100}\n  network: {name: sriov-vms, vlan: 200}\n",
            "harvester-sriov: error: node.yaml: sriov.network.vlan: 200 contradicts the vlan_id 100 the host sets on VF 0 of 0000:01:00.0 (ens1f0): sriov-cni would set vlan 200 on the VF at every attach (k8snetworkplumbingwg/sriov-cni:pkg/sriov/sriov.go ApplyVFConfig); leave sriov.network.vlan out (the SriovNetwork then carries 100) or make it 100\n",
        ),
        (
            "  devices:\n    - match: {interface: ens1f1}\n      vfs: [{ids: \"2-3\", vlan_id: 200}]\n  vfs:\n    - {vlan_id: 100}\n  network: {name: sriov-vms}\n",
            "harvester-sriov: error: node.yaml: sriov.network: SriovNetwork sriov-vms serves every VF of resource sriovnics, and the host sets vlan_id 100 on VF 0 of 0000:01:00.0 (ens1f0) but vlan_id 200 on VF 2 of 0000:01:00.1 (ens1f1): the operator renders one `vlan` into its NetworkAttachmentDefinition and sriov-cni sets it on whichever VF a VM gets (k8snetworkplumbingwg/sriov-cni:pkg/sriov/sriov.go ApplyVFConfig); give those VFs one vlan_id, or leave sriov.network out\n",
        ),
        (
            "  devices:\n    - match: {interface: ens1f0}\n      vfs: [{id: 0, vlan_id: 100}, {id: 1, vlan_id: 100, qos: 5}]\n  network: {name: sriov-vms}\n",
            "harvester-sriov: error: node.yaml: sriov.network: SriovNetwork sriov-vms serves every VF of resource sriovnics, and the host sets vlan_id 100 on VF 0 of 0000:01:00.0 (ens1f0) but vlan_id 100 qos 5 on VF 1 of 0000:01:00.0 (ens1f0): the operator renders one `vlan` into its NetworkAttachmentDefinition and sriov-cni sets it on whichever VF a VM gets (k8snetworkplumbingwg/sriov-cni:pkg/sriov/sriov.go ApplyVFConfig); give those VFs one vlan_id, or leave sriov.network out\n",
        ),
        (
            "  vfs:\n    - {vlan_id: 0, qos: 3}\n  network: {name: sriov-vms}\n",
            "harvester-sriov: error: node.yaml: sriov.network: the host sets vlan_id 0 qos 3 on VF 0 of 0000:01:00.0 (ens1f0), which the SriovNetwork must carry, and sriov-cni refuses a non-zero vlanQoS with vlan 0 (k8snetworkplumbingwg/sriov-cni:pkg/config/config.go LoadConf): every attach would fail; change that VF's VLAN or leave sriov.network out\n",
        ),
        (
            "  vfs:\n    - {vlan_id: 4095}\n  network: {name: sriov-vms}\n",
            "harvester-sriov: error: node.yaml: sriov.network: the host sets vlan_id 4095 on VF 0 of 0000:01:00.0 (ens1f0), which the SriovNetwork must carry, and sriov-cni refuses a vlan above 4094 (k8snetworkplumbingwg/sriov-cni:pkg/config/config.go LoadConf): every attach would fail; change that VF's VLAN or leave sriov.network out\n",
        ),
    ];
    for (i, (rest, want)) in rows.into_iter().enumerate() {
        let (code, stderr, spec, unchanged) = run(rest);
        assert_eq!((code, stderr.as_str()), (Some(2), want), "row {i}:\n{rest}");
        assert!(spec.is_none() && unchanged, "row {i}: something was written");
    }
    // `plan` refuses it alike
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("node.yaml");
    std::fs::write(&cfg, config(rows[0].0)).unwrap();
    let out = plan(&cfg, sysfs.path(), target.path());
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&cfg.display().to_string(), "node.yaml");
    assert_eq!((out.status.code(), stderr.as_str()), (Some(2), rows[0].1));
}
