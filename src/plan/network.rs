//! The `SriovNetwork` against the host's per-VF settings: the VLAN the
//! NetworkAttachmentDefinition carries must be the one the host sets, or
//! sriov-cni undoes the host's setting while a VM holds the VF.
//!
//! What the upstream code does (k8snetworkplumbingwg/sriov-network-operator
//! v1.6.0, k8snetworkplumbingwg/sriov-cni v2.10.0):
//! - The operator renders a `SriovNetwork` into the CNI config of its
//!   NetworkAttachmentDefinition (`api/v1/helper.go` `(*SriovNetwork).RenderNetAttDef`,
//!   template `bindata/manifests/cni-config/sriov/sriov-cni-config.yaml`).
//!   `"vlan"` is **always** written (`spec.vlan`, 0 when absent) and so is
//!   `"vlanQoS"` (`spec.vlanQoS`, 0 when absent, always in 0..=7);
//!   `"vlanProto"`, `"spoofchk"`, `"trust"`, `"link_state"`, `"min_tx_rate"`
//!   and `"max_tx_rate"` only when the `SriovNetwork` names them.
//! - sriov-cni, on every attach, records the VF's state
//!   (`pkg/sriov/sriov.go` `FillOriginalVfInfo`), then sets the VLAN whenever the
//!   config has a `vlan` — 0 included, with QoS and 802.1Q by default
//!   (`pkg/config/config.go` `LoadConf`, `pkg/sriov/sriov.go` `ApplyVFConfig`),
//!   and spoof check, trust, link state and rates only when the config names
//!   them; on release it puts back what it recorded, for what it set only
//!   (`ResetVFConfig`). It does so for a VF on vfio-pci too (`LoadConf` sets
//!   `DPDKMode`; `pkg/cnicommands/cni.go` `CmdAdd` calls `ApplyVFConfig` in
//!   both modes). `LoadConf` refuses a vlan above 4094, a non-zero QoS with
//!   vlan 0, and 802.1ad with vlan 0: the attach fails.
//!
//! So a host `vlan_id` (and its `qos`, `vlan_proto`) must be written into the
//! `SriovNetwork`, or every attach resets the VF to VLAN 0 until release;
//! spoof check, trust, link state and rates are left out so sriov-cni never
//! touches them (the config's `sriov.network` has no key for them). One
//! `SriovNetwork` serves every VF of the resource (the device plugin hands out
//! any of them), so the host's VLANs must agree across those VFs.

use crate::intent::config::Network;
use crate::intent::vf::VlanProto;
use crate::plan::PlannedPf;

/// The VLAN the host sets on the VFs the `SriovNetwork` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostVlan {
    pub(crate) vlan: u16,
    pub(crate) qos: u8,
    pub(crate) proto: VlanProto,
}

/// A `SriovNetwork` the plan refuses: the config key and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetworkError {
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

fn vf_name(pf: &PlannedPf, id: u16) -> String {
    format!(
        "VF {id} of {} ({})",
        pf.address,
        pf.interface.as_deref().unwrap_or("no interface")
    )
}

fn describe(h: HostVlan) -> String {
    let mut s = format!("vlan_id {}", h.vlan);
    if h.qos != 0 {
        s.push_str(&format!(" qos {}", h.qos));
    }
    if h.proto == VlanProto::Dot1ad {
        s.push_str(" vlan_proto 802.1ad");
    }
    s
}

const CNI: &str = "k8snetworkplumbingwg/sriov-cni:pkg/sriov/sriov.go ApplyVFConfig";

/// The host's VLAN for the network's VFs (`None`: the host sets none), or why
/// the `SriovNetwork` would contradict the host.
pub(crate) fn host_vlan(
    network: &Network,
    resource: &str,
    pfs: &[PlannedPf],
) -> Result<Option<HostVlan>, NetworkError> {
    let mut found: Option<(HostVlan, String)> = None;
    for pf in pfs {
        for v in pf.vfs.iter().filter(|v| v.id < pf.num_vfs) {
            let Some(vlan) = v.vlan_id else { continue };
            let h = HostVlan {
                vlan,
                qos: v.qos.unwrap_or(0),
                proto: v.vlan_proto.unwrap_or(VlanProto::Dot1q),
            };
            match &found {
                None => found = Some((h, vf_name(pf, v.id))),
                Some((first, at)) if *first != h => {
                    return Err(NetworkError {
                        key: "sriov.network",
                        message: format!(
                            "SriovNetwork {} serves every VF of resource {resource}, and the host sets {} on {at} but {} on {}: the operator renders one `vlan` into its NetworkAttachmentDefinition and sriov-cni sets it on whichever VF a VM gets ({CNI}); give those VFs one vlan_id, or leave sriov.network out",
                            network.name,
                            describe(*first),
                            describe(h),
                            vf_name(pf, v.id)
                        ),
                    });
                }
                Some(_) => {}
            }
        }
    }
    let Some((h, at)) = found else {
        return Ok(None);
    };
    if let Some(want) = network.vlan
        && want != h.vlan
    {
        return Err(NetworkError {
            key: "sriov.network.vlan",
            message: format!(
                "{want} contradicts the vlan_id {} the host sets on {at}: sriov-cni would set vlan {want} on the VF at every attach ({CNI}); leave sriov.network.vlan out (the SriovNetwork then carries {}) or make it {}",
                h.vlan, h.vlan, h.vlan
            ),
        });
    }
    // What sriov-cni's LoadConf refuses (pkg/config/config.go): every attach would fail.
    let refused = if h.vlan > 4094 {
        Some("a vlan above 4094")
    } else if h.vlan == 0 && h.qos != 0 {
        Some("a non-zero vlanQoS with vlan 0")
    } else if h.vlan == 0 && h.proto == VlanProto::Dot1ad {
        Some("vlanProto 802.1ad with vlan 0")
    } else {
        None
    };
    if let Some(what) = refused {
        return Err(NetworkError {
            key: "sriov.network",
            message: format!(
                "the host sets {} on {at}, which the SriovNetwork must carry, and sriov-cni refuses {what} (k8snetworkplumbingwg/sriov-cni:pkg/config/config.go LoadConf): every attach would fail; change that VF's VLAN or leave sriov.network out",
                describe(h)
            ),
        });
    }
    Ok(Some(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::vf::PlannedVf;
    use crate::plan::{Method, PlannedPf};

    fn pf(num_vfs: u16, vfs: Vec<PlannedVf>) -> PlannedPf {
        PlannedPf {
            address: "0000:01:00.0".into(),
            vendor_id: "8086".into(),
            device_id: "1593".into(),
            serial: None,
            mac: None,
            interface: Some("ens1f0".into()),
            driver: "ice".into(),
            num_vfs,
            total_vfs: 64,
            vf_device_id: "1889".into(),
            vf_driver: Some("iavf".into()),
            method: Method::Sysfs,
            vfs,
        }
    }

    fn net(vlan: Option<u16>) -> Network {
        Network {
            name: "vms".into(),
            namespace: "default".into(),
            vlan,
        }
    }

    fn vf(id: u16, vlan: u16, proto: Option<VlanProto>) -> PlannedVf {
        PlannedVf {
            id,
            vlan_id: Some(vlan),
            vlan_proto: proto,
            ..PlannedVf::default()
        }
    }

    #[test]
    fn no_host_vlan_leaves_the_network_its_own() {
        let trust_only = PlannedVf {
            id: 0,
            trust: Some(true),
            ..PlannedVf::default()
        };
        assert_eq!(
            host_vlan(&net(Some(7)), "r", &[pf(2, vec![trust_only])]),
            Ok(None)
        );
        assert_eq!(host_vlan(&net(None), "r", &[]), Ok(None));
    }

    #[test]
    fn an_802_1ad_host_vlan_is_carried_and_one_on_vlan_0_refused() {
        let h = host_vlan(&net(None), "r", &[pf(2, vec![vf(0, 5, Some(VlanProto::Dot1ad))])]);
        assert_eq!(
            h,
            Ok(Some(HostVlan {
                vlan: 5,
                qos: 0,
                proto: VlanProto::Dot1ad
            }))
        );
        let e = host_vlan(&net(None), "r", &[pf(2, vec![vf(0, 0, Some(VlanProto::Dot1ad))])]).unwrap_err();
        assert!(
            e.message.contains("vlanProto 802.1ad with vlan 0"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_explicit_802_1q_agrees_with_the_default_and_vfs_past_the_count_do_not_count() {
        let vfs = vec![vf(0, 9, Some(VlanProto::Dot1q)), vf(1, 9, None), vf(5, 10, None)];
        assert_eq!(
            host_vlan(&net(Some(9)), "r", &[pf(2, vfs)]).map(|h| h.map(|h| h.vlan)),
            Ok(Some(9))
        );
    }
}
