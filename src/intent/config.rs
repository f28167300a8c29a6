//! The unattended configuration: the `sriov:` section of a Harvester install
//! `config.yaml` (or the seed's `sriov-config` JSON form), plus the few
//! Harvester keys the tool needs. Everything else in the file is ignored, as
//! Harvester's installer ignores unknown top-level keys.
//!
//! Keys are accepted in snake_case and camelCase. Every error names the
//! file, the key path and the value, and nothing is written.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value;

/// A config file larger than this is refused before parsing (at most this
/// many bytes + 1 are read).
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("{file}: cannot read")]
    Read { file: PathBuf, source: std::io::Error },
    #[error("{file}: more than {MAX_CONFIG_BYTES} bytes, too large for an install config")]
    TooLarge { file: PathBuf },
    #[error("{file}: not valid UTF-8 text (byte offset {offset})")]
    NotUtf8 { file: PathBuf, offset: usize },
    #[error("{file}: not valid YAML: {message}")]
    Yaml { file: PathBuf, message: String },
    #[error("{file}: {key}: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

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
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
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
    pub matcher: Match,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_vfs: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub allow_management: bool,
}

/// The validated `sriov` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sriov {
    pub enabled: bool,
    /// VFs for every selected PF (capped at each PF's kernel total).
    pub num_vfs: u16,
    /// `num_vfs` was given, not defaulted.
    #[serde(skip)]
    pub num_vfs_given: bool,
    pub device_type: DeviceType,
    pub resource_name: String,
    pub mtu: Option<u32>,
    pub operator: Operator,
    pub label_capable: bool,
    /// Extra node labels.
    pub labels: BTreeMap<String, String>,
    pub devices: Vec<Rule>,
    /// Namespace of sriov-network-operator's objects (its chart's release namespace).
    #[serde(default = "default_operator_namespace")]
    pub operator_namespace: String,
    /// The chart's `supportedExtraNICs` lists the models its default list lacks.
    #[serde(default)]
    pub operator_extra_nics: bool,
    /// An optional `SriovNetwork` for VMs (sriov-network-operator only).
    #[serde(default)]
    pub network: Option<Network>,
}

/// `sriov.network`: the `SriovNetwork` VMs attach to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Network {
    pub name: String,
    /// Where the NetworkAttachmentDefinition is made (the VMs' namespace).
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
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
        }
    }
}

/// A management NIC from `install.management_interface.interfaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MgmtNic {
    pub name: Option<String>,
    pub hw_addr: Option<String>,
}

/// What the tool takes from one install config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InstallConfig {
    pub file: PathBuf,
    /// `None`: the file has no `sriov` section (nor `sriov-config`).
    pub sriov: Option<Sriov>,
    pub hostname: Option<String>,
    pub install_mode: Option<String>,
    pub install_role: Option<String>,
    pub management: Vec<MgmtNic>,
    /// `install.addons.harvester_pcidevices_controller.enabled`, when given.
    pub pcidevices_addon: Option<bool>,
    /// `os.additional_kernel_arguments`, when given.
    pub kernel_args: Option<String>,
}

/// The install config key that turns Harvester's pcidevices addon on.
pub(crate) const PCIDEVICES_ADDON_KEY: &str = "install.addons.harvester_pcidevices_controller.enabled";

/// `managementInterface` -> `management_interface`; `sriov-config` stays.
pub(crate) fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

fn did_you_mean(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(key, k), k))
        .filter(|(d, k)| *d <= 2 + k.len() / 3)
        .min()
        .map_or_else(
            || format!(" (known keys: {})", known.join(", ")),
            |(_, k)| format!(" (did you mean `{k}`?)"),
        )
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// Walks the parsed YAML and names every key path in its errors.
struct Ctx<'a> {
    file: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_owned(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// A mapping's entries with snake_case keys; duplicates (after
    /// normalising `numVfs`/`num_vfs`) and non-string keys are errors.
    fn entries<'v>(&self, key: &str, v: &'v Value) -> Result<Vec<(String, &'v Value)>, ConfigError> {
        let Value::Mapping(m) = v else {
            return Err(self.err(key, format!("expected a mapping, got {}", describe(v))));
        };
        let mut out: Vec<(String, &Value)> = Vec::with_capacity(m.len());
        for (k, val) in m {
            let Value::String(k) = k else {
                return Err(self.err(key, format!("keys must be strings, got {}", describe(k))));
            };
            let norm = snake_case(k);
            if out.iter().any(|(seen, _)| *seen == norm) {
                return Err(self.err(
                    &join(key, k),
                    "given twice (snake_case and camelCase are the same key)",
                ));
            }
            out.push((norm, val));
        }
        Ok(out)
    }

    fn known<'v>(
        &self,
        key: &str,
        v: &'v Value,
        known: &[&str],
    ) -> Result<Vec<(String, &'v Value)>, ConfigError> {
        let entries = self.entries(key, v)?;
        for (k, _) in &entries {
            if !known.contains(&k.as_str()) {
                return Err(self.err(&join(key, k), format!("unknown key{}", did_you_mean(k, known))));
            }
        }
        Ok(entries)
    }

    /// Booleans: YAML's `true`/`false` only. A string is never a boolean
    /// here: `"true"`, `"yes"`, and unquoted `yes`/`on`/`y` (which this YAML
    /// 1.2 reader, like Harvester's yaml.v3, reads as text) are refused with
    /// the key and the value, instead of being guessed one way or the other.
    fn bool(&self, key: &str, v: &Value) -> Result<bool, ConfigError> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::String(_) => Err(self.err(
                key,
                format!(
                    "expected true or false, got the text {} (write true or false without quotes; yes/no/on/off are text to this reader)",
                    describe(v)
                ),
            )),
            _ => Err(self.err(key, format!("expected true or false, got {}", describe(v)))),
        }
    }

    fn int(&self, key: &str, v: &Value, min: u64, max: u64) -> Result<u64, ConfigError> {
        let n = match v {
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.err(
                key,
                format!("expected a whole number from {min} to {max}, got {}", describe(v)),
            )),
        }
    }

    fn string(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            // Numbers written without quotes (`vendor: 8086`) are meant as text.
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(self.err(key, format!("expected text, got {}", describe(v)))),
        }
    }

    fn nonempty(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        let s = self.string(key, v)?;
        if s.trim().is_empty() {
            return Err(self.err(key, "must not be empty"));
        }
        Ok(s)
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

const SRIOV_KEYS: &[&str] = &[
    "enabled",
    "num_vfs",
    "device_type",
    "resource_name",
    "mtu",
    "operator",
    "label_capable",
    "labels",
    "devices",
    "operator_namespace",
    "operator_extra_nics",
    "network",
];
const NETWORK_KEYS: &[&str] = &["name", "namespace", "vlan"];
const RULE_KEYS: &[&str] = &["match", "num_vfs", "enabled", "allow_management"];
const MATCH_KEYS: &[&str] = &["address", "interface", "vendor", "device", "serial"];
const SEED_KEYS: &[&str] = &["sriov_enabled", "num_vfs"];

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

fn parse_network(ctx: &Ctx, key: &str, v: &Value) -> Result<Network, ConfigError> {
    let (mut name, mut namespace, mut vlan) = (None, None, None);
    for (k, val) in ctx.known(key, v, NETWORK_KEYS)? {
        let kp = join(key, &k);
        match k.as_str() {
            "name" | "namespace" => {
                let text = ctx.string(&kp, val)?;
                if !crate::intent::labels::dns_label_ok(&text) {
                    return Err(ctx.err(&kp, format!(
                        "{text:?} is not a valid name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
                    )));
                }
                if k == "name" {
                    name = Some(text);
                } else {
                    namespace = Some(text);
                }
            }
            "vlan" => vlan = Some(ctx.int(&kp, val, 0, 4094)? as u16),
            _ => unreachable!("checked by known()"),
        }
    }
    let Some(name) = name else {
        return Err(ctx.err(&join(key, "name"), "is missing: the SriovNetwork needs a name"));
    };
    Ok(Network {
        name,
        namespace: namespace.unwrap_or_else(|| "default".into()),
        vlan,
    })
}

fn hex_id(ctx: &Ctx, key: &str, v: &Value) -> Result<String, ConfigError> {
    let s = ctx.string(key, v)?.to_ascii_lowercase();
    let digits = s.strip_prefix("0x").unwrap_or(&s);
    if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(digits.to_owned())
    } else {
        Err(ctx.err(
            key,
            format!("expected a 4-digit hex PCI id like \"8086\", got {}", describe(v)),
        ))
    }
}

fn parse_match(ctx: &Ctx, key: &str, v: &Value) -> Result<Match, ConfigError> {
    let mut m = Match::default();
    for (k, val) in ctx.known(key, v, MATCH_KEYS)? {
        let kp = join(key, &k);
        match k.as_str() {
            "address" => {
                let a = ctx.string(&kp, val)?.to_ascii_lowercase();
                // `01:00.0` is accepted as domain 0000, as lspci prints it.
                let a = if a.matches(':').count() == 1 {
                    format!("0000:{a}")
                } else {
                    a
                };
                if !crate::scan::pci::is_pci_address(&a) {
                    return Err(ctx.err(
                        &kp,
                        format!(
                            "expected a PCI address like \"0000:3b:00.0\", got {}",
                            describe(val)
                        ),
                    ));
                }
                m.address = Some(a);
            }
            "interface" => m.interface = Some(ctx.nonempty(&kp, val)?),
            "vendor" => m.vendor = Some(hex_id(ctx, &kp, val)?),
            "device" => m.device = Some(hex_id(ctx, &kp, val)?),
            "serial" => {
                let s = ctx.nonempty(&kp, val)?.to_ascii_lowercase().replace(':', "-");
                let ok = s.len() == 23
                    && s.split('-').count() == 8
                    && s.split('-')
                        .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
                if !ok {
                    return Err(ctx.err(&kp, format!(
                        "expected a PCIe Device Serial Number like \"00-1b-21-ff-ff-2b-46-e0\" (as lspci -vv prints it), got {}",
                        describe(val)
                    )));
                }
                m.serial = Some(s);
            }
            _ => unreachable!("checked by known()"),
        }
    }
    if m == Match::default() {
        return Err(ctx.err(
            key,
            "is empty: name at least one of address, interface, vendor/device, serial",
        ));
    }
    Ok(m)
}

fn parse_rules(ctx: &Ctx, key: &str, v: &Value) -> Result<Vec<Rule>, ConfigError> {
    let Value::Sequence(items) = v else {
        return Err(ctx.err(key, format!("expected a list of rules, got {}", describe(v))));
    };
    let mut rules: Vec<Rule> = vec![];
    for (i, item) in items.iter().enumerate() {
        let rk = format!("{key}[{i}]");
        let mut rule = Rule::default();
        let mut has_match = false;
        for (k, val) in ctx.known(&rk, item, RULE_KEYS)? {
            let kp = join(&rk, &k);
            match k.as_str() {
                "match" => {
                    rule.matcher = parse_match(ctx, &kp, val)?;
                    has_match = true;
                }
                "num_vfs" => rule.num_vfs = Some(ctx.int(&kp, val, 1, u64::from(u16::MAX))? as u16),
                "enabled" => rule.enabled = Some(ctx.bool(&kp, val)?),
                "allow_management" => rule.allow_management = ctx.bool(&kp, val)?,
                _ => unreachable!("checked by known()"),
            }
        }
        if !has_match {
            return Err(ctx.err(&join(&rk, "match"), "is missing: every rule needs a match"));
        }
        if rule.enabled == Some(false) && rule.num_vfs.is_some() {
            return Err(ctx.err(&rk, "sets num_vfs and enabled: false; choose one"));
        }
        if let Some(j) = rules.iter().position(|r| r.matcher == rule.matcher)
            && rules[j] != rule
        {
            {
                return Err(ctx.err(
                    &rk,
                    format!(
                        "conflicts with {key}[{j}]: the same match {} with different settings",
                        rule.matcher
                    ),
                ));
            }
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn parse_labels(ctx: &Ctx, key: &str, v: &Value) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut labels = BTreeMap::new();
    let Value::Mapping(m) = v else {
        return Err(ctx.err(
            key,
            format!("expected a mapping of label: value, got {}", describe(v)),
        ));
    };
    for (k, val) in m {
        let Value::String(k) = k else {
            return Err(ctx.err(key, format!("label names must be text, got {}", describe(k))));
        };
        let kp = join(key, k);
        let val = match val {
            // Unquoted, these are booleans to a YAML 1.1 reader and text to
            // this one (YAML 1.2); quoted, text to both. This reader cannot
            // tell the two apart, so the label value is refused either way
            // rather than guessed.
            Value::String(s)
                if matches!(
                    s.to_ascii_lowercase().as_str(),
                    "y" | "n" | "yes" | "no" | "on" | "off"
                ) =>
            {
                return Err(ctx.err(&kp, format!(
                    "{s:?} is a boolean to YAML 1.1 readers and text to YAML 1.2 readers: use another value, e.g. \"true\" in quotes"
                )));
            }
            Value::String(s) => s.clone(),
            Value::Bool(_) | Value::Null => {
                return Err(ctx.err(&kp, format!(
                    "{} is not text (YAML 1.1 reads yes/no/on/off/true/false as booleans): quote the value",
                    describe(val)
                )));
            }
            other => ctx.string(&kp, other)?,
        };
        crate::intent::labels::check(k, &val).map_err(|e| ctx.err(&kp, e))?;
        labels.insert(k.clone(), val);
    }
    Ok(labels)
}

fn parse_sriov(ctx: &Ctx, key: &str, v: &Value) -> Result<Sriov, ConfigError> {
    let mut s = Sriov::default();
    if v.is_null() {
        return Err(ctx.err(
            key,
            "is empty: write at least `enabled: true` or `enabled: false`",
        ));
    }
    for (k, val) in ctx.known(key, v, SRIOV_KEYS)? {
        let kp = join(key, &k);
        match k.as_str() {
            "enabled" => s.enabled = ctx.bool(&kp, val)?,
            "num_vfs" => {
                s.num_vfs = ctx.int(&kp, val, 1, u64::from(u16::MAX))? as u16;
                s.num_vfs_given = true;
            }
            "device_type" => {
                s.device_type = match ctx.string(&kp, val)?.as_str() {
                    "vfio-pci" => DeviceType::VfioPci,
                    "netdevice" => DeviceType::Netdevice,
                    other => {
                        return Err(ctx.err(
                            &kp,
                            format!(
                                "{other:?} is not a device type: vfio-pci (VMs) or netdevice{}",
                                did_you_mean(other, &["vfio-pci", "netdevice"])
                            ),
                        ));
                    }
                }
            }
            "resource_name" => {
                let name = ctx.string(&kp, val)?;
                if !valid_resource_name(&name) {
                    return Err(ctx.err(&kp, format!(
                        "{name:?} is not a valid resource name: letters, digits, '_' and '-', starting and ending with a letter or digit, at most 63 characters"
                    )));
                }
                s.resource_name = name;
            }
            "mtu" => s.mtu = Some(ctx.int(&kp, val, 68, 9702)? as u32),
            "operator" => {
                s.operator =
                    match ctx.string(&kp, val)?.as_str() {
                        "sriov-network-operator" => Operator::SriovNetworkOperator,
                        "pcidevices" => Operator::Pcidevices,
                        "none" => Operator::None,
                        other => {
                            return Err(ctx.err(&kp, format!(
                            "{other:?} is not an operator: sriov-network-operator, pcidevices or none{}",
                            did_you_mean(other, &["sriov-network-operator", "pcidevices", "none"])
                        )));
                        }
                    }
            }
            "label_capable" => s.label_capable = ctx.bool(&kp, val)?,
            "labels" => s.labels = parse_labels(ctx, &kp, val)?,
            "devices" => s.devices = parse_rules(ctx, &kp, val)?,
            "operator_namespace" => {
                let ns = ctx.string(&kp, val)?;
                if !crate::intent::labels::dns_label_ok(&ns) {
                    return Err(ctx.err(&kp, format!(
                        "{ns:?} is not a valid namespace: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
                    )));
                }
                s.operator_namespace = ns;
            }
            "operator_extra_nics" => s.operator_extra_nics = ctx.bool(&kp, val)?,
            "network" => s.network = Some(parse_network(ctx, &kp, val)?),
            _ => unreachable!("checked by known()"),
        }
    }
    if s.operator == Operator::SriovNetworkOperator && !released_resource_name(&s.resource_name) {
        return Err(ctx.err(
            &join(key, "resource_name"),
            format!(
                "{:?} is refused by every released sriov-network-operator (v1.3 to v1.6 admit only ^[a-zA-Z0-9_]+$): use letters, digits and '_'",
                s.resource_name
            ),
        ));
    }
    if s.network.is_some() && s.operator != Operator::SriovNetworkOperator {
        return Err(ctx.err(
            &join(key, "network"),
            format!(
                "a SriovNetwork is an object of sriov-network-operator, but sriov.operator is {}",
                s.operator
            ),
        ));
    }
    Ok(s)
}

/// The seed proposal's form: `sriov-config: {"sriov_enabled": true, "num_vfs": 8}`,
/// as a mapping or as a JSON string.
fn parse_seed(ctx: &Ctx, key: &str, v: &Value) -> Result<Sriov, ConfigError> {
    let parsed;
    let v = match v {
        Value::String(text) => {
            parsed = serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| ctx.err(key, format!("not valid JSON: {e}")))
                .and_then(|j| {
                    serde_yaml::to_value(j).map_err(|e| ctx.err(key, format!("not usable: {e}")))
                })?;
            &parsed
        }
        other => other,
    };
    let mut s = Sriov::default();
    for (k, val) in ctx.known(key, v, SEED_KEYS)? {
        let kp = join(key, &k);
        match k.as_str() {
            "sriov_enabled" => s.enabled = ctx.bool(&kp, val)?,
            "num_vfs" => {
                // The seed's default is {"sriov_enabled": false, "num_vfs": 0}.
                let n = ctx.int(&kp, val, 0, u64::from(u16::MAX))? as u16;
                if n > 0 {
                    s.num_vfs = n;
                    s.num_vfs_given = true;
                }
            }
            _ => unreachable!("checked by known()"),
        }
    }
    if s.enabled && !s.num_vfs_given {
        return Err(ctx.err(
            &join(key, "num_vfs"),
            "must be at least 1 when sriov_enabled is true",
        ));
    }
    Ok(s)
}

/// Parse an install config from text. `file` is only used in messages.
pub(crate) fn parse(file: &Path, text: &str) -> Result<InstallConfig, ConfigError> {
    let ctx = Ctx { file };
    let doc: Value = serde_yaml::from_str(text).map_err(|e| ConfigError::Yaml {
        file: file.to_owned(),
        message: e.to_string(),
    })?;
    let mut cfg = InstallConfig {
        file: file.to_owned(),
        ..InstallConfig::default()
    };
    if doc.is_null() {
        return Ok(cfg); // an empty file: no sriov section
    }
    let top = ctx.entries("", &doc).map_err(|_| {
        ctx.err(
            "(top level)",
            format!(
                "expected a mapping of keys (a Harvester config.yaml), got {}",
                describe(&doc)
            ),
        )
    })?;
    let mut seen_section: Option<&str> = None;
    for (k, v) in &top {
        match k.as_str() {
            "sriov" | "sriov-config" | "sriov_config" => {
                if let Some(first) = seen_section {
                    return Err(ctx.err(
                        k,
                        format!("conflicts with `{first}`: give the SR-IOV settings once"),
                    ));
                }
                seen_section = Some(if k == "sriov" { "sriov" } else { "sriov-config" });
                cfg.sriov = Some(if k == "sriov" {
                    parse_sriov(&ctx, k, v)?
                } else {
                    parse_seed(&ctx, k, v)?
                });
            }
            _ => {} // Harvester's own keys: not ours.
        }
    }
    harvester_keys(&ctx, &doc, &mut cfg)?;
    check_iommu(&ctx, &cfg)?;
    Ok(cfg)
}

/// rancher/mapper:`convert/convert.go` `ToYAMLKey`, rule for rule:
/// `hwAddr` -> `hw_addr`, `managementInterface` -> `management_interface`.
fn to_yaml_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut cap = false;
    for (i, c) in name.chars().enumerate() {
        if i == 0 {
            cap = c.is_uppercase();
            out.extend(c.to_lowercase());
        } else if c.is_uppercase() {
            if !cap {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            cap = false;
            out.push(c);
        }
    }
    out
}

/// Every spelling Harvester's installer accepts for one of its config fields
/// (harvester/harvester-installer:`pkg/config/rename.go` `FuzzyNames`): the
/// field's JSON name, its lower case, its snake_case and that lower-cased;
/// the same for the name without a trailing "s" and without "es".
pub(crate) fn harvester_spellings(field: &str) -> Vec<String> {
    let mut bases = vec![field.to_owned()];
    if field.len() > 1
        && let Some(b) = field.strip_suffix('s')
    {
        bases.push(b.to_owned());
    }
    if field.len() > 2
        && let Some(b) = field.strip_suffix("es")
    {
        bases.push(b.to_owned());
    }
    let mut out: Vec<String> = vec![];
    for b in bases {
        let y = to_yaml_key(&b);
        for s in [b.clone(), b.to_lowercase(), y.to_lowercase(), y] {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The value of Harvester field `field` (its JSON name) in mapping `v`, in
/// any spelling Harvester accepts. Two spellings with different values are
/// an error (Harvester would keep one of them, depending on map order).
fn harvester_get<'v>(
    ctx: &Ctx,
    key: &str,
    v: &'v Value,
    field: &str,
) -> Result<Option<&'v Value>, ConfigError> {
    let Value::Mapping(m) = v else {
        return Ok(None);
    };
    let names = harvester_spellings(field);
    let mut found: Option<(&str, &Value)> = None;
    for (k, val) in m {
        let Value::String(k) = k else { continue };
        if !names.contains(k) || val.is_null() {
            continue;
        }
        match found {
            Some((first, before)) if before != val => {
                return Err(ctx.err(
                    &join(key, k),
                    format!(
                        "conflicts with `{}`: the same Harvester key given twice with different values",
                        join(key, first)
                    ),
                ));
            }
            Some(_) => {}
            None => found = Some((k, val)),
        }
    }
    Ok(found.map(|(_, v)| v))
}

/// The Harvester keys the tool reads, in every spelling Harvester accepts:
/// `os.hostname`, `install.mode`, `install.role`,
/// `install.managementInterface.interfaces[].name/hwAddr`.
fn harvester_keys(ctx: &Ctx, doc: &Value, cfg: &mut InstallConfig) -> Result<(), ConfigError> {
    if let Some(os) = harvester_get(ctx, "", doc, "os")? {
        if let Some(h) = harvester_get(ctx, "os", os, "hostname")? {
            let h = ctx.string("os.hostname", h)?;
            if !h.is_empty() {
                cfg.hostname = Some(h);
            }
        }
        if let Some(a) = harvester_get(ctx, "os", os, "additionalKernelArguments")? {
            cfg.kernel_args = Some(ctx.string("os.additional_kernel_arguments", a)?);
        }
    }
    let Some(install) = harvester_get(ctx, "", doc, "install")? else {
        return Ok(());
    };
    if let Some(m) = harvester_get(ctx, "install", install, "mode")? {
        cfg.install_mode = Some(ctx.string("install.mode", m)?);
    }
    if let Some(r) = harvester_get(ctx, "install", install, "role")? {
        cfg.install_role = Some(ctx.string("install.role", r)?);
    }
    if let Some(mi) = harvester_get(ctx, "install", install, "managementInterface")?
        && let Some(ifs) = harvester_get(ctx, "install.management_interface", mi, "interfaces")?
    {
        cfg.management = parse_mgmt(ctx, ifs)?;
    }
    // `addons` is a map: its keys are addon names, taken as they are.
    if let Some(Value::Mapping(addons)) = harvester_get(ctx, "install", install, "addons")?
        && let Some(pd) = addons.get("harvester_pcidevices_controller")
        && let Some(on) = harvester_get(
            ctx,
            "install.addons.harvester_pcidevices_controller",
            pd,
            "enabled",
        )?
    {
        cfg.pcidevices_addon = Some(harvester_bool(on));
    }
    Ok(())
}

/// A Harvester boolean as Harvester reads it: rancher/mapper:`convert/convert.go`
/// `ToBool` (through harvester/harvester-installer:`pkg/config/coerce.go`
/// `NewToBool`): a YAML boolean, or text `true`/`t`/`yes`/`y` in any case;
/// anything else is false.
pub(crate) fn harvester_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_lowercase().as_str(), "true" | "t" | "yes" | "y"),
        _ => false,
    }
}

/// sriov-network-operator's daemon wants `intel_iommu=on iommu=pt` for
/// vfio-pci and reboots the node until it has them (v1.6.0
/// pkg/consts/constants.go). Harvester's installed command line has them
/// (harvester/harvester-installer:package/harvester-os/files/etc/cos/bootargs.cfg);
/// extra arguments that turn them off would make that a reboot loop.
fn check_iommu(ctx: &Ctx, cfg: &InstallConfig) -> Result<(), ConfigError> {
    let Some(s) = &cfg.sriov else { return Ok(()) };
    if !s.enabled || s.operator != Operator::SriovNetworkOperator || s.device_type != DeviceType::VfioPci {
        return Ok(());
    }
    let Some(args) = &cfg.kernel_args else {
        return Ok(());
    };
    let off = args.split_whitespace().find(|a| {
        matches!(
            a.to_ascii_lowercase().as_str(),
            "intel_iommu=off" | "amd_iommu=off" | "iommu=off" | "iommu=nopt" | "iommu.passthrough=0"
        )
    });
    match off {
        Some(a) => Err(ctx.err(
            "os.additional_kernel_arguments",
            format!(
                "{a:?} turns off what sriov-network-operator needs for vfio-pci (intel_iommu=on iommu=pt): its daemon would reboot the node again and again; drop it, or use device_type: netdevice or operator: pcidevices"
            ),
        )),
        None => Ok(()),
    }
}

fn parse_mgmt(ctx: &Ctx, v: &Value) -> Result<Vec<MgmtNic>, ConfigError> {
    let key = "install.management_interface.interfaces";
    let Value::Sequence(items) = v else {
        return Err(ctx.err(key, format!("expected a list, got {}", describe(v))));
    };
    let mut out = vec![];
    for (i, item) in items.iter().enumerate() {
        let ik = format!("{key}[{i}]");
        let mut nic = MgmtNic::default();
        if let Some(n) = harvester_get(ctx, &ik, item, "name")? {
            nic.name = Some(ctx.string(&join(&ik, "name"), n)?);
        }
        if let Some(a) = harvester_get(ctx, &ik, item, "hwAddr")? {
            nic.hw_addr = Some(ctx.string(&join(&ik, "hwAddr"), a)?.to_ascii_lowercase());
        }
        out.push(nic);
    }
    Ok(out)
}

/// Read and parse an install config file.
pub(crate) fn load(file: &Path) -> Result<InstallConfig, ConfigError> {
    let opened = std::fs::File::open(file).map_err(|source| ConfigError::Read {
        file: file.to_owned(),
        source,
    })?;
    load_from(file, opened)
}

/// Read and parse an install config from an open file (one inside the
/// target, opened by the writer's resolver); `file` names it in messages.
pub(crate) fn load_from(file: &Path, reader: impl std::io::Read) -> Result<InstallConfig, ConfigError> {
    let read_err = |source| ConfigError::Read {
        file: file.to_owned(),
        source,
    };
    let Some(bytes) = crate::bounded::read_at_most(reader, MAX_CONFIG_BYTES).map_err(read_err)? else {
        return Err(ConfigError::TooLarge {
            file: file.to_owned(),
        });
    };
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::NotUtf8 {
        file: file.to_owned(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    parse(file, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<InstallConfig, String> {
        parse(Path::new("c.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn full_section_in_both_key_styles() {
        let snake = p("os:\n  hostname: node1\nsriov:\n  enabled: true\n  num_vfs: 4\n  device_type: netdevice\n  resource_name: fast\n  mtu: 9000\n  operator: pcidevices\n  devices:\n    - match: {address: \"0000:3b:00.0\"}\n      num_vfs: 16\n    - match: {interface: eno1}\n      enabled: false\n").unwrap();
        let camel = p("os:\n  hostname: node1\nsriov:\n  enabled: true\n  numVfs: 4\n  deviceType: netdevice\n  resourceName: fast\n  mtu: 9000\n  operator: pcidevices\n  devices:\n    - match: {address: \"0000:3b:00.0\"}\n      numVfs: 16\n    - match: {interface: eno1}\n      enabled: false\n").unwrap();
        assert_eq!(snake.sriov, camel.sriov);
        let s = snake.sriov.unwrap();
        assert_eq!(
            (s.num_vfs, s.device_type, s.operator, s.mtu),
            (4, DeviceType::Netdevice, Operator::Pcidevices, Some(9000))
        );
        assert_eq!(s.devices[0].num_vfs, Some(16));
        assert_eq!(snake.hostname.as_deref(), Some("node1"));
    }

    #[test]
    fn seed_form_object_and_string() {
        let a = p("sriov-config: {\"sriov_enabled\": true, \"num_vfs\": 8}\n")
            .unwrap()
            .sriov
            .unwrap();
        let b = p("sriov-config: '{\"sriov_enabled\": true, \"num_vfs\": 8}'\n")
            .unwrap()
            .sriov
            .unwrap();
        assert_eq!(a, b);
        assert!(a.enabled && a.num_vfs == 8);
        assert!(
            p("sriov-config: '{not json'\n")
                .unwrap_err()
                .contains("sriov-config: not valid JSON")
        );
    }

    #[test]
    fn harvester_keys_and_no_section() {
        let c = p("install:\n  mode: create\n  managementInterface:\n    interfaces:\n      - name: eno1\n        hwAddr: \"AA:BB:CC:DD:EE:FF\"\nsystem_settings:\n  foo: bar\n").unwrap();
        assert!(c.sriov.is_none());
        assert_eq!(c.install_mode.as_deref(), Some("create"));
        assert_eq!(c.management[0].hw_addr.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
    }

    #[test]
    fn errors_name_the_key_and_value() {
        let cases = [
            (
                "sriov:\n  num_vfs: eight\n",
                "c.yaml: sriov.num_vfs: expected a whole number from 1 to 65535, got \"eight\"",
            ),
            (
                "sriov:\n  num_vfs: -1\n",
                "sriov.num_vfs: expected a whole number from 1 to 65535, got -1",
            ),
            ("sriov:\n  num_vfs: 1e9\n", "got 1000000000.0"),
            ("sriov:\n  num_vfs: true\n", "got true"),
            (
                "sriov:\n  num_vf: 3\n",
                "sriov.num_vf: unknown key (did you mean `num_vfs`?)",
            ),
            ("sriov:\n  device_type: vfio\n", "\"vfio\" is not a device type"),
            (
                "sriov:\n  operator: sriov-operator\n",
                "(did you mean `sriov-network-operator`?)",
            ),
            (
                "sriov:\n  resource_name: \"-bad\"\n",
                "sriov.resource_name: \"-bad\" is not a valid resource name",
            ),
            (
                "sriov:\n  devices:\n    - match: {}\n",
                "sriov.devices[0].match: is empty",
            ),
            (
                "sriov:\n  devices:\n    - num_vfs: 2\n",
                "sriov.devices[0].match: is missing",
            ),
            (
                "sriov:\n  devices:\n    - match: {interface: a}\n      num_vfs: 2\n    - match: {interface: a}\n      num_vfs: 3\n",
                "sriov.devices[1]: conflicts with sriov.devices[0]",
            ),
            (
                "sriov:\n  labels:\n    example.com/fast: yes\n",
                "c.yaml: sriov.labels.example.com/fast:",
            ),
            ("- a\n- b\n", "expected a mapping of keys"),
            ("sriov: [1]\n", "sriov: expected a mapping, got a list"),
            (
                "sriov:\n  enabled: maybe\n",
                "sriov.enabled: expected true or false, got the text \"maybe\"",
            ),
            (
                "sriov:\n  enabled: true\nsriov-config: {\"sriov_enabled\": true, \"num_vfs\": 2}\n",
                "conflicts with `sriov`",
            ),
            ("sriov:\n  numVfs: 2\n  num_vfs: 3\n", "given twice"),
            (
                "sriov:\n  devices:\n    - match: {address: \"3b:00\"}\n",
                "expected a PCI address",
            ),
            ("key: [unclosed\n", "not valid YAML"),
        ];
        for (text, want) in cases {
            let e = p(text).unwrap_err();
            assert!(e.contains(want), "{text:?}\n  got:  {e}\n  want: {want}");
        }
    }

    #[test]
    fn no_string_becomes_a_boolean() {
        assert!(p("sriov:\n  enabled: true\n").unwrap().sriov.unwrap().enabled);
        assert!(!p("sriov:\n  enabled: false\n").unwrap().sriov.unwrap().enabled);
        // unquoted YAML 1.1 words are text to this reader (as to Harvester's
        // yaml.v3), quoted ones are text to every reader: all refused
        for (text, key) in [
            ("sriov:\n  enabled: yes\n", "sriov.enabled"),
            ("sriov:\n  enabled: \"yes\"\n", "sriov.enabled"),
            ("sriov:\n  enabled: \"true\"\n", "sriov.enabled"),
            ("sriov:\n  enabled: on\n", "sriov.enabled"),
            ("sriov:\n  label_capable: 'false'\n", "sriov.label_capable"),
            (
                "sriov:\n  devices:\n    - match: {interface: a}\n      enabled: n\n",
                "sriov.devices[0].enabled",
            ),
            (
                "sriov:\n  devices:\n    - match: {interface: a}\n      allow_management: Y\n",
                "sriov.devices[0].allow_management",
            ),
            (
                "sriov-config: '{\"sriov_enabled\": \"yes\", \"num_vfs\": 8}'\n",
                "sriov-config.sriov_enabled",
            ),
            (
                "sriov-config: '{\"sriov_enabled\": \"true\", \"num_vfs\": 8}'\n",
                "sriov-config.sriov_enabled",
            ),
        ] {
            let e = p(text).unwrap_err();
            assert!(
                e.contains(&format!("c.yaml: {key}: expected true or false, got the text")),
                "{text:?}: {e}"
            );
        }
        assert!(
            p("sriov:\n  enabled: 1\n")
                .unwrap_err()
                .contains("expected true or false, got 1")
        );
    }

    #[test]
    fn the_addon_boolean_is_read_as_harvester_reads_it() {
        // rancher/mapper ToBool: true/t/yes/y (any case) or a YAML true; all else false
        for (v, want) in [
            ("true", true),
            ("\"yes\"", true),
            ("Y", true),
            ("\"T\"", true),
            ("false", false),
            ("maybe", false),
            ("1", false),
            ("\"on\"", false),
        ] {
            let c = p(&format!(
                "install:\n  addons:\n    harvester_pcidevices_controller:\n      enabled: {v}\n"
            ))
            .unwrap();
            assert_eq!(c.pcidevices_addon, Some(want), "enabled: {v}");
        }
        // the addon's name is a map key, not a fuzzy field name
        let c = p("install:\n  addons:\n    harvesterPcidevicesController:\n      enabled: true\n").unwrap();
        assert_eq!(c.pcidevices_addon, None);
    }

    #[test]
    fn harvester_spellings_as_fuzzy_names() {
        assert_eq!(
            harvester_spellings("managementInterface"),
            [
                "managementInterface",
                "managementinterface",
                "management_interface"
            ]
        );
        assert_eq!(harvester_spellings("hwAddr"), ["hwAddr", "hwaddr", "hw_addr"]);
        assert_eq!(
            harvester_spellings("interfaces"),
            ["interfaces", "interface", "interfac"]
        );
        assert_eq!(harvester_spellings("os"), ["os", "o"]);
        assert_eq!(to_yaml_key("ABCd"), "abcd");
    }

    #[test]
    fn harvester_keys_in_every_form_harvester_accepts() {
        let want = |c: InstallConfig| {
            assert_eq!(c.hostname.as_deref(), Some("n1"));
            assert_eq!(c.install_mode.as_deref(), Some("join"));
            assert_eq!(c.install_role.as_deref(), Some("worker"));
            assert_eq!(
                c.management,
                [MgmtNic {
                    name: Some("eno1".into()),
                    hw_addr: Some("aa:bb:cc:dd:ee:ff".into())
                }]
            );
        };
        // as written by people (snake, camel) and as the installer saves it
        // (/oem/harvester.config: lower-cased Go names)
        for (mi, hw) in [
            ("management_interface", "hwAddr"),
            ("managementInterface", "hw_addr"),
            ("managementinterface", "hwaddr"),
        ] {
            want(
                p(&format!(
                    "os:\n  hostname: n1\ninstall:\n  mode: join\n  role: worker\n  {mi}:\n    interfaces:\n      - name: eno1\n        {hw}: AA:BB:CC:DD:EE:FF\n"
                ))
                .unwrap(),
            );
        }
        // a spelling Harvester does not accept is not a Harvester key
        let c = p("install:\n  ManagementInterface:\n    interfaces:\n      - name: eno1\n").unwrap();
        assert!(c.management.is_empty());
        assert!(
            p("install:\n  mode: join\n  Mode: create\n")
                .unwrap()
                .install_mode
                .as_deref()
                == Some("join")
        );
        let e = p("install:\n  management_interface:\n    interfaces: [{name: a}]\n  managementinterface:\n    interfaces: [{name: b}]\n").unwrap_err();
        assert!(
            e.contains("install.managementinterface: conflicts with `install.management_interface`"),
            "{e}"
        );
    }

    #[test]
    fn hand_off_keys_and_defaults() {
        let p = |t: &str| parse(Path::new("c.yaml"), t);
        let d = p("sriov:\n  enabled: true\n").unwrap().sriov.unwrap();
        assert_eq!(d.operator, Operator::Pcidevices);
        assert_eq!(d.operator_namespace, "sriov-network-operator");
        assert!(!d.operator_extra_nics && d.network.is_none());
        let c = p("install:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: \"yes\"\nos:\n  additionalKernelArguments: \"intel_iommu=on\"\nsriov:\n  enabled: true\n  operator: sriov-network-operator\n  operatorNamespace: sriov-system\n  operatorExtraNics: true\n  network: {name: vms, namespace: tenant-a, vlan: 12}\n").unwrap();
        assert_eq!(c.pcidevices_addon, Some(true));
        assert_eq!(c.kernel_args.as_deref(), Some("intel_iommu=on"));
        let s = c.sriov.unwrap();
        assert_eq!(s.operator_namespace, "sriov-system");
        assert!(s.operator_extra_nics);
        assert_eq!(
            s.network,
            Some(Network {
                name: "vms".into(),
                namespace: "tenant-a".into(),
                vlan: Some(12)
            })
        );
        // `-` is fine for pcidevices, refused for the released operator
        assert!(p("sriov:\n  resource_name: a-b\n").is_ok());
        assert!(p("sriov:\n  resource_name: a-b\n  operator: sriov-network-operator\n").is_err());
        // the IOMMU switched off matters only for the operator with vfio-pci
        let off = "os:\n  additional_kernel_arguments: iommu=off\nsriov:\n  enabled: true\n";
        assert!(p(off).is_ok());
        assert!(p(&format!("{off}  operator: sriov-network-operator\n")).is_err());
        assert!(
            p(&format!(
                "{off}  operator: sriov-network-operator\n  device_type: netdevice\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn resource_names() {
        assert!(valid_resource_name("sriovnics"));
        assert!(valid_resource_name("a_b-c9"));
        assert!(!valid_resource_name("a."));
        assert!(!valid_resource_name("_a"));
        assert!(!valid_resource_name(&"a".repeat(64)));
    }
}
