//! The configuration's data: what the `sriov:` section and the Harvester
//! keys the tool reads become once parsed. Parsing lives in `schema.rs`
//! (the `sriov:` section) and `harvester.rs` (the installer's own keys).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub(crate) use crate::intent::vf::VfEntry;

/// How VFs are handed to workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DeviceType {
    /// VFs bound to vfio-pci, for VM passthrough (the default).
    VfioPci,
    /// VFs keep their kernel network driver.
    Netdevice,
}

impl DeviceType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeviceType::VfioPci => "vfio-pci",
            DeviceType::Netdevice => "netdevice",
        }
    }
}

/// Who takes the VFs over in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[expect(
    clippy::enum_variant_names,
    reason = "the product is called sriov-network-operator"
)]
pub(crate) enum Operator {
    SriovNetworkOperator,
    Pcidevices,
    None,
}

impl Operator {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operator::SriovNetworkOperator => "sriov-network-operator",
            Operator::Pcidevices => "pcidevices",
            Operator::None => "none",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which PFs a rule is about. All given fields must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Match {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) interface: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) serial: Option<String>,
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = vec![];
        let fields = [
            ("address", &self.address),
            ("interface", &self.interface),
            ("vendor", &self.vendor),
            ("device", &self.device),
            ("serial", &self.serial),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                parts.push(format!("{k}: {v}"));
            }
        }
        write!(f, "{{{}}}", parts.join(", "))
    }
}

/// One `sriov.devices[]` rule; the first matching rule wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rule {
    #[serde(rename = "match")]
    pub(crate) matcher: Match,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) num_vfs: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) enabled: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub(crate) allow_management: bool,
    /// Per-VF settings (`vfs:`); `boot` applies them as the plan resolved
    /// them per PF (`PlannedPf::vfs`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub(crate) vfs: Vec<VfEntry>,
}

/// The validated `sriov` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sriov {
    pub(crate) enabled: bool,
    /// VFs for every selected PF (capped at each PF's kernel total).
    pub(crate) num_vfs: u16,
    /// `num_vfs` was given, not defaulted.
    #[serde(skip)]
    pub(crate) num_vfs_given: bool,
    pub(crate) device_type: DeviceType,
    pub(crate) resource_name: String,
    pub(crate) mtu: Option<u32>,
    pub(crate) operator: Operator,
    pub(crate) label_capable: bool,
    /// Extra node labels.
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) devices: Vec<Rule>,
    /// Namespace of sriov-network-operator's objects (its chart's release namespace).
    #[serde(default = "default_operator_namespace")]
    pub(crate) operator_namespace: String,
    /// The chart's `supportedExtraNICs` lists the models its default list lacks.
    #[serde(default)]
    pub(crate) operator_extra_nics: bool,
    /// An optional `SriovNetwork` for VMs (sriov-network-operator only).
    #[serde(default)]
    pub(crate) network: Option<Network>,
    /// `sriov.vfs`: per-VF defaults for every planned PF; a rule's `vfs:`
    /// overrides them setting by setting.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub(crate) vfs: Vec<VfEntry>,
}

/// `sriov.network`: the `SriovNetwork` VMs attach to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Network {
    pub(crate) name: String,
    /// Where the NetworkAttachmentDefinition is made (the VMs' namespace).
    pub(crate) namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vlan: Option<u16>,
}

/// The chart's default namespace (k8snetworkplumbingwg/sriov-network-operator:
/// deployment/sriov-network-operator-chart, installed as its own release namespace).
pub(crate) const DEFAULT_OPERATOR_NAMESPACE: &str = "sriov-network-operator";

fn default_operator_namespace() -> String {
    DEFAULT_OPERATOR_NAMESPACE.into()
}

pub(crate) const DEFAULT_NUM_VFS: u16 = 8;
pub(crate) const DEFAULT_RESOURCE_NAME: &str = "sriovnics";

impl Default for Sriov {
    fn default() -> Self {
        Sriov {
            enabled: false,
            num_vfs: DEFAULT_NUM_VFS,
            num_vfs_given: false,
            device_type: DeviceType::VfioPci,
            resource_name: DEFAULT_RESOURCE_NAME.into(),
            mtu: None,
            // What a stock Harvester ships (harvester/addons:
            // pkg/templates/rancherd-22-addons.yaml); the operator is not shipped.
            operator: Operator::Pcidevices,
            label_capable: true,
            labels: BTreeMap::new(),
            devices: vec![],
            operator_namespace: DEFAULT_OPERATOR_NAMESPACE.into(),
            operator_extra_nics: false,
            network: None,
            vfs: vec![],
        }
    }
}

/// A management NIC from `install.management_interface.interfaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MgmtNic {
    pub(crate) name: Option<String>,
    pub(crate) hw_addr: Option<String>,
}

/// What the tool takes from one install config: the Harvester keys it
/// reads, and the `sriov` section (`S`). As read from a file, `S` is
/// `Option<Sriov>` (`None`: no section); what is planned is an [`Intent`],
/// whose section is there. One value carries both: nothing passes the
/// config and a section beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InstallConfig<S = Option<Sriov>> {
    pub(crate) file: PathBuf,
    /// `None` (as read): the file has no `sriov` section (nor `sriov-config`).
    pub(crate) sriov: S,
    pub(crate) hostname: Option<String>,
    pub(crate) install_mode: Option<String>,
    pub(crate) install_role: Option<String>,
    pub(crate) management: Vec<MgmtNic>,
    /// `install.addons.harvester_pcidevices_controller.enabled`, when given.
    pub(crate) pcidevices_addon: Option<bool>,
    /// `os.additional_kernel_arguments`, when given.
    pub(crate) kernel_args: Option<String>,
    /// Soft problems found while reading (a `sriov` key the chosen hand-off
    /// ignores); the plan shows them with its own warnings.
    pub(crate) warnings: Vec<String>,
}

/// What a plan is made from: an install config with the `sriov` section to
/// apply (the file's own, or the console's answers).
pub(crate) type Intent = InstallConfig<Sriov>;

impl InstallConfig {
    /// The intent to plan: this config with its `sriov` section; `None`
    /// when it has none.
    pub(crate) fn intent(mut self) -> Option<Intent> {
        let sriov = self.sriov.take()?;
        Some(self.with_section(sriov))
    }

    /// The intent to plan `sriov` (the console's answers, or the wizard's
    /// probe) with this config's Harvester keys: the config's own section,
    /// and the warnings about it, are not that section's.
    pub(crate) fn with_sriov(self, sriov: Sriov) -> Intent {
        InstallConfig {
            warnings: vec![],
            ..self.with_section(sriov)
        }
    }
}

impl<S> InstallConfig<S> {
    /// The same config with `sriov` as its section.
    fn with_section<T>(self, sriov: T) -> InstallConfig<T> {
        let InstallConfig {
            file,
            sriov: _,
            hostname,
            install_mode,
            install_role,
            management,
            pcidevices_addon,
            kernel_args,
            warnings,
        } = self;
        InstallConfig {
            file,
            sriov,
            hostname,
            install_mode,
            install_role,
            management,
            pcidevices_addon,
            kernel_args,
            warnings,
        }
    }
}

/// The install config key that turns Harvester's pcidevices addon on.
pub(crate) const PCIDEVICES_ADDON_KEY: &str = "install.addons.harvester_pcidevices_controller.enabled";

/// `^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$`, at most 63 characters: the
/// sriov-network-operator webhook's rule for `resourceName`.
pub(crate) fn valid_resource_name(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// `^[a-zA-Z0-9_]+$`: `resourceName` as every released sriov-network-operator
/// (v1.3 to v1.6, pkg/webhook/validate.go) admits it; `-` came only later.
pub(crate) fn released_resource_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}
