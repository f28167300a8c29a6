//! The plan: a pure function from (inventory, install config, node name)
//! to what this node gets — which PFs, how many VFs, and why every other
//! SR-IOV function is left alone. The plan is also the desired state that
//! `boot` enforces at every start.

pub(crate) mod fleet;
pub(crate) mod network;
pub(crate) mod operator;
pub(crate) mod vf;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::intent::config::{DeviceType, Intent, Network, Operator, Rule, Sriov};
use crate::scan::device::{Device, Status};
use crate::scan::pci::hex16;

/// Version of the state file format this binary writes. Older versions are
/// migrated forward when read (`crate::state`): 1 had no `written_by`, 2 no
/// per-VF settings.
pub(crate) const STATE_VERSION: u32 = 3;

/// How the VF count is put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Method {
    /// `boot` writes `sriov_numvfs`.
    Sysfs,
    /// The driver creates VFs from a module parameter (mlx4_core); `boot` only checks.
    ModuleParam,
}

/// One PF this node will have VFs on, with its stable identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlannedPf {
    pub(crate) address: String,
    pub(crate) vendor_id: String,
    pub(crate) device_id: String,
    /// PCIe Device Serial Number, when the card has one.
    #[serde(default)]
    pub(crate) serial: Option<String>,
    /// MAC address of its interface at install time.
    #[serde(default)]
    pub(crate) mac: Option<String>,
    #[serde(default)]
    pub(crate) interface: Option<String>,
    pub(crate) driver: String,
    pub(crate) num_vfs: u16,
    pub(crate) total_vfs: u16,
    pub(crate) vf_device_id: String,
    #[serde(default)]
    pub(crate) vf_driver: Option<String>,
    pub(crate) method: Method,
    /// Per-VF settings, resolved (only VFs that get any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) vfs: Vec<vf::PlannedVf>,
}

/// An SR-IOV function the plan leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Skipped {
    pub(crate) address: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) interface: Option<String>,
    pub(crate) reason: SkipReason,
}

/// Why the plan leaves an SR-IOV function alone. The state file keeps the
/// text (its `Display`); code asks the variant, never the wording.
#[derive(Debug, Clone)]
pub(crate) enum SkipReason {
    /// Not a network controller (PCI class): only NICs get VFs.
    NotNetwork { class: Option<u32> },
    /// The kernel cannot create VFs on it now: its status and what to do.
    NotUsable { status: Status, hint: String },
    /// No `sriov_vf_device` and no readable capability.
    NoVfDeviceId,
    /// The pcidevices hand-off needs the PF's interface name.
    NoInterfaceForPcidevices,
    /// `sriov.enabled: false`.
    Disabled,
    /// A rule with `enabled: false` matched it.
    TurnedOff { rule: usize, matcher: String },
    /// The install's management NIC, not selected with `allow_management`.
    Management,
    /// The chosen hand-off cannot take this PF (its reason, with what to do).
    HandoffRefuses(String),
    /// A reason read back from a state file: only its text is known.
    Recorded(String),
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NotNetwork { class } => write!(
                f,
                "not a network controller (class {}): only NICs get VFs",
                class.map_or("unknown".into(), crate::scan::pci::class)
            ),
            SkipReason::NotUsable { status, hint } => write!(f, "{status}: {hint}"),
            SkipReason::NoVfDeviceId => {
                f.write_str("the VF device id is unknown (no sriov_vf_device, no readable capability)")
            }
            SkipReason::NoInterfaceForPcidevices => {
                f.write_str("pcidevices names its objects after the PF's interface, and this PF has none")
            }
            SkipReason::Disabled => f.write_str("SR-IOV is not enabled (sriov.enabled: false)"),
            SkipReason::TurnedOff { rule, matcher } => {
                write!(f, "turned off by sriov.devices[{rule}] (match {matcher})")
            }
            SkipReason::Management => f.write_str(
                "management NIC (install.management_interface): a rule naming it with allow_management: true selects it",
            ),
            SkipReason::HandoffRefuses(text) | SkipReason::Recorded(text) => f.write_str(text),
        }
    }
}

/// Two reasons are the same when they say the same (a reason read back
/// from a state file equals the one that was written).
impl PartialEq for SkipReason {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for SkipReason {}

impl Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SkipReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SkipReason::Recorded)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Plan {
    pub(crate) version: u32,
    /// The harvester-sriov version that wrote the state, so that an older
    /// binary can say which one it needs.
    pub(crate) written_by: String,
    pub(crate) node: String,
    pub(crate) enabled: bool,
    pub(crate) device_type: DeviceType,
    pub(crate) operator: Operator,
    pub(crate) resource_name: String,
    /// Namespace of sriov-network-operator's objects.
    #[serde(default = "default_namespace")]
    pub(crate) operator_namespace: String,
    /// The optional `SriovNetwork`.
    #[serde(default)]
    pub(crate) network: Option<Network>,
    #[serde(default)]
    pub(crate) mtu: Option<u32>,
    /// Node labels to write (empty: no label file).
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) pfs: Vec<PlannedPf>,
    #[serde(default)]
    pub(crate) skipped: Vec<Skipped>,
    /// The rules as configured, kept for the record.
    #[serde(default)]
    pub(crate) rules: Vec<Rule>,
    /// Informational lines (a count capped at the kernel's limit).
    #[serde(skip)]
    pub(crate) notices: Vec<String>,
    /// Soft problems: a rule that matches nothing, no usable NIC.
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
    /// The state version this plan was read from when it was older than
    /// [`STATE_VERSION`] (and migrated forward); `None` for a current one.
    #[serde(skip)]
    pub(crate) migrated_from: Option<u32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PlanError {
    #[error(
        "{file}: sriov.devices[{rule}].num_vfs: {wanted} VFs asked for {address} ({name}), but its kernel allows at most {total} (sriov_totalvfs)"
    )]
    AboveTotal {
        file: String,
        rule: usize,
        address: String,
        name: String,
        wanted: u16,
        total: u16,
    },
    #[error(
        "{file}: os.hostname: node name {name:?} is not a valid Kubernetes node name (lower-case DNS subdomain)"
    )]
    BadNodeName { file: String, name: String },
    #[error(
        "{file}: os.hostname: the node name is {len} characters, and operator pcidevices labels its objects `nodename: <node>`, a label value of at most 63 characters: use a shorter host name, or operator: none"
    )]
    NodeNameTooLongForPcidevices { file: String, len: usize },
    #[error(
        "{file}: sriov.device_type: vfio-pci with an operator other than pcidevices, while {key} is true: pcidevices' claim controller unbinds every VF on vfio-pci that has no PCIDeviceClaim at each start (harvester/pcidevices:pkg/controller/pcideviceclaim/pcideviceclaim_controller.go unbindOrphanedPCIDevices); use operator: pcidevices, device_type: netdevice, or turn the addon off"
    )]
    VfioWithPcidevicesAddon { file: String, key: &'static str },
    #[error(
        "{file}: sriov.label_capable: false does not work with operator sriov-network-operator: its config daemon selects nodes by the {label} label"
    )]
    LabelNeeded { file: String, label: &'static str },
    #[error(
        "{file}: sriov.resource_name: {name:?} is refused by every released sriov-network-operator (v1.3 to v1.6 admit only ^[a-zA-Z0-9_]+$): use letters, digits and '_'"
    )]
    ResourceName { file: String, name: String },
    #[error("{file}: {key}: {message}")]
    Vf {
        file: String,
        key: String,
        message: String,
    },
}

/// The plan with each planned PF under the address and interface it has
/// now (`found[i]`: PF `i`'s, when it was found), and one line per change.
/// Its identity (vendor:device, serial, MAC), its count and its per-VF
/// settings (stable MACs included) stay: only where it is and what it is
/// called move. Pure.
pub(crate) fn followed(plan: &Plan, found: &[Option<(String, Option<String>)>]) -> (Plan, Vec<String>) {
    let mut next = plan.clone();
    let mut changes = vec![];
    for (pf, now) in next.pfs.iter_mut().zip(found) {
        let Some((address, interface)) = now else {
            continue;
        };
        let mut what = vec![];
        if *address != pf.address {
            what.push(format!("moved from {} to {address}", pf.address));
        }
        if interface.is_some() && *interface != pf.interface {
            what.push(format!(
                "renamed from {} to {}",
                pf.interface.as_deref().unwrap_or("no interface"),
                interface.as_deref().unwrap_or_default()
            ));
        }
        if what.is_empty() {
            continue;
        }
        let by = if pf.serial.is_some() {
            "same serial number"
        } else if pf.mac.is_some() {
            "same MAC"
        } else {
            "same vendor:device at its address"
        };
        changes.push(format!(
            "{}:{} {} ({by})",
            pf.vendor_id,
            pf.device_id,
            what.join(", ")
        ));
        pf.address.clone_from(address);
        pf.interface.clone_from(interface);
    }
    (next, changes)
}

/// Give every planned PF its per-VF settings ([`vf::resolve`]).
fn resolve_vfs(
    pfs: &mut [PlannedPf],
    pf_rule: &[Option<usize>],
    sriov: &Sriov,
    devices: &[Device],
) -> Result<(), vf::VfPlanError> {
    let parse = |m: &Option<String>| m.as_deref().and_then(crate::intent::vf::parse_mac);
    let inputs: Vec<vf::PfInput<'_>> = pfs
        .iter()
        .zip(pf_rule)
        .map(|(pf, rule)| vf::PfInput {
            name: format!(
                "{} ({})",
                pf.address,
                pf.interface.as_deref().unwrap_or("no interface")
            ),
            driver: &pf.driver,
            device_id: u16::from_str_radix(&pf.device_id, 16).ok(),
            num_vfs: pf.num_vfs,
            identity: vf::pf_identity(pf.serial.as_deref(), pf.mac.as_deref()),
            mac: parse(&pf.mac),
            section: &sriov.vfs,
            rule: rule.map_or(&[][..], |i| &sriov.devices[i].vfs),
        })
        .collect();
    // Every MAC a function other than a VF has now: a VF never takes one.
    let taken = devices
        .iter()
        .filter(|d| d.physfn.is_none())
        .filter_map(|d| parse(&d.mac))
        .collect();
    let resolved = vf::resolve(&inputs, &taken)?;
    for (pf, vfs) in pfs.iter_mut().zip(resolved) {
        pf.vfs = vfs;
    }
    Ok(())
}

/// The VF driver of a PF driver, for `softdep <vf-driver> pre: vfio-pci`.
pub(crate) fn vf_driver(pf_driver: &str) -> Option<&'static str> {
    Some(match pf_driver {
        "igb" => "igbvf",
        "ixgbe" => "ixgbevf",
        "i40e" | "ice" => "iavf",
        "bnxt_en" => "bnxt_en",
        "mlx5_core" => "mlx5_core",
        "mlx4_core" => "mlx4_core",
        "qede" => "qede",
        "be2net" => "be2net",
        "cxgb4" => "cxgb4vf",
        "enic" => "enic",
        "octeontx2-af" | "rvu_nicpf" => "rvu_nicvf",
        _ => return None,
    })
}

fn rule_matches(rule: &Rule, d: &Device) -> bool {
    let m = &rule.matcher;
    let hex = crate::scan::pci::id;
    m.address.as_ref().is_none_or(|a| *a == d.address)
        && m.interface.as_ref().is_none_or(|i| d.interfaces.contains(i))
        && m.vendor
            .as_ref()
            .is_none_or(|v| Some(v) == hex(d.vendor_id).as_ref())
        && m.device
            .as_ref()
            .is_none_or(|v| Some(v) == hex(d.device_id).as_ref())
        && m.serial
            .as_ref()
            .is_none_or(|s| Some(s) == d.serial_string().as_ref())
}

/// Whether `rule` matches any SR-IOV PF of `devices` (the plan's warning
/// "matches no SR-IOV function on this node" when it does not).
pub(crate) fn rule_matches_any(rule: &Rule, devices: &[Device]) -> bool {
    devices
        .iter()
        .any(|d| d.is_sriov_pf() && d.physfn.is_none() && rule_matches(rule, d))
}

fn is_management(cfg: &Intent, d: &Device) -> bool {
    cfg.management.iter().any(|m| {
        m.name.as_ref().is_some_and(|n| d.interfaces.contains(n))
            || m.hw_addr
                .as_ref()
                .is_some_and(|h| d.mac.as_deref().map(str::to_ascii_lowercase).as_ref() == Some(h))
    })
}

fn display_name(d: &Device) -> String {
    format!("{} {}", d.vendor_name(), d.device_name())
}

fn default_namespace() -> String {
    crate::intent::config::DEFAULT_OPERATOR_NAMESPACE.into()
}

/// Why the chosen cluster-side owner cannot take this PF, or `None`.
fn owner_refuses(d: &Device, sriov: &Sriov, management: bool, notices: &mut Vec<String>) -> Option<String> {
    let vendor = crate::scan::pci::id(d.vendor_id).unwrap_or_default();
    let device = crate::scan::pci::id(d.device_id).unwrap_or_default();
    match sriov.operator {
        // harvester/pcidevices:pkg/util/nichelper/helper.go generates objects
        // for every NIC with a PCI address and sriov_totalvfs except the bond
        // (or vrf) slaves of mgmt-bo/mgmt-br (IdentifyManagementNics: a
        // bridge port is not skipped), and its controller deletes any other
        // object labelled with the node every 30 s. It does list an mlx4_core
        // PF (numVFs 0), but a count it writes fails: mlx4_core has no
        // sriov_configure, so sriov_numvfs refuses writes (ENOENT).
        // pcidevices names the object strings.ToLower(node + "-" + nic)
        // (harvester/pcidevices:pkg/util/nichelper/helper.go), and the API
        // server refuses a name that is not a DNS-1123 subdomain: an
        // interface name that is not a DNS-1123 label once lower-cased
        // (`data_0`, `eth#0`) would make an object nobody can create.
        Operator::Pcidevices
            if d
                .interfaces
                .first()
                .is_some_and(|i| !crate::intent::labels::dns_label_ok(&i.to_lowercase())) =>
        {
            Some(format!(
                "interface name {:?} is not a DNS-1123 label once lower-cased (a-z, 0-9, '-', at most 63): pcidevices names its SRIOVNetworkDevice after it and the API server refuses that name; rename the interface or use operator: none",
                d.interfaces[0]
            ))
        }
        Operator::Pcidevices if management => Some(
            "management NIC: pcidevices skips the members of the mgmt-bo bond and deletes an object for one; use operator: none for it".into(),
        ),
        Operator::Pcidevices if d.status() == Status::DriverParamOnly => Some(format!(
            "{}: VFs only from the module parameter, and pcidevices writes sriov_numvfs (ENOENT): use operator: none",
            d.driver.as_deref().unwrap_or("the driver")
        )),
        // The operator's daemon skips a PF without a netdev, so a policy
        // for it would select nothing.
        Operator::SriovNetworkOperator if d.interfaces.is_empty() => Some(
            "no network interface: sriov-network-operator skips such a PF, a policy would select nothing".into(),
        ),
        Operator::SriovNetworkOperator if !operator::operator_supports(&vendor, &device) => {
            let vf = crate::scan::pci::id(d.vf_device_id()).unwrap_or_default();
            let line = operator::supported_extra_nics_line(&vendor, &device, &vf);
            if sriov.operator_extra_nics {
                notices.push(format!(
                    "{} ({vendor}:{device}) is not in sriov-network-operator's default supported-nic-ids; handed over because sriov.operator_extra_nics is true: the chart needs {line}",
                    d.address
                ));
                None
            } else {
                Some(format!(
                    "{vendor}:{device} is not in sriov-network-operator's supported-nic-ids (its webhook refuses the policy, its daemon skips the NIC): install the chart with {line} and set sriov.operator_extra_nics: true"
                ))
            }
        }
        _ => None,
    }
}

/// Why a PF cannot be used, or `None` when it can.
fn unusable_reason(d: &Device, sriov: &Sriov) -> Option<SkipReason> {
    if !d.is_network() {
        return Some(SkipReason::NotNetwork { class: d.class });
    }
    let status = d.status();
    if !status.sysfs_usable() && status != Status::DriverParamOnly {
        return Some(SkipReason::NotUsable {
            status,
            hint: d.hint(),
        });
    }
    if d.vf_device_id().is_none() {
        return Some(SkipReason::NoVfDeviceId);
    }
    if sriov.operator == Operator::Pcidevices && d.interfaces.is_empty() {
        return Some(SkipReason::NoInterfaceForPcidevices);
    }
    None
}

/// Build the plan. Pure: the inventory, the intent (the config and its
/// `sriov` section) and the node name in, the plan out.
pub(crate) fn build(devices: &[Device], intent: &Intent, node: &str) -> Result<Plan, PlanError> {
    let (cfg, sriov) = (intent, &intent.sriov);
    let file = cfg.file.display().to_string();
    // An os.hostname the installer refuses is refused alike (its validator:
    // harvester/harvester-installer:pkg/console/validator.go, the host name
    // must be a DNS-1123 subdomain, lower case); only the kernel's host name
    // is lower-cased, as the kubelet does.
    let node = if cfg.hostname.as_deref() == Some(node) {
        node.to_owned()
    } else {
        node.to_ascii_lowercase()
    };
    if !crate::intent::labels::dns_subdomain_ok(&node) {
        return Err(PlanError::BadNodeName { file, name: node });
    }
    if sriov.enabled && sriov.operator == Operator::Pcidevices && node.len() > 63 {
        return Err(PlanError::NodeNameTooLongForPcidevices {
            file,
            len: node.len(),
        });
    }
    if sriov.enabled
        && sriov.device_type == crate::intent::config::DeviceType::VfioPci
        && sriov.operator != Operator::Pcidevices
        && cfg.pcidevices_addon == Some(true)
    {
        return Err(PlanError::VfioWithPcidevicesAddon {
            file,
            key: crate::intent::config::PCIDEVICES_ADDON_KEY,
        });
    }
    if !sriov.label_capable && sriov.enabled && sriov.operator == Operator::SriovNetworkOperator {
        return Err(PlanError::LabelNeeded {
            file,
            label: crate::intent::labels::CAPABLE,
        });
    }
    // The config loader checks this too; answers from the console reach here directly.
    if sriov.enabled
        && sriov.operator == Operator::SriovNetworkOperator
        && !crate::intent::config::released_resource_name(&sriov.resource_name)
    {
        return Err(PlanError::ResourceName {
            file,
            name: sriov.resource_name.clone(),
        });
    }
    let mut plan = Plan {
        version: STATE_VERSION,
        written_by: crate::VERSION.to_owned(),
        node,
        enabled: sriov.enabled,
        device_type: sriov.device_type,
        operator: sriov.operator,
        resource_name: sriov.resource_name.clone(),
        operator_namespace: sriov.operator_namespace.clone(),
        network: sriov.network.clone(),
        mtu: sriov.mtu,
        labels: BTreeMap::new(),
        pfs: vec![],
        skipped: vec![],
        rules: sriov.devices.clone(),
        notices: vec![],
        warnings: vec![],
        migrated_from: None,
    };
    let mut rule_used = vec![false; sriov.devices.len()];
    // The rule of each planned PF, for its per-VF settings.
    let mut pf_rule: Vec<Option<usize>> = vec![];
    let mut any_usable = false;
    for d in devices.iter().filter(|d| d.is_sriov_pf() && d.physfn.is_none()) {
        let rule = sriov.devices.iter().position(|r| rule_matches(r, d));
        if let Some(i) = rule {
            rule_used[i] = true;
        }
        let skip = |reason: SkipReason| Skipped {
            address: d.address.clone(),
            name: display_name(d),
            interface: d.interfaces.first().cloned(),
            reason,
        };
        if let Some(reason) = unusable_reason(d, sriov) {
            plan.skipped.push(skip(reason));
            continue;
        }
        any_usable = true;
        let rule = rule.map(|i| (i, &sriov.devices[i]));
        let reason = if !sriov.enabled {
            Some(SkipReason::Disabled)
        } else if let Some((i, r)) = rule.filter(|(_, r)| r.enabled == Some(false)) {
            Some(SkipReason::TurnedOff {
                rule: i,
                matcher: r.matcher.to_string(),
            })
        } else if is_management(cfg, d) && !rule.is_some_and(|(_, r)| r.allow_management) {
            Some(SkipReason::Management)
        } else {
            owner_refuses(d, sriov, is_management(cfg, d), &mut plan.notices).map(SkipReason::HandoffRefuses)
        };
        if let Some(reason) = reason {
            plan.skipped.push(skip(reason));
            continue;
        }
        let total = d.kernel_total();
        let num_vfs = match rule.and_then(|(i, r)| r.num_vfs.map(|n| (i, n))) {
            Some((i, n)) if n > total => {
                return Err(PlanError::AboveTotal {
                    file,
                    rule: i,
                    address: d.address.clone(),
                    name: display_name(d),
                    wanted: n,
                    total,
                });
            }
            Some((_, n)) => n,
            None if sriov.num_vfs > total => {
                plan.notices.push(format!(
                    "{} ({}): num_vfs {} capped to {total}, the kernel's limit for this card",
                    d.address,
                    d.interfaces.first().map_or("no interface", String::as_str),
                    sriov.num_vfs
                ));
                total
            }
            None => sriov.num_vfs,
        };
        let driver = d.driver.clone().unwrap_or_default();
        pf_rule.push(rule.map(|(i, _)| i));
        plan.pfs.push(PlannedPf {
            address: d.address.clone(),
            vendor_id: hex16(d.vendor_id.unwrap_or(0)),
            device_id: hex16(d.device_id.unwrap_or(0)),
            serial: d.serial_string(),
            mac: d.mac.clone(),
            interface: d.interfaces.first().cloned(),
            vf_driver: vf_driver(&driver).map(str::to_owned),
            method: if d.status() == Status::DriverParamOnly {
                Method::ModuleParam
            } else {
                Method::Sysfs
            },
            driver,
            num_vfs,
            total_vfs: total,
            vf_device_id: hex16(d.vf_device_id().unwrap_or(0)),
            vfs: vec![],
        });
    }
    resolve_vfs(&mut plan.pfs, &pf_rule, sriov, devices).map_err(|e| PlanError::Vf {
        file: file.clone(),
        key: e.key,
        message: e.message,
    })?;
    // The SriovNetwork must carry the VLAN the host sets (src/plan/network.rs).
    if let Some(net) = &plan.network
        && plan.enabled
        && plan.operator == Operator::SriovNetworkOperator
    {
        network::host_vlan(net, &plan.resource_name, &plan.pfs).map_err(|e| PlanError::Vf {
            file: file.clone(),
            key: e.key.to_owned(),
            message: e.message,
        })?;
    }
    for (i, used) in rule_used.iter().enumerate() {
        if *used {
            continue;
        }
        let rule = &sriov.devices[i];
        // A rule that matches a function another rule took first is
        // shadowed, not unmatched: the first matching rule wins.
        let shadow = devices
            .iter()
            .filter(|d| d.is_sriov_pf() && d.physfn.is_none() && rule_matches(rule, d))
            .find_map(|d| sriov.devices.iter().position(|r| rule_matches(r, d)));
        plan.warnings.push(match shadow {
            Some(j) => format!(
                "sriov.devices[{i}] (match {}) is shadowed by sriov.devices[{j}]: it matches the same SR-IOV function, and the first matching rule wins",
                rule.matcher
            ),
            None => format!(
                "sriov.devices[{i}] (match {}) matches no SR-IOV function on this node",
                rule.matcher
            ),
        });
    }
    if sriov.enabled
        && !plan.pfs.is_empty()
        && sriov.operator == Operator::Pcidevices
        && cfg.install_mode.as_deref() == Some("create")
        && cfg.pcidevices_addon != Some(true)
    {
        plan.warnings.push(format!(
            "operator pcidevices: Harvester's pcidevices addon is off unless {} is true in this create node's config (harvester/addons:pkg/templates/rancherd-22-addons.yaml); without it nothing creates the VFs",
            crate::intent::config::PCIDEVICES_ADDON_KEY
        ));
    }
    if sriov.enabled
        && !plan.pfs.is_empty()
        && sriov.device_type == crate::intent::config::DeviceType::VfioPci
        && sriov.operator != Operator::Pcidevices
    {
        plan.warnings.push(format!(
            "device_type vfio-pci with operator {}: if Harvester's pcidevices addon runs in this cluster, its claim controller unbinds, at every start, each VF on vfio-pci without a PCIDeviceClaim (harvester/pcidevices:pkg/controller/pcideviceclaim/pcideviceclaim_controller.go unbindOrphanedPCIDevices): keep {} off, or use operator: pcidevices",
            sriov.operator,
            crate::intent::config::PCIDEVICES_ADDON_KEY
        ));
    }
    if sriov.enabled && plan.pfs.is_empty() {
        plan.warnings.push(
            "SR-IOV is enabled, but no SR-IOV NIC on this node can be used (see the skipped list)".into(),
        );
    }
    if sriov.label_capable && any_usable {
        plan.labels
            .insert(crate::intent::labels::CAPABLE.into(), "true".into());
    }
    for (k, v) in &sriov.labels {
        plan.labels.insert(k.clone(), v.clone());
    }
    Ok(plan)
}
