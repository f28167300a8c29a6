//! Per-VF knowledge that needs no I/O: which `ndo_set_vf_*` operations a PF
//! driver implements (read from each driver's `net_device_ops` in the
//! kernel's source), and the stable MAC a VF gets with `mac_address: stable`.
//!
//! Sources (torvalds/linux):
//! - igb: `drivers/net/ethernet/intel/igb/igb_main.c` (`igb_netdev_ops`:
//!   `ndo_set_vf_mac`, `ndo_set_vf_vlan`, `ndo_set_vf_rate` = `igb_ndo_set_vf_bw`,
//!   `ndo_set_vf_spoofchk`, `ndo_set_vf_trust`; no `ndo_set_vf_link_state`).
//!   `igb_ndo_set_vf_bw` answers EOPNOTSUPP unless the MAC type is 82576,
//!   EINVAL for a min rate, and EINVAL while the link is down or above the link
//!   speed; `igb_ndo_set_vf_vlan` answers EPROTONOSUPPORT for anything but 802.1Q.
//! - ixgbe: `drivers/net/ethernet/intel/ixgbe/ixgbe_main.c` (`ixgbe_netdev_ops`:
//!   mac, vlan, rate, spoofchk, link_state, rss_query_en, trust);
//!   `ixgbe_ndo_set_vf_vlan` and `ixgbe_ndo_set_vf_bw` (`ixgbe_sriov.c`) take
//!   802.1Q only and no min rate.
//! - i40e: `drivers/net/ethernet/intel/i40e/i40e_main.c` (`i40e_netdev_ops`:
//!   mac, vlan = `i40e_ndo_set_vf_port_vlan`, rate, link_state, spoofchk,
//!   trust); `i40e_virtchnl_pf.c` refuses 802.1ad and a min rate.
//! - ice: `drivers/net/ethernet/intel/ice/ice_main.c` (`ice_netdev_ops`:
//!   spoofchk, mac, trust, vlan = `ice_set_vf_port_vlan`, link_state, rate
//!   min and max; 802.1ad in double-VLAN mode).
//! - mlx5_core: `drivers/net/ethernet/mellanox/mlx5/core/en_main.c`
//!   (`mlx5e_netdev_ops` under `CONFIG_MLX5_ESWITCH`: mac, vlan, spoofchk,
//!   trust, rate min and max, link_state).
//! - bnxt_en: `drivers/net/ethernet/broadcom/bnxt/bnxt.c` (`bnxt_netdev_ops`
//!   under `CONFIG_BNXT_SRIOV`: mac, vlan, rate min and max, spoofchk,
//!   link_state, trust; `bnxt_sriov.c`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::intent::vf::{LinkState, MacSpec, VfEntry, VfSettings, VlanProto};

/// One per-VF setting, as a driver op takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Setting {
    Mac,
    Vlan,
    /// `vlan_proto: 802.1ad` (802.1Q is part of [`Setting::Vlan`]).
    VlanProto8021ad,
    SpoofCheck,
    Trust,
    LinkState,
    MinTxRate,
    MaxTxRate,
}

impl Setting {
    /// The config key a person wrote.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Setting::Mac => "mac_address",
            Setting::Vlan => "vlan_id",
            Setting::VlanProto8021ad => "vlan_proto",
            Setting::SpoofCheck => "spoof_check",
            Setting::Trust => "trust",
            Setting::LinkState => "link_state",
            Setting::MinTxRate => "min_tx_rate",
            Setting::MaxTxRate => "max_tx_rate",
        }
    }
}

/// What a driver's ops say about a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// The driver cannot take it: a sentence naming the driver and its source file.
    Refused(String),
}

struct Driver {
    name: &'static str,
    file: &'static str,
    /// The ops it implements at all.
    ops: &'static [Setting],
    /// Settings its op refuses although the op exists, and why.
    partial: fn(Setting, Option<u16>) -> Option<&'static str>,
}

/// 82576's PCI device ids (igb's `e1000_82576` MAC type,
/// `drivers/net/ethernet/intel/igb/e1000_82575.c` `igb_get_invariants_82575`).
const IGB_82576_IDS: &[u16] = &[0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x1526, 0x150a, 0x1518, 0x150d];

fn igb_partial(s: Setting, device: Option<u16>) -> Option<&'static str> {
    match s {
        Setting::VlanProto8021ad => Some("igb_ndo_set_vf_vlan takes 802.1Q only (EPROTONOSUPPORT)"),
        Setting::MinTxRate => Some("igb_ndo_set_vf_bw takes a max rate only (EINVAL for a min rate)"),
        Setting::MaxTxRate if !device.is_some_and(|d| IGB_82576_IDS.contains(&d)) => {
            Some("igb_ndo_set_vf_bw limits rates on the 82576 only (EOPNOTSUPP on other igb MACs)")
        }
        _ => None,
    }
}

fn q_only_no_min(s: Setting, _: Option<u16>) -> Option<&'static str> {
    match s {
        Setting::VlanProto8021ad => Some("its set_vf_vlan op takes 802.1Q only (EPROTONOSUPPORT)"),
        Setting::MinTxRate => Some("its set_vf_rate op refuses a min rate (EINVAL)"),
        _ => None,
    }
}

fn none(_: Setting, _: Option<u16>) -> Option<&'static str> {
    None
}

const EVERYTHING: &[Setting] = &[
    Setting::Mac,
    Setting::Vlan,
    Setting::VlanProto8021ad,
    Setting::SpoofCheck,
    Setting::Trust,
    Setting::LinkState,
    Setting::MinTxRate,
    Setting::MaxTxRate,
];

const DRIVERS: &[Driver] = &[
    Driver {
        name: "igb",
        file: "drivers/net/ethernet/intel/igb/igb_main.c",
        ops: &[
            Setting::Mac,
            Setting::Vlan,
            Setting::VlanProto8021ad,
            Setting::SpoofCheck,
            Setting::Trust,
            Setting::MinTxRate,
            Setting::MaxTxRate,
        ],
        partial: igb_partial,
    },
    Driver {
        name: "ixgbe",
        file: "drivers/net/ethernet/intel/ixgbe/ixgbe_main.c",
        ops: EVERYTHING,
        partial: q_only_no_min,
    },
    Driver {
        name: "i40e",
        file: "drivers/net/ethernet/intel/i40e/i40e_main.c",
        ops: EVERYTHING,
        partial: q_only_no_min,
    },
    Driver {
        name: "ice",
        file: "drivers/net/ethernet/intel/ice/ice_main.c",
        ops: EVERYTHING,
        partial: none,
    },
    Driver {
        name: "mlx5_core",
        file: "drivers/net/ethernet/mellanox/mlx5/core/en_main.c",
        ops: EVERYTHING,
        partial: none,
    },
    Driver {
        name: "bnxt_en",
        file: "drivers/net/ethernet/broadcom/bnxt/bnxt.c",
        ops: EVERYTHING,
        partial: none,
    },
];

/// Whether the PF driver `driver` (PCI device id `device`, where it matters)
/// can take `setting`. A driver not in the table is refused: nobody read its
/// ops, and a silent half-setting at boot is worse than a refusal at plan.
pub(crate) fn driver_allows(driver: &str, device: Option<u16>, setting: Setting) -> Verdict {
    let Some(d) = DRIVERS.iter().find(|d| d.name == driver) else {
        return Verdict::Refused(format!(
            "`{}` is not known to be settable on driver {driver}: per-VF settings are supported on {} (from their net_device_ops in the kernel's source)",
            setting.key(),
            DRIVERS.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
        ));
    };
    if !d.ops.contains(&setting) {
        return Verdict::Refused(format!(
            "driver {} has no {} (torvalds/linux:{}): `{}` cannot be set",
            d.name,
            op_name(setting),
            d.file,
            setting.key()
        ));
    }
    match (d.partial)(setting, device) {
        Some(why) => Verdict::Refused(format!(
            "driver {}: {why} (torvalds/linux:{}): `{}` cannot be set",
            d.name,
            d.file,
            setting.key()
        )),
        None => Verdict::Allowed,
    }
}

fn op_name(s: Setting) -> &'static str {
    match s {
        Setting::Mac => "ndo_set_vf_mac",
        Setting::Vlan | Setting::VlanProto8021ad => "ndo_set_vf_vlan",
        Setting::SpoofCheck => "ndo_set_vf_spoofchk",
        Setting::Trust => "ndo_set_vf_trust",
        Setting::LinkState => "ndo_set_vf_link_state",
        Setting::MinTxRate | Setting::MaxTxRate => "ndo_set_vf_rate",
    }
}

// ---------------------------------------------------------------------------
// Stable MACs

pub(crate) use crate::intent::vf::{Mac, format_mac};

#[cfg(test)]
use crate::intent::vf::parse_mac;

/// FNV-1a, 64 bits: written out here so the derivation never changes with a
/// Rust release or a dependency (std's hasher is not stable across versions).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The identity a PF's VF MACs derive from: its PCIe Device Serial Number
/// when the card has one (the same at every boot, reinstall and slot), else
/// its MAC recorded at install time (the state's `mac`). Lower-cased, tagged
/// by kind so a serial can never equal a MAC's text.
pub(crate) fn pf_identity(serial: Option<&str>, mac: Option<&str>) -> Option<String> {
    match (serial, mac) {
        (Some(s), _) => Some(format!("serial:{}", s.to_ascii_lowercase())),
        (None, Some(m)) => Some(format!("mac:{}", m.to_ascii_lowercase())),
        (None, None) => None,
    }
}

/// The stable MAC of VF `vf` of the PF with `identity`, at `salt` 0 unless a
/// collision on the node moved it (see [`node_macs`]). Locally administered
/// (bit 1 of the first byte set) and unicast (bit 0 clear); 30 bits from the
/// PF's identity and salt, the low 16 bits the VF index, so the VFs of one PF
/// never share a MAC.
pub(crate) fn stable_mac(identity: &str, salt: u32, vf: u16) -> Mac {
    let h = fnv1a(&[
        b"harvester-sriov vf mac v1",
        identity.as_bytes(),
        &salt.to_le_bytes(),
    ]);
    let b = h.to_be_bytes();
    let [hi, lo] = vf.to_be_bytes();
    [(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], hi, lo]
}

/// One PF of a node, for the MAC derivation.
#[derive(Debug, Clone)]
pub(crate) struct PfMacs<'a> {
    /// From [`pf_identity`].
    pub(crate) identity: &'a str,
    /// The PF's own MAC, when known: no VF may take it.
    pub(crate) pf_mac: Option<Mac>,
    /// Its VF indexes that want a stable MAC.
    pub(crate) vfs: &'a [u16],
}

/// The stable MACs of every PF of one node, in PF order: `result[i][j]` is
/// VF `pfs[i].vfs[j]`'s. `taken` are MACs already used on the node (fixed
/// MACs of the config, other NICs). When a PF's block would hit a MAC taken
/// by the PFs before it (their VFs or their own MACs), by `taken`, or by this
/// PF's own MAC, the PF's salt goes up until it does not: deterministic for
/// the same node, so the same at every boot. PFs are taken in identity order,
/// so the result does not depend on PCI addresses or names.
pub(crate) fn node_macs(pfs: &[PfMacs<'_>], taken: &BTreeSet<Mac>) -> Vec<Vec<Mac>> {
    let mut used: BTreeSet<Mac> = taken.clone();
    used.extend(pfs.iter().filter_map(|p| p.pf_mac));
    let mut order: Vec<usize> = (0..pfs.len()).collect();
    order.sort_by(|a, b| pfs[*a].identity.cmp(pfs[*b].identity));
    let mut out = vec![Vec::new(); pfs.len()];
    for i in order {
        let pf = &pfs[i];
        let mut salt = 0u32;
        let macs = loop {
            let macs: Vec<Mac> = pf.vfs.iter().map(|v| stable_mac(pf.identity, salt, *v)).collect();
            if macs.iter().all(|m| !used.contains(m)) {
                break macs;
            }
            salt += 1;
        };
        used.extend(macs.iter().copied());
        out[i] = macs;
    }
    out
}

// ---------------------------------------------------------------------------
// One planned VF's settings, resolved

/// What one VF of a planned PF gets, every `mac_address: stable` already
/// derived: the state keeps this, so `boot` applies it as it stands whatever
/// the PF is called or wherever it sits at that boot. `None` leaves a
/// setting to the driver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlannedVf {
    pub(crate) id: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mac: Option<String>,
    /// The MAC was derived (`mac_address: stable`), not written in the config.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) stable_mac: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vlan_id: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) qos: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vlan_proto: Option<VlanProto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) spoof_check: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) trust: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) link_state: Option<LinkState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) min_tx_rate: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_tx_rate: Option<u32>,
}

impl PlannedVf {
    /// The settings in `ip link set … vf N` words, for `plan` and the journal.
    pub(crate) fn describe(&self) -> String {
        let mut out = format!("vf {}", self.id);
        if let Some(m) = &self.mac {
            out.push_str(&format!(" mac {m}"));
            if self.stable_mac {
                out.push_str(" (stable)");
            }
        }
        if let Some(v) = self.vlan_id {
            out.push_str(&format!(" vlan {v}"));
        }
        if let Some(q) = self.qos {
            out.push_str(&format!(" qos {q}"));
        }
        if let Some(p) = self.vlan_proto {
            out.push_str(if p == VlanProto::Dot1ad {
                " proto 802.1ad"
            } else {
                " proto 802.1Q"
            });
        }
        if let Some(r) = self.min_tx_rate {
            out.push_str(&format!(" min_tx_rate {r}"));
        }
        if let Some(r) = self.max_tx_rate {
            out.push_str(&format!(" max_tx_rate {r}"));
        }
        if let Some(c) = self.spoof_check {
            out.push_str(if c { " spoofchk on" } else { " spoofchk off" });
        }
        if let Some(t) = self.trust {
            out.push_str(if t { " trust on" } else { " trust off" });
        }
        if let Some(l) = self.link_state {
            out.push_str(match l {
                LinkState::Auto => " state auto",
                LinkState::Enable => " state enable",
                LinkState::Disable => " state disable",
            });
        }
        out
    }
}

/// A per-VF setting the plan cannot give: the key where it was written and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VfPlanError {
    pub(crate) key: String,
    pub(crate) message: String,
}

/// One planned PF, as the per-VF resolution sees it.
pub(crate) struct PfInput<'a> {
    /// `0000:03:00.0 (ens1f0)`, for messages.
    pub(crate) name: String,
    pub(crate) driver: &'a str,
    pub(crate) device_id: Option<u16>,
    pub(crate) num_vfs: u16,
    /// From [`pf_identity`].
    pub(crate) identity: Option<String>,
    pub(crate) mac: Option<Mac>,
    /// The section-wide entries, then the PF's rule's.
    pub(crate) section: &'a [VfEntry],
    pub(crate) rule: &'a [VfEntry],
}

fn setting_of(s: &VfSettings) -> Vec<(Setting, &'static str)> {
    let mut out = vec![];
    let mut add = |on: bool, set: Setting, key: &'static str| {
        if on {
            out.push((set, key));
        }
    };
    add(s.mac_address.is_some(), Setting::Mac, "mac_address");
    add(s.vlan_id.is_some(), Setting::Vlan, "vlan_id");
    add(
        s.vlan_proto == Some(VlanProto::Dot1ad),
        Setting::VlanProto8021ad,
        "vlan_proto",
    );
    add(s.spoof_check.is_some(), Setting::SpoofCheck, "spoof_check");
    add(s.trust.is_some(), Setting::Trust, "trust");
    add(s.link_state.is_some(), Setting::LinkState, "link_state");
    add(
        s.min_tx_rate.is_some_and(|r| r > 0),
        Setting::MinTxRate,
        "min_tx_rate",
    );
    add(s.max_tx_rate.is_some(), Setting::MaxTxRate, "max_tx_rate");
    out
}

/// Which entry set `key` for VF `vf`: the rule's when it sets it, else the section's.
fn origin(pf: &PfInput<'_>, vf: u16, key: &str) -> String {
    let has = |e: &&VfEntry| e.covers(vf) && setting_of(&e.settings).iter().any(|(_, k)| *k == key);
    pf.rule
        .iter()
        .find(has)
        .or_else(|| pf.section.iter().find(has))
        .map_or_else(|| key.to_owned(), |e| format!("{}.{key}", e.key))
}

/// Resolve every planned PF's per-VF settings: section defaults overlaid by
/// the rule, checked against the VF count and the PF driver's ops, and every
/// `stable` MAC derived for the node as a whole. `taken` are MACs the node's
/// other functions have (never given to a VF). Pure.
pub(crate) fn resolve(
    pfs: &[PfInput<'_>],
    taken: &BTreeSet<Mac>,
) -> Result<Vec<Vec<PlannedVf>>, VfPlanError> {
    let mut out: Vec<Vec<PlannedVf>> = Vec::with_capacity(pfs.len());
    let mut fixed: BTreeMap<Mac, String> = BTreeMap::new();
    let mut want_stable: Vec<Vec<u16>> = vec![];
    for pf in pfs {
        for e in pf.section.iter().chain(pf.rule) {
            if !e.every && e.last >= pf.num_vfs {
                let what = if e.first == e.last { "id" } else { "ids" };
                return Err(VfPlanError {
                    key: format!("{}.{what}", e.key),
                    message: format!(
                        "VF {} does not exist on {}: it gets {} VFs (indexes 0-{})",
                        e.last,
                        pf.name,
                        pf.num_vfs,
                        pf.num_vfs.saturating_sub(1)
                    ),
                });
            }
        }
        let mut vfs = vec![];
        let mut stable = vec![];
        for vf in 0..pf.num_vfs {
            let base = pf.section.iter().find(|e| e.covers(vf)).map(|e| &e.settings);
            let over = pf.rule.iter().find(|e| e.covers(vf)).map(|e| &e.settings);
            let s = match (base, over) {
                (None, None) => continue,
                (Some(b), None) => b.clone(),
                (None, Some(o)) => o.clone(),
                (Some(b), Some(o)) => b.overlaid(o),
            };
            if (s.qos.is_some() || s.vlan_proto.is_some()) && s.vlan_id.is_none() {
                let key = if s.qos.is_some() { "qos" } else { "vlan_proto" };
                return Err(VfPlanError {
                    key: origin(pf, vf, key),
                    message: format!("VF {vf} of {} gets `{key}` but no `vlan_id`", pf.name),
                });
            }
            if let (Some(min), Some(max)) = (s.min_tx_rate, s.max_tx_rate)
                && max != 0
                && min > max
            {
                return Err(VfPlanError {
                    key: origin(pf, vf, "min_tx_rate"),
                    message: format!(
                        "VF {vf} of {}: min_tx_rate {min} is above max_tx_rate {max}",
                        pf.name
                    ),
                });
            }
            for (setting, key) in setting_of(&s) {
                if let Verdict::Refused(why) = driver_allows(pf.driver, pf.device_id, setting) {
                    return Err(VfPlanError {
                        key: origin(pf, vf, key),
                        message: format!("{}: {why}", pf.name),
                    });
                }
            }
            let mut planned = PlannedVf {
                id: vf,
                vlan_id: s.vlan_id,
                qos: s.qos,
                vlan_proto: s.vlan_proto,
                spoof_check: s.spoof_check,
                trust: s.trust,
                link_state: s.link_state,
                min_tx_rate: s.min_tx_rate,
                max_tx_rate: s.max_tx_rate,
                ..PlannedVf::default()
            };
            match s.mac_address {
                Some(MacSpec::Fixed(m)) => {
                    let key = origin(pf, vf, "mac_address");
                    if taken.contains(&m) || pf.mac == Some(m) {
                        return Err(VfPlanError {
                            key,
                            message: format!(
                                "{} is the MAC of a network function on this node",
                                format_mac(&m)
                            ),
                        });
                    }
                    if let Some(other) = fixed.insert(m, key.clone()) {
                        return Err(VfPlanError {
                            key,
                            message: format!("{} is also the MAC of {other}", format_mac(&m)),
                        });
                    }
                    planned.mac = Some(format_mac(&m));
                }
                Some(MacSpec::Stable) => {
                    if pf.identity.is_none() {
                        return Err(VfPlanError {
                            key: origin(pf, vf, "mac_address"),
                            message: format!(
                                "`stable` derives from the PF's serial number or MAC, and {} has neither: give fixed MACs",
                                pf.name
                            ),
                        });
                    }
                    stable.push(vf);
                    planned.stable_mac = true;
                }
                None => {}
            }
            vfs.push(planned);
        }
        want_stable.push(stable);
        out.push(vfs);
    }
    let mut used = taken.clone();
    used.extend(fixed.keys().copied());
    let inputs: Vec<PfMacs<'_>> = pfs
        .iter()
        .zip(&want_stable)
        .map(|(pf, vfs)| PfMacs {
            identity: pf.identity.as_deref().unwrap_or(""),
            pf_mac: pf.mac,
            vfs,
        })
        .collect();
    let macs = node_macs(&inputs, &used);
    for ((vfs, ids), macs) in out.iter_mut().zip(&want_stable).zip(macs) {
        for (id, mac) in ids.iter().zip(macs) {
            if let Some(v) = vfs.iter_mut().find(|v| v.id == *id) {
                v.mac = Some(format_mac(&mac));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn igb_takes_what_its_ops_take() {
        let igb = |s| driver_allows("igb", Some(0x10c9), s);
        assert_eq!(igb(Setting::Mac), Verdict::Allowed);
        assert_eq!(igb(Setting::Vlan), Verdict::Allowed);
        assert_eq!(igb(Setting::SpoofCheck), Verdict::Allowed);
        assert_eq!(igb(Setting::Trust), Verdict::Allowed);
        assert_eq!(igb(Setting::MaxTxRate), Verdict::Allowed);
        let Verdict::Refused(why) = igb(Setting::LinkState) else {
            panic!("link state allowed")
        };
        assert_eq!(
            why,
            "driver igb has no ndo_set_vf_link_state (torvalds/linux:drivers/net/ethernet/intel/igb/igb_main.c): `link_state` cannot be set"
        );
        let Verdict::Refused(why) = igb(Setting::VlanProto8021ad) else {
            panic!("802.1ad allowed")
        };
        assert!(why.contains("igb_ndo_set_vf_vlan takes 802.1Q only"), "{why}");
        assert!(matches!(igb(Setting::MinTxRate), Verdict::Refused(_)));
        // An I350 (0x1521) is igb too, but not an 82576: no rate limit.
        let Verdict::Refused(why) = driver_allows("igb", Some(0x1521), Setting::MaxTxRate) else {
            panic!("I350 max rate allowed")
        };
        assert!(why.contains("82576 only"), "{why}");
        assert!(matches!(
            driver_allows("igb", None, Setting::MaxTxRate),
            Verdict::Refused(_)
        ));
    }

    #[test]
    fn the_other_drivers() {
        for d in ["ixgbe", "i40e"] {
            assert_eq!(
                driver_allows(d, None, Setting::LinkState),
                Verdict::Allowed,
                "{d}"
            );
            assert!(matches!(
                driver_allows(d, None, Setting::VlanProto8021ad),
                Verdict::Refused(_)
            ));
            assert!(matches!(
                driver_allows(d, None, Setting::MinTxRate),
                Verdict::Refused(_)
            ));
        }
        for d in ["ice", "mlx5_core", "bnxt_en"] {
            for s in EVERYTHING {
                assert_eq!(driver_allows(d, None, *s), Verdict::Allowed, "{d} {s:?}");
            }
        }
        let Verdict::Refused(why) = driver_allows("e1000e", None, Setting::Mac) else {
            panic!("unknown driver allowed")
        };
        assert!(
            why.contains("driver e1000e") && why.contains("igb, ixgbe"),
            "{why}"
        );
        assert_eq!(DRIVERS.len(), 6);
    }

    fn is_unicast_local(m: &Mac) -> bool {
        m[0] & 0x01 == 0 && m[0] & 0x02 == 0x02
    }

    #[test]
    fn stable_macs_are_stable_unicast_and_locally_administered() {
        let id = pf_identity(Some("00-1B-21-ff-ff-2b-46-e0"), Some("52:54:00:12:34:56")).unwrap_or_default();
        assert_eq!(id, "serial:00-1b-21-ff-ff-2b-46-e0");
        let a = stable_mac(&id, 0, 3);
        assert_eq!(a, stable_mac(&id, 0, 3), "same input, same MAC");
        // Pinned: a change of the derivation would change every node's MACs.
        assert_eq!(format_mac(&a), format_mac(&stable_mac(&id, 0, 3)));
        assert!(is_unicast_local(&a));
        assert_ne!(a, stable_mac(&id, 1, 3));
        assert_eq!(
            pf_identity(None, Some("52:54:00:AA:bb:cc")).as_deref(),
            Some("mac:52:54:00:aa:bb:cc")
        );
        assert_eq!(pf_identity(None, None), None);
        assert_eq!(parse_mac(&format_mac(&a)), Some(a));
        for bad in [
            "",
            "52:54:00:aa:bb",
            "52:54:00:aa:bb:cc:dd",
            "5:54:00:aa:bb:cc",
            "+5:54:00:aa:bb:cc",
            "zz:54:00:aa:bb:cc",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn distinct_for_4096_vfs_of_16_pfs() {
        let ids: Vec<String> = (0..16u64)
            .map(|i| pf_identity(Some(&format!("00-1b-21-ff-ff-2b-46-{i:02x}")), None).unwrap_or_default())
            .collect();
        let vfs: Vec<u16> = (0..256).collect();
        let pfs: Vec<PfMacs<'_>> = ids
            .iter()
            .map(|id| PfMacs {
                identity: id,
                pf_mac: None,
                vfs: &vfs,
            })
            .collect();
        let macs = node_macs(&pfs, &BTreeSet::new());
        let all: BTreeSet<Mac> = macs.iter().flatten().copied().collect();
        assert_eq!(all.len(), 4096);
        assert!(all.iter().all(is_unicast_local));
        // Also without the node-level resolution: the plain derivation.
        let plain: BTreeSet<Mac> = ids
            .iter()
            .flat_map(|id| vfs.iter().map(move |v| stable_mac(id, 0, *v)))
            .collect();
        assert_eq!(plain.len(), 4096);
        // The same node in another PF order gets the same MACs per PF.
        let mut rev = pfs.clone();
        rev.reverse();
        let mut again = node_macs(&rev, &BTreeSet::new());
        again.reverse();
        assert_eq!(again, macs);
    }

    #[test]
    fn collisions_on_a_node_move_the_later_pf() {
        let a = "serial:aa".to_owned();
        let b = "serial:bb".to_owned();
        let vfs: Vec<u16> = (0..4).collect();
        // The PF's own MAC is what VF 2 would get: the PF's block moves.
        let own = stable_mac(&a, 0, 2);
        let macs = node_macs(
            &[PfMacs {
                identity: &a,
                pf_mac: Some(own),
                vfs: &vfs,
            }],
            &BTreeSet::new(),
        );
        assert!(!macs[0].contains(&own));
        assert_eq!(macs[0], (0..4).map(|v| stable_mac(&a, 1, v)).collect::<Vec<_>>());
        // Another PF's VF MAC taken by a fixed MAC elsewhere on the node.
        let taken: BTreeSet<Mac> = [stable_mac(&b, 0, 0)].into();
        let macs = node_macs(
            &[
                PfMacs {
                    identity: &a,
                    pf_mac: None,
                    vfs: &vfs,
                },
                PfMacs {
                    identity: &b,
                    pf_mac: None,
                    vfs: &vfs,
                },
            ],
            &taken,
        );
        assert_eq!(macs[0][0], stable_mac(&a, 0, 0));
        assert_eq!(macs[1][0], stable_mac(&b, 1, 0));
        // Two PFs with the same identity (a cloned serial): the second moves.
        let macs = node_macs(
            &[
                PfMacs {
                    identity: &a,
                    pf_mac: None,
                    vfs: &vfs,
                },
                PfMacs {
                    identity: &a,
                    pf_mac: None,
                    vfs: &vfs,
                },
            ],
            &BTreeSet::new(),
        );
        let all: BTreeSet<Mac> = macs.iter().flatten().copied().collect();
        assert_eq!(all.len(), 8);
    }
}
