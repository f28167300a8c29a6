//! Per-VF settings (issue 19) as a user meets them in `plan` and `apply`:
//! what the plan cannot give is refused with the key that asked for it and
//! nothing written; what it can give is recorded resolved, the same at every
//! run. (The case `tests/cases/apply/per-vf-settings` has the whole written tree;
//! tests/integration/e2e.rs has the settings landing on a real kernel.)

use crate::support::hardware;
use crate::support::{apply, snapshot};

const HEAD: &str = "os:\n  hostname: node-v\nsriov:\n  enabled: true\n  num_vfs: 4\n  device_type: netdevice\n  operator: none\n";

/// (the rest of the `sriov:` section, the one message the user must see)
fn rows() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "  devices:\n    - match: {interface: ens1f0}\n      vfs: [{id: 0, link_state: enable}]\n",
            ": sriov.devices[0].vfs[0].link_state: 0000:01:00.0 (ens1f0): driver igb has no ndo_set_vf_link_state (torvalds/linux:drivers/net/ethernet/intel/igb/igb_main.c): `link_state` cannot be set\n",
        ),
        (
            "  devices:\n    - match: {interface: ens1f0}\n      vfs: [{id: 1, vlan_id: 5, vlan_proto: 802.1ad}]\n",
            ": sriov.devices[0].vfs[0].vlan_proto: 0000:01:00.0 (ens1f0): driver igb: igb_ndo_set_vf_vlan takes 802.1Q only (EPROTONOSUPPORT) (torvalds/linux:drivers/net/ethernet/intel/igb/igb_main.c): `vlan_proto` cannot be set\n",
        ),
        (
            "  devices:\n    - match: {interface: ens1f0}\n      vfs: [{id: 1, min_tx_rate: 10}]\n",
            ": sriov.devices[0].vfs[0].min_tx_rate: 0000:01:00.0 (ens1f0): driver igb: igb_ndo_set_vf_bw takes a max rate only (EINVAL for a min rate) (torvalds/linux:drivers/net/ethernet/intel/igb/igb_main.c): `min_tx_rate` cannot be set\n",
        ),
        (
            "  devices:\n    - match: {interface: ens2f1}\n      vfs: [{ids: \"2-3\", min_tx_rate: 10, max_tx_rate: 100}]\n",
            ": sriov.devices[0].vfs[0].min_tx_rate: 0000:3b:00.1 (ens2f1): driver i40e: its set_vf_rate op refuses a min rate (EINVAL) (torvalds/linux:drivers/net/ethernet/intel/i40e/i40e_main.c): `min_tx_rate` cannot be set\n",
        ),
        // A section-wide default the igb cannot take names the default.
        (
            "  vfs:\n    - link_state: auto\n",
            ": sriov.vfs[0].link_state: 0000:01:00.0 (ens1f0): driver igb has no ndo_set_vf_link_state (torvalds/linux:drivers/net/ethernet/intel/igb/igb_main.c): `link_state` cannot be set\n",
        ),
        // Without its own num_vfs the rule's PF gets the section's 4.
        (
            "  devices:\n    - match: {interface: ens2f0}\n      vfs: [{id: 4, trust: true}]\n",
            ": sriov.devices[0].vfs[0].id: VF 4 does not exist on 0000:3b:00.0 (ens2f0): it gets 4 VFs (indexes 0-3)\n",
        ),
        (
            "  vfs:\n    - {ids: \"0-5\", trust: true}\n",
            ": sriov.vfs[0].ids: VF 5 does not exist on 0000:01:00.0 (ens1f0): it gets 4 VFs (indexes 0-3)\n",
        ),
        (
            "  devices:\n    - match: {interface: ens2f0}\n      num_vfs: 2\n      vfs: [{id: 2, trust: true}]\n",
            ": sriov.devices[0].vfs[0].id: VF 2 does not exist: the rule makes 2 VFs (indexes 0-1)\n",
        ),
        (
            "  devices:\n    - match: {interface: ens2f0}\n      vfs: [{id: 0, mac_address: \"52:54:00:12:34:01\"}]\n",
            ": sriov.devices[0].vfs[0].mac_address: 52:54:00:12:34:01 is the MAC of a network function on this node\n",
        ),
        (
            "  devices:\n    - match: {interface: ens2f0}\n      vfs: [{id: 0, mac_address: \"02:00:00:00:00:01\"}]\n    - match: {interface: ens2f1}\n      vfs: [{id: 3, mac_address: \"02:00:00:00:00:01\"}]\n",
            ": sriov.devices[1].vfs[0].mac_address: 02:00:00:00:00:01 is also the MAC of sriov.devices[0].vfs[0].mac_address\n",
        ),
        (
            "  vfs:\n    - {id: 0, mac_address: \"02:00:00:00:00:01\"}\n",
            ": sriov.vfs[0].mac_address: \"02:00:00:00:00:01\" would be given to a VF of every PF: a fixed MAC belongs in a device rule's `vfs:` (one `id`); here, use `stable`\n",
        ),
        (
            "  devices:\n    - match: {interface: ens2f0}\n      enabled: false\n      vfs: [{id: 0, trust: true}]\n",
            ": sriov.devices[0].vfs: sets per-VF settings on a rule with enabled: false; choose one\n",
        ),
        (
            "  vfs:\n    - vlan: 5\n",
            ": sriov.vfs[0].vlan: unknown key (did you mean `vlan_id`?)\n",
        ),
        (
            "  vfs:\n    - trust: true\n    - {id: 0, spoof_check: true}\n",
            ": sriov.vfs[1].id: VF 0 is also selected by sriov.vfs[0], which sets every VF\n",
        ),
    ]
}

#[test]
fn a_per_vf_setting_the_plan_cannot_give_is_refused_with_its_key_and_nothing_is_written() {
    let sysfs = hardware::case("apply/per-vf-settings").build();
    let target = tempfile::tempdir().unwrap();
    let before = snapshot(target.path());
    let dir = tempfile::tempdir().unwrap();
    for (i, (rest, want)) in rows().into_iter().enumerate() {
        let config = dir.path().join(format!("row{i}.yaml"));
        std::fs::write(&config, format!("{HEAD}{rest}")).unwrap();
        let out = apply(&config, sysfs.path(), target.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            (out.status.code(), stderr.as_ref()),
            (
                Some(2),
                format!("harvester-sriov: error: {}{want}", config.display()).as_str()
            ),
            "row {i}:\n{rest}"
        );
        assert!(snapshot(target.path()) == before, "row {i}: the target changed");
    }
}

/// The MACs a plan derives are the plan's, not the run's: the same after
/// the PFs move to other PCI addresses and take other names (the identity
/// is the serial number, or the MAC where there is none), and a second
/// `apply` changes nothing.
#[test]
fn stable_macs_follow_the_pf_identity_not_its_address_or_name() {
    let config = crate::support::repo().join("tests/cases/apply/per-vf-settings/in/config.yaml");
    let state_vfs = |sysfs: &std::path::Path| {
        let target = tempfile::tempdir().unwrap();
        let out = apply(&config, sysfs, target.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let state = std::fs::read_to_string(target.path().join("oem/harvester-sriov/state.json")).unwrap();
        let again = apply(&config, sysfs, target.path());
        assert!(again.status.success());
        assert_eq!(
            std::fs::read_to_string(target.path().join("oem/harvester-sriov/state.json")).unwrap(),
            state,
            "a second apply changed the state"
        );
        let v: serde_json::Value = serde_json::from_str(&state).unwrap();
        v["pfs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pf| (pf["serial"].clone(), pf["mac"].clone(), pf["vfs"].clone()))
            .collect::<Vec<_>>()
    };
    let here = state_vfs(hardware::case("apply/per-vf-settings").build().path());
    // The X710 ports swap slots and names.
    use crate::support::hardware::{igb, x710};
    let t = crate::support::tree::Tree::new()
        .function(crate::support::hardware::mgmt())
        .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
        .function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:02", 0x001b21ffff2b46e1).function())
        .function(x710("0000:3b:00.1", "ens2f1", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function());
    let moved = state_vfs(t.build().path());
    let mut a = here.clone();
    let mut b = moved.clone();
    let key = |x: &(serde_json::Value, serde_json::Value, serde_json::Value)| x.0.to_string();
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a, b);
    let macs: Vec<String> = here
        .iter()
        .flat_map(|(_, _, vfs)| vfs.as_array().unwrap().iter())
        .filter_map(|v| v["mac"].as_str().map(str::to_owned))
        .collect();
    let unique: std::collections::BTreeSet<&String> = macs.iter().collect();
    assert_eq!(macs.len(), 8);
    assert_eq!(unique.len(), 8, "{macs:?}");
}

/// `verify` reads the per-VF settings back from the kernel: on a tree whose
/// PF netdev this kernel does not have, it says so for the PF that has VFs
/// instead of passing it (the PFs without VFs get the count line), and the
/// state with per-VF settings reads back as written.
#[test]
fn verify_reads_per_vf_settings_from_the_kernel_and_says_when_it_cannot() {
    use crate::support::hardware::{Nic, igb, x710};
    let config = crate::support::repo().join("tests/cases/apply/per-vf-settings/in/config.yaml");
    let sysfs = crate::support::tree::Tree::new()
        .function(crate::support::hardware::mgmt())
        .function(
            Nic {
                num_vfs: 4,
                ..igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
            }
            .function(),
        )
        .function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
        .function(x710("0000:3b:00.1", "ens2f1", "3c:fd:fe:00:00:02", 0x001b21ffff2b46e1).function());
    // The igb's 4 VFs at offset 128, stride 2 (0000:01:10.0 ...).
    let vfs = ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"];
    let sysfs = vfs
        .iter()
        .fold(sysfs, |t, vf| {
            t.function(
                crate::support::tree::Function::new(
                    vf,
                    crate::support::space::Space::pcie(0xffff, 0xffff, 0x020000).bytes(),
                )
                .ids(0x8086, 0x10ca)
                .class(0x020000)
                .driver("igbvf"),
            )
        })
        .link_vfs("0000:01:00.0", &vfs)
        .build();
    let target = tempfile::tempdir().unwrap();
    assert!(apply(&config, sysfs.path(), target.path()).status.success());
    let out = crate::support::bin()
        .args(["verify", "--sysfs"])
        .arg(sysfs.path())
        .arg("--target")
        .arg(target.path())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("state.json"), "{stdout}");
    let lines: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "  0000:01:00.0 (ens1f0): reading per-VF settings: ens1f0: the kernel refused RTM_GETLINK: ENODEV (no such device)",
            "  0000:3b:00.0 (ens2f0): 0 VFs, 2 planned",
            "  0000:3b:00.1 (ens2f1): 0 VFs, 2 planned",
        ],
        "{stdout}"
    );
}

/// `vf-added` (the udev rule's command) on a fake tree: a function that is no VF, and a VF of a
/// PF the plan does not give settings to, are not its business (exit 0, nothing said: udev runs
/// it for every VF of the node); a planned VF whose PF netdev this kernel does not have is one
/// FAILED line naming the VF, its index and the kernel's answer, exit 1; what is not a PCI
/// address is refused the same way. Nothing is written to the tree.
#[test]
fn vf_added_acts_only_on_planned_vfs_and_names_what_failed() {
    use crate::support::hardware::{Nic, igb, x710};
    use crate::support::space::Space;
    use crate::support::tree::{Function, Tree};
    let config = crate::support::repo().join("tests/cases/apply/per-vf-settings/in/config.yaml");
    let vf = |a: &str| {
        Function::new(a, Space::pcie(0xffff, 0xffff, 0x020000).bytes())
            .ids(0x8086, 0x10ca)
            .class(0x020000)
            .driver("igbvf")
    };
    let sysfs = Tree::new()
        .function(crate::support::hardware::mgmt())
        .function(
            Nic {
                num_vfs: 4,
                ..igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
            }
            .function(),
        )
        .function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
        .function(x710("0000:3b:00.1", "ens2f1", "3c:fd:fe:00:00:02", 0x001b21ffff2b46e1).function())
        // An igb the config has no rule for (its VFs get the section's defaults: planned too)
        // is not here; 05:00.0 is not SR-IOV planned at all: an NVMe-like function with a VF.
        .function(vf("0000:01:10.0"))
        .function(vf("0000:01:10.2"))
        .function(vf("0000:01:10.4"))
        .function(vf("0000:01:10.6"))
        .link_vfs(
            "0000:01:00.0",
            &["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"],
        )
        .build();
    let target = tempfile::tempdir().unwrap();
    assert!(apply(&config, sysfs.path(), target.path()).status.success());
    let state = target.path().join("oem/harvester-sriov/state.json");
    let before = (snapshot(sysfs.path()), snapshot(target.path()));
    let run = |address: &str| {
        let out = crate::support::bin()
            .args(["vf-added", "--sysfs"])
            .arg(sysfs.path())
            .arg("--state")
            .arg(&state)
            .arg(address)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        // The time it took is the run's: cut it off.
        let stdout = match stdout.rfind(" (in ") {
            Some(i) if stdout.ends_with(" ms)\n") => format!("{}\n", &stdout[..i]),
            _ => stdout,
        };
        (
            out.status.code(),
            stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A PF is no VF; the management NIC neither.
    assert_eq!(run("0000:01:00.0"), (Some(0), String::new(), String::new()));
    assert_eq!(run("0000:00:19.0"), (Some(0), String::new(), String::new()));
    assert_eq!(
        run("0000:01:10.2"),
        (
            Some(1),
            "harvester-sriov vf-added: 0000:01:10.2: FAILED: VF 1 of 0000:01:00.0 (ens1f0): per-VF settings: ens1f0: the kernel refused RTM_GETLINK: ENODEV (no such device)\n".into(),
            String::new()
        )
    );
    assert_eq!(
        run("../../etc"),
        (
            Some(1),
            "harvester-sriov vf-added: ../../etc: FAILED: \"../../etc\" is not a PCI address\n".into(),
            String::new()
        )
    );
    assert!(before == (snapshot(sysfs.path()), snapshot(target.path())));
}
