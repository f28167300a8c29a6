//! The tool's own schema, written once: the `sriov:` section, its
//! `devices[]` rules and their `match`, `network`, and the seed's
//! `sriov-config` form. Each mapping is a table of [`Field`]s; the table is
//! both the list of known keys and the code reading them, so a key cannot
//! be known and unread (or read and unknown). A new key (say a rule's
//! `vfs:`) is one entry in its table.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::intent::model::{
    DeviceType, Match, Network, Operator, Rule, Sriov, released_resource_name, valid_resource_name,
};
use crate::intent::reader::{ConfigError, Ctx, Field, describe, did_you_mean, join};
use crate::intent::vf::{Scope, parse_vfs};

/// Which names a key's value may take (`what` names the kind and lists
/// them), with "did you mean" on a miss.
fn one_of<T: Copy>(
    ctx: &Ctx,
    key: &str,
    v: &Value,
    what: &str,
    choices: &[(&str, T)],
) -> Result<T, ConfigError> {
    let text = ctx.string(key, v)?;
    if let Some((_, t)) = choices.iter().find(|(n, _)| *n == text) {
        return Ok(*t);
    }
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    Err(ctx.err(
        key,
        format!("{text:?} is not {what}{}", did_you_mean(&text, &names)),
    ))
}

fn u16_at_least_1(ctx: &Ctx, key: &str, v: &Value) -> Result<u16, ConfigError> {
    Ok(ctx.int(key, v, 1, u64::from(u16::MAX))? as u16)
}

fn dns_label(ctx: &Ctx, key: &str, v: &Value, what: &str) -> Result<String, ConfigError> {
    let text = ctx.string(key, v)?;
    if !crate::intent::labels::dns_label_ok(&text) {
        return Err(ctx.err(key, format!(
            "{text:?} is not a valid {what}: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
        )));
    }
    Ok(text)
}

/// `sriov:`.
const SRIOV_FIELDS: &[Field<Sriov>] = &[
    Field {
        name: "enabled",
        read: |c, k, v, s| {
            s.enabled = c.bool(k, v)?;
            Ok(())
        },
    },
    Field {
        name: "num_vfs",
        read: |c, k, v, s| {
            s.num_vfs = u16_at_least_1(c, k, v)?;
            s.num_vfs_given = true;
            Ok(())
        },
    },
    Field {
        name: "device_type",
        read: |c, k, v, s| {
            let choices = [
                ("vfio-pci", DeviceType::VfioPci),
                ("netdevice", DeviceType::Netdevice),
            ];
            {
                s.device_type = one_of(c, k, v, "a device type: vfio-pci (VMs) or netdevice", &choices)?;
                Ok(())
            }
        },
    },
    Field {
        name: "resource_name",
        read: |c, k, v, s| {
            let name = c.string(k, v)?;
            if !valid_resource_name(&name) {
                return Err(c.err(k, format!(
                    "{name:?} is not a valid resource name: letters, digits, '_' and '-', starting and ending with a letter or digit, at most 63 characters"
                )));
            }
            {
                s.resource_name = name;
                Ok(())
            }
        },
    },
    Field {
        name: "mtu",
        read: |c, k, v, s| {
            s.mtu = Some(c.int(k, v, 68, 9702)? as u32);
            Ok(())
        },
    },
    Field {
        name: "operator",
        read: |c, k, v, s| {
            let choices = [
                ("sriov-network-operator", Operator::SriovNetworkOperator),
                ("pcidevices", Operator::Pcidevices),
                ("none", Operator::None),
            ];
            {
                s.operator = one_of(
                    c,
                    k,
                    v,
                    "an operator: sriov-network-operator, pcidevices or none",
                    &choices,
                )?;
                Ok(())
            }
        },
    },
    Field {
        name: "label_capable",
        read: |c, k, v, s| {
            s.label_capable = c.bool(k, v)?;
            Ok(())
        },
    },
    Field {
        name: "labels",
        read: |c, k, v, s| {
            s.labels = parse_labels(c, k, v)?;
            Ok(())
        },
    },
    Field {
        name: "devices",
        read: |c, k, v, s| {
            s.devices = parse_rules(c, k, v)?;
            Ok(())
        },
    },
    Field {
        name: "operator_namespace",
        read: |c, k, v, s| {
            s.operator_namespace = dns_label(c, k, v, "namespace")?;
            Ok(())
        },
    },
    Field {
        name: "operator_extra_nics",
        read: |c, k, v, s| {
            s.operator_extra_nics = c.bool(k, v)?;
            Ok(())
        },
    },
    Field {
        name: "network",
        read: |c, k, v, s| {
            s.network = Some(parse_network(c, k, v)?);
            Ok(())
        },
    },
    Field {
        name: "vfs",
        read: |c, k, v, s| {
            s.vfs = parse_vfs(c.file, k, v, Scope::Section)?;
            Ok(())
        },
    },
];

/// A rule while it is read: `match` is required; `vfs:` is read once the
/// rule's `num_vfs` is known, wherever it stands in the mapping.
#[derive(Default)]
struct RuleDraft {
    rule: Rule,
    has_match: bool,
    vfs: Option<(String, Value)>,
}

/// `sriov.devices[]`.
const RULE_FIELDS: &[Field<RuleDraft>] = &[
    Field {
        name: "match",
        read: |c, k, v, d| {
            d.rule.matcher = parse_match(c, k, v)?;
            d.has_match = true;
            Ok(())
        },
    },
    Field {
        name: "num_vfs",
        read: |c, k, v, d| {
            d.rule.num_vfs = Some(u16_at_least_1(c, k, v)?);
            Ok(())
        },
    },
    Field {
        name: "enabled",
        read: |c, k, v, d| {
            d.rule.enabled = Some(c.bool(k, v)?);
            Ok(())
        },
    },
    Field {
        name: "allow_management",
        read: |c, k, v, d| {
            d.rule.allow_management = c.bool(k, v)?;
            Ok(())
        },
    },
    Field {
        name: "vfs",
        read: |_, k, v, d| {
            d.vfs = Some((k.to_owned(), v.clone()));
            Ok(())
        },
    },
];

/// `sriov.devices[].match`.
const MATCH_FIELDS: &[Field<Match>] = &[
    Field {
        name: "address",
        read: |c, k, v, m| {
            let a = c.string(k, v)?.to_ascii_lowercase();
            // `01:00.0` is accepted as domain 0000, as lspci prints it.
            let a = if a.matches(':').count() == 1 {
                format!("0000:{a}")
            } else {
                a
            };
            if !crate::scan::pci::is_pci_address(&a) {
                return Err(c.err(
                    k,
                    format!(
                        "expected a PCI address like \"0000:3b:00.0\", got {}",
                        describe(v)
                    ),
                ));
            }
            {
                m.address = Some(a);
                Ok(())
            }
        },
    },
    Field {
        name: "interface",
        read: |c, k, v, m| {
            m.interface = Some(c.nonempty(k, v)?);
            Ok(())
        },
    },
    Field {
        name: "vendor",
        read: |c, k, v, m| {
            m.vendor = Some(hex_id(c, k, v)?);
            Ok(())
        },
    },
    Field {
        name: "device",
        read: |c, k, v, m| {
            m.device = Some(hex_id(c, k, v)?);
            Ok(())
        },
    },
    Field {
        name: "serial",
        read: |c, k, v, m| {
            let s = c.nonempty(k, v)?.to_ascii_lowercase().replace(':', "-");
            let ok = s.len() == 23
                && s.split('-').count() == 8
                && s.split('-')
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                return Err(c.err(k, format!(
                    "expected a PCIe Device Serial Number like \"00-1b-21-ff-ff-2b-46-e0\" (as lspci -vv prints it), got {}",
                    describe(v)
                )));
            }
            {
                m.serial = Some(s);
                Ok(())
            }
        },
    },
];

/// A network while it is read: `name` is required.
#[derive(Default)]
struct NetworkDraft {
    name: Option<String>,
    namespace: Option<String>,
    vlan: Option<u16>,
}

/// `sriov.network`.
const NETWORK_FIELDS: &[Field<NetworkDraft>] = &[
    Field {
        name: "name",
        read: |c, k, v, n| {
            n.name = Some(dns_label(c, k, v, "name")?);
            Ok(())
        },
    },
    Field {
        name: "namespace",
        read: |c, k, v, n| {
            n.namespace = Some(dns_label(c, k, v, "name")?);
            Ok(())
        },
    },
    Field {
        name: "vlan",
        read: |c, k, v, n| {
            n.vlan = Some(c.int(k, v, 0, 4094)? as u16);
            Ok(())
        },
    },
];

/// The seed proposal's `sriov-config`.
const SEED_FIELDS: &[Field<Sriov>] = &[
    Field {
        name: "sriov_enabled",
        read: |c, k, v, s| {
            s.enabled = c.bool(k, v)?;
            Ok(())
        },
    },
    Field {
        name: "num_vfs",
        read: |c, k, v, s| {
            // The seed's default is {"sriov_enabled": false, "num_vfs": 0}.
            let n = c.int(k, v, 0, u64::from(u16::MAX))? as u16;
            if n > 0 {
                s.num_vfs = n;
                s.num_vfs_given = true;
            }
            Ok(())
        },
    },
];

fn parse_network(ctx: &Ctx, key: &str, v: &Value) -> Result<Network, ConfigError> {
    let mut n = NetworkDraft::default();
    ctx.read_fields(key, v, NETWORK_FIELDS, &mut n)?;
    let Some(name) = n.name else {
        return Err(ctx.err(&join(key, "name"), "is missing: the SriovNetwork needs a name"));
    };
    Ok(Network {
        name,
        namespace: n.namespace.unwrap_or_else(|| "default".into()),
        vlan: n.vlan,
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
    ctx.read_fields(key, v, MATCH_FIELDS, &mut m)?;
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
        let mut draft = RuleDraft::default();
        ctx.read_fields(&rk, item, RULE_FIELDS, &mut draft)?;
        let mut rule = draft.rule;
        if !draft.has_match {
            return Err(ctx.err(&join(&rk, "match"), "is missing: every rule needs a match"));
        }
        if rule.enabled == Some(false) && rule.num_vfs.is_some() {
            return Err(ctx.err(&rk, "sets num_vfs and enabled: false; choose one"));
        }
        if let Some((vk, vv)) = &draft.vfs {
            if rule.enabled == Some(false) {
                return Err(ctx.err(
                    vk,
                    "sets per-VF settings on a rule with enabled: false; choose one",
                ));
            }
            rule.vfs = parse_vfs(ctx.file, vk, vv, Scope::Rule(rule.num_vfs))?;
        }
        if let Some(j) = rules.iter().position(|r| r.matcher == rule.matcher)
            && rules[j] != rule
        {
            return Err(ctx.err(
                &rk,
                format!(
                    "conflicts with {key}[{j}]: the same match {} with different settings",
                    rule.matcher
                ),
            ));
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

/// `sriov:`, with the checks between its keys.
pub(crate) fn parse_sriov(ctx: &Ctx, key: &str, v: &Value) -> Result<Sriov, ConfigError> {
    if v.is_null() {
        return Err(ctx.err(
            key,
            "is empty: write at least `enabled: true` or `enabled: false`",
        ));
    }
    let mut s = Sriov::default();
    ctx.read_fields(key, v, SRIOV_FIELDS, &mut s)?;
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

/// One warning per key of `sriov:` (at `key`, as `v`) that does nothing
/// with the chosen hand-off, so that a config does not seem to ask for
/// what will not happen. Only for an enabled section: a disabled one does
/// nothing at all, and says so in the plan.
pub(crate) fn without_effect(ctx: &Ctx, key: &str, v: &Value, s: &Sriov) -> Vec<String> {
    if !s.enabled {
        return vec![];
    }
    let Ok(entries) = ctx.entries(key, v) else {
        return vec![];
    };
    let operator = s.operator;
    let why = |k: &str| -> Option<String> {
        let sno_only = "only sriov-network-operator's objects use it";
        Some(match (k, operator) {
            (_, Operator::SriovNetworkOperator) => return None,
            // harvester/pcidevices: pkg/controller/pcideviceclaim/pcideviceclaim_controller.go
            // binds a VF to vfio-pci for a PCIDeviceClaim and unbinds unclaimed ones at its start
            ("device_type", Operator::Pcidevices) => "the VFs keep their network driver until a PCIDeviceClaim (Harvester's UI) passes one to a VM: pcidevices binds that VF to vfio-pci itself".to_owned(),
            ("resource_name", _) => format!("{sno_only} (a SriovNetworkNodePolicy's resourceName)"),
            ("operator_namespace" | "operator_extra_nics", _) => sno_only.to_owned(),
            _ => return None,
        })
    };
    entries
        .iter()
        .filter_map(|(k, _)| {
            why(k).map(|w| {
                format!(
                    "{}: {}: has no effect with operator {operator}: {w}; remove it (or choose the hand-off it is for)",
                    ctx.file.display(),
                    join(key, k)
                )
            })
        })
        .collect()
}

/// The seed proposal's form: `sriov-config: {"sriov_enabled": true, "num_vfs": 8}`,
/// as a mapping or as a JSON string (a key given twice in the JSON is refused,
/// as it is in YAML).
pub(crate) fn parse_seed(ctx: &Ctx, key: &str, v: &Value) -> Result<Sriov, ConfigError> {
    let parsed;
    let v = match v {
        Value::String(text) => {
            // serde_yaml reads JSON (a YAML subset) and refuses duplicate keys;
            // serde_json checks it is JSON at all.
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| ctx.err(key, format!("not valid JSON: {e}")))?;
            parsed = serde_yaml::from_str::<Value>(text)
                .map_err(|e| ctx.err(key, format!("not usable JSON: {e}")))?;
            &parsed
        }
        other => other,
    };
    let mut s = Sriov::default();
    ctx.read_fields(key, v, SEED_FIELDS, &mut s)?;
    if s.enabled && !s.num_vfs_given {
        return Err(ctx.err(
            &join(key, "num_vfs"),
            "must be at least 1 when sriov_enabled is true",
        ));
    }
    Ok(s)
}
