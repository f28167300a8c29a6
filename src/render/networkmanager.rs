//! NetworkManager, the host's network stack from Harvester v1.7 on (wicked
//! before): the drop-in that keeps it off the VFs, and the check of its
//! profiles for one that would own a planned PF's SR-IOV. Pure. docs/node-files.md,
//! "NetworkManager (Harvester v1.7 and later)".
//!
//! What Harvester gives NM (harvester/harvester-installer, v1.7.0 on):
//! `pkg/config/cos.go` `UpdateManagementInterfaceConfig` (`updateBond`,
//! `updateBridge`) writes the only profiles, from the install config (on an
//! upgrade from v1.6, `generate-network-config` writes them from
//! `/oem/harvester.config`: harvester/harvester:`package/upgrade/upgrade_node.sh`
//! `generate_networkmanager_config`): `bond-mgmt`, `bond-slave-<nic>` (an
//! ethernet port of the bond, `interface-name=` the management NIC),
//! `bridge-mgmt`, `vlan-mgmt` (templates `pkg/config/templates/nm-*.nmconnection`).
//! None has an `[sriov]` section. The OS image sets `no-auto-default=*`
//! (harvester/os2:`files/etc/NetworkManager/conf.d/harvester.conf`), which
//! `files/system/oem/92_iso_repo.yaml` deletes on a node that serves the ISO.
//!
//! What NM does to SR-IOV (NetworkManager/NetworkManager): only a profile
//! with an `sriov` setting writes `sriov_numvfs` — its `total-vfs` (0 when
//! unset) at activation, and 0 at deactivation unless
//! `preserve-on-down` (`src/libnm-core-impl/nm-setting-sriov.c`,
//! `src/core/devices/nm-device.c` `_set_state_full`: the reset runs when the
//! applied connection has `NM_TYPE_SETTING_SRIOV`). A profile without it
//! leaves the PF's VFs alone, so Harvester's own profiles are safe even on a
//! planned management NIC; a profile a person added with `[sriov]` is not.
//!
//! And a VF's netdev (device type `netdevice`, or pcidevices' VFs before a
//! VM claims them): NM manages every Ethernet
//! device not marked otherwise, and creates a default "Wired connection N"
//! with DHCP for one without a profile unless `main.no-auto-default` lists it
//! (`man/NetworkManager.conf.xml`, `no-auto-default`). The drop-in marks the
//! VFs unmanaged (`[device*]` `managed=0`, which NM ranks above udev rules)
//! and lists them in `no-auto-default` with `+=` (appended, so Harvester's `*`
//! stays whatever the order of the files). NM's device specs select by
//! interface name, permanent MAC, device type or driver (`match_device_eval`
//! in `src/core/nm-core-utils.c`), never by PCI parent: VF names and MACs are
//! not known in advance, so the VFs are matched by their driver, which for
//! igbvf, ixgbevf, iavf, cxgb4vf and rvu_nicvf is never a PF's. Where a VF has
//! its PF's driver (mlx5_core, bnxt_en, ...), `driver:` would take the PFs
//! too (perhaps the management NIC): those are left out, with a notice.

use crate::intent::config::{DeviceType, Operator};
use crate::plan::{Method, Plan, PlannedPf};

/// The `[device-…]` section's name in the drop-in.
const SECTION: &str = "device-harvester-sriov-vfs";

/// The VF driver NM can match this PF's VFs by: one no PF has.
fn vf_only_driver(pf: &PlannedPf) -> Option<&str> {
    pf.vf_driver.as_deref().filter(|d| *d != pf.driver)
}

/// The VFs get a kernel netdev NM would take: device type `netdevice`, or
/// the pcidevices hand-off, whose agent writes the count and leaves each VF
/// on its network driver until a VM claims it (harvester/pcidevices binds a
/// claimed VF to vfio-pci itself; `device_type` does not apply there). With
/// `vfio-pci` otherwise they are bound to vfio-pci first (modprobe.d): no netdev.
fn vfs_have_netdevs(plan: &Plan) -> bool {
    (plan.device_type == DeviceType::Netdevice || plan.operator == Operator::Pcidevices)
        && !plan.pfs.is_empty()
}

/// The drop-in `/etc/NetworkManager/conf.d/95-harvester-sriov.conf` (NM 1.10 on
/// reads `managed` in a `[device*]` section: NetworkManager/NetworkManager
/// commit 5778bc6a "device: add configuration option to mark devices as
/// unmanaged"; `+=` on a device-spec key appends: `src/core/nm-config.c`
/// `read_config`), or
/// `None` when no VF of the plan gets a netdev NM can be told about.
pub(crate) fn conf(plan: &Plan) -> Option<String> {
    if !vfs_have_netdevs(plan) {
        return None;
    }
    let mut drivers: Vec<&str> = plan.pfs.iter().filter_map(vf_only_driver).collect();
    drivers.sort_unstable();
    drivers.dedup();
    if drivers.is_empty() {
        return None;
    }
    let spec = drivers
        .iter()
        .map(|d| format!("driver:{d}"))
        .collect::<Vec<_>>()
        .join(",");
    Some(format!(
        "{}\
# NetworkManager leaves the VFs of the planned PFs alone: no profile, no DHCP, no default
# \"Wired connection\" (Harvester v1.7 and later; harvester-sriov docs/node-files.md). Matched by the VF
# driver, which no PF has. Read when NetworkManager starts.
[{SECTION}]
match-device={spec}
managed=0

[main]
no-auto-default+={spec}
",
        super::header()
    ))
}

/// One notice per PF whose VFs the drop-in cannot name (their driver is the
/// PF's, or unknown), for a plan whose VFs get netdevs. Not for a PF whose
/// VFs come from the module parameter: `probe_vf=0` (the modprobe.d line)
/// leaves them without a host driver, so without a netdev.
pub(crate) fn notices(plan: &Plan) -> Vec<String> {
    if !vfs_have_netdevs(plan) {
        return vec![];
    }
    plan.pfs
        .iter()
        .filter(|pf| pf.method != Method::ModuleParam && vf_only_driver(pf).is_none())
        .map(|pf| {
            let why = match &pf.vf_driver {
                Some(d) => format!("its VFs' driver {d} is the PF's"),
                None => format!("the VF driver of {} is not known", pf.driver),
            };
            format!(
                "{} ({}): not in NetworkManager's drop-in: {why}, and NetworkManager selects devices by driver, name or MAC only: it may manage them; Harvester's no-auto-default=* keeps it from starting DHCP on them (harvester/os2:files/etc/NetworkManager/conf.d/harvester.conf)",
                pf.address,
                pf.interface.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

/// What a keyfile profile says that matters here.
#[derive(Debug, Default, PartialEq, Eq)]
struct Profile {
    id: Option<String>,
    interface_name: Option<String>,
    mac: Option<String>,
    kind: Option<String>,
    sriov: bool,
}

/// Keyfile syntax (NetworkManager/NetworkManager: `man/nm-settings-keyfile.xml`):
/// `[setting]` groups, `key=value` lines, `#` comments. `ethernet` is
/// also spelled `802-3-ethernet`.
fn parse(text: &str) -> Profile {
    let mut p = Profile::default();
    let mut group = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = name.trim().to_owned();
            if group == "sriov" {
                p.sriov = true;
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim().to_owned());
        match (group.as_str(), key) {
            ("connection", "id") => p.id = Some(value),
            ("connection", "interface-name") => p.interface_name = Some(value),
            ("connection", "type") => p.kind = Some(value),
            ("ethernet" | "802-3-ethernet", "mac-address") => {
                p.mac = Some(value.trim_end_matches(';').to_owned())
            }
            _ => {}
        }
    }
    p
}

fn same_mac(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace('-', ":").to_ascii_lowercase();
    norm(a) == norm(b)
}

/// One warning per profile with an `[sriov]` section that NM may activate on
/// a planned PF: it names the PF's interface or MAC, or (an ethernet profile)
/// no device at all. `profiles`: (path, contents) of each keyfile.
pub(crate) fn sriov_profile_warnings(plan: &Plan, profiles: &[(String, String)]) -> Vec<String> {
    let mut out = vec![];
    for (path, text) in profiles {
        let p = parse(text);
        if !p.sriov {
            continue;
        }
        let unbound = p.interface_name.is_none()
            && p.mac.is_none()
            && matches!(p.kind.as_deref(), Some("ethernet" | "802-3-ethernet"));
        for pf in &plan.pfs {
            let by_name = p.interface_name.is_some() && p.interface_name == pf.interface;
            let by_mac = matches!((&p.mac, &pf.mac), (Some(a), Some(b)) if same_mac(a, b));
            if !(by_name || by_mac || unbound) {
                continue;
            }
            let how = if by_name {
                "names"
            } else if by_mac {
                "has the MAC of"
            } else {
                "names no device, so may be activated on"
            };
            let id = p.id.as_deref().unwrap_or("?");
            out.push(format!(
                "{path}: NetworkManager profile `{id}` has an [sriov] section and {how} {} ({}): NetworkManager writes its total-vfs (0 when unset) to sriov_numvfs when it activates the profile and 0 when it deactivates it (NetworkManager/NetworkManager:src/libnm-core-impl/nm-setting-sriov.c), over the {} VFs planned here; take the section out: {}",
                pf.address,
                pf.interface.as_deref().unwrap_or("-"),
                pf.num_vfs,
                crate::shell::command(["nmcli", "connection", "modify", id, "remove", "sriov"])
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netdevice_plan() -> Plan {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cases/apply/netdevice-i40e/out/oem/harvester-sriov/state.json"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_vf_driver_that_is_also_a_pf_driver_is_never_matched_and_is_told() {
        let mut plan = netdevice_plan();
        assert!(conf(&plan).is_some_and(|t| t.contains("match-device=driver:iavf\n")));
        assert!(notices(&plan).is_empty());
        // a ConnectX-4 port: mlx5_core drives the PF and its VFs
        plan.pfs[1].driver = "mlx5_core".into();
        plan.pfs[1].vf_driver = Some("mlx5_core".into());
        let text = conf(&plan).unwrap_or_default();
        assert!(!text.contains("mlx5_core"), "{text}");
        let n = notices(&plan);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].starts_with("0000:3b:00.1 (ens2f1): not in NetworkManager's drop-in: its VFs' driver mlx5_core is the PF's"),
            "{n:?}"
        );
        // every PF so: no drop-in at all, a notice each
        plan.pfs[0].driver = "bnxt_en".into();
        plan.pfs[0].vf_driver = Some("bnxt_en".into());
        assert_eq!(conf(&plan), None);
        assert_eq!(notices(&plan).len(), 2);
        // VFs from the module parameter (probe_vf=0) get no host driver: nothing to say
        plan.pfs[0].method = Method::ModuleParam;
        plan.pfs[1].method = Method::ModuleParam;
        assert!(notices(&plan).is_empty());
        // vfio-pci: no netdevs, no drop-in, no notice
        let mut plan = netdevice_plan();
        plan.device_type = DeviceType::VfioPci;
        assert_eq!(conf(&plan), None);
        assert!(notices(&plan).is_empty());
        // but with pcidevices the VFs sit on their network driver until claimed
        plan.operator = Operator::Pcidevices;
        assert!(conf(&plan).is_some_and(|t| t.contains("match-device=driver:iavf\n")));
    }

    #[test]
    fn keyfile_groups_and_keys_are_read() {
        let p = parse(
            "# c\n[connection]\nid=eth x\ntype=ethernet\ninterface-name = ens1f0\n\n[ethernet]\nmac-address=AA:BB:CC:DD:EE:FF\n[sriov]\ntotal-vfs=4\n",
        );
        assert_eq!(
            p,
            Profile {
                id: Some("eth x".into()),
                interface_name: Some("ens1f0".into()),
                mac: Some("AA:BB:CC:DD:EE:FF".into()),
                kind: Some("ethernet".into()),
                sriov: true,
            }
        );
        assert!(!parse("[connection]\nid=a\n[ethernet]\n").sriov);
        assert!(same_mac("AA-bb-CC-dd-EE-ff", "aa:bb:cc:dd:ee:ff"));
    }
}
