//! Per-VF settings: a device rule's `vfs:` list (entries select VFs by `id`
//! or `ids`) and the section-wide `sriov.vfs:` defaults (an entry without
//! `id`/`ids` sets every VF). Field names are nmstate's
//! (`ethernet.sr-iov.vfs`) in this config's snake_case. Every error names the
//! file, the key path and the value. The plan resolves these into one
//! setting list per planned VF (`crate::plan::vf`).

use super::reader::{describe, did_you_mean, snake_case};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value;

/// `mac_address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacSpec {
    /// Derived from the PF's identity and the VF index (`plan::vf::stable_mac`).
    Stable,
    Fixed([u8; 6]),
}

impl Serialize for MacSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MacSpec::Stable => s.serialize_str("stable"),
            MacSpec::Fixed(m) => s.collect_str(&format_mac(m)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum VlanProto {
    #[serde(rename = "802.1q")]
    Dot1q,
    #[serde(rename = "802.1ad")]
    Dot1ad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LinkState {
    Auto,
    Enable,
    Disable,
}

impl<'de> Deserialize<'de> for MacSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text == "stable" {
            return Ok(MacSpec::Stable);
        }
        parse_mac(&text)
            .map(MacSpec::Fixed)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a MAC address or `stable`")))
    }
}

/// The settings one entry gives its VFs; `None` leaves a setting alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VfSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mac_address: Option<MacSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vlan_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) qos: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vlan_proto: Option<VlanProto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) spoof_check: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trust: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) link_state: Option<LinkState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_tx_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tx_rate: Option<u32>,
}

impl VfSettings {
    /// `self`, with every setting `over` gives replacing it.
    pub(crate) fn overlaid(&self, over: &VfSettings) -> VfSettings {
        VfSettings {
            mac_address: over.mac_address.or(self.mac_address),
            vlan_id: over.vlan_id.or(self.vlan_id),
            qos: over.qos.or(self.qos),
            vlan_proto: over.vlan_proto.or(self.vlan_proto),
            spoof_check: over.spoof_check.or(self.spoof_check),
            trust: over.trust.or(self.trust),
            link_state: over.link_state.or(self.link_state),
            min_tx_rate: over.min_tx_rate.or(self.min_tx_rate),
            max_tx_rate: over.max_tx_rate.or(self.max_tx_rate),
        }
    }
}

/// One entry: the VF indexes it selects (inclusive) and their settings.
#[derive(Debug, Clone, Eq)]
pub(crate) struct VfEntry {
    pub(crate) first: u16,
    pub(crate) last: u16,
    /// No `id`/`ids` (section-wide defaults only): every VF.
    pub(crate) every: bool,
    /// Where it was written (`sriov.devices[0].vfs[1]`), for messages.
    pub(crate) key: String,
    pub(crate) settings: VfSettings,
}

/// Two entries are the same when they set the same VFs alike, wherever written.
impl PartialEq for VfEntry {
    fn eq(&self, o: &Self) -> bool {
        (self.first, self.last, self.every, &self.settings) == (o.first, o.last, o.every, &o.settings)
    }
}

impl VfEntry {
    pub(crate) fn covers(&self, vf: u16) -> bool {
        self.every || (self.first..=self.last).contains(&vf)
    }
}

/// An entry as it is written in a config (the answers file writes rules
/// back, and the state records the rules).
impl Serialize for VfEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<u16>,
            #[serde(skip_serializing_if = "Option::is_none")]
            ids: Option<String>,
            #[serde(flatten)]
            settings: &'a VfSettings,
        }
        let (id, ids) = match (self.every, self.first == self.last) {
            (true, _) => (None, None),
            (false, true) => (Some(self.first), None),
            (false, false) => (None, Some(format!("{}-{}", self.first, self.last))),
        };
        Out {
            id,
            ids,
            settings: &self.settings,
        }
        .serialize(s)
    }
}

/// An entry as [`Serialize`] writes it (read back from a state file; the
/// config is read by [`parse_vfs`], which checks it).
impl<'de> Deserialize<'de> for VfEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct In {
            #[serde(default)]
            id: Option<u16>,
            #[serde(default)]
            ids: Option<String>,
            #[serde(flatten)]
            settings: VfSettings,
        }
        let i = In::deserialize(d)?;
        let range = |t: &str| {
            let (a, b) = t.split_once('-')?;
            Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?))
        };
        let (first, last, every) = match (i.id, i.ids.as_deref()) {
            (Some(id), None) => (id, id, false),
            (None, Some(t)) => {
                let (a, b) =
                    range(t).ok_or_else(|| serde::de::Error::custom(format!("ids {t:?} is not a range")))?;
                (a, b, false)
            }
            (None, None) => (0, u16::MAX, true),
            (Some(_), Some(_)) => return Err(serde::de::Error::custom("both id and ids")),
        };
        Ok(VfEntry {
            first,
            last,
            every,
            key: String::new(),
            settings: i.settings,
        })
    }
}

/// Where a `vfs:` list stands, which decides what its entries may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// A device rule's, making this many VFs when the rule says (`num_vfs`);
    /// otherwise the plan checks the indexes against each PF's count.
    Rule(Option<u16>),
    /// `sriov.vfs`: defaults for every planned PF. `id`/`ids` are optional
    /// and a fixed MAC is refused (it would repeat on every PF).
    Section,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}: {key}: {message}")]
pub(crate) struct VfConfigError {
    pub(crate) file: PathBuf,
    pub(crate) key: String,
    pub(crate) message: String,
}

impl From<VfConfigError> for super::reader::ConfigError {
    fn from(e: VfConfigError) -> Self {
        super::reader::ConfigError::Invalid {
            file: e.file,
            key: e.key,
            message: e.message,
        }
    }
}

const KEYS: &[&str] = &[
    "id",
    "ids",
    "mac_address",
    "vlan_id",
    "qos",
    "vlan_proto",
    "spoof_check",
    "trust",
    "link_state",
    "min_tx_rate",
    "max_tx_rate",
];

struct Ctx<'a> {
    file: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> VfConfigError {
        VfConfigError {
            file: self.file.to_owned(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn int(&self, key: &str, v: &Value, max: u64, what: &str) -> Result<u64, VfConfigError> {
        match v.as_u64() {
            Some(n) if n <= max => Ok(n),
            _ => Err(self.err(key, format!("{} is not {what}", describe(v)))),
        }
    }

    fn bool(&self, key: &str, v: &Value) -> Result<bool, VfConfigError> {
        v.as_bool().ok_or_else(|| {
            self.err(
                key,
                format!("{} is not a boolean (write true or false, unquoted)", describe(v)),
            )
        })
    }
}

/// Parse the `vfs:` list at `key` (e.g. `sriov.devices[0].vfs`) of `file`.
pub(crate) fn parse_vfs(
    file: &Path,
    key: &str,
    value: &Value,
    scope: Scope,
) -> Result<Vec<VfEntry>, VfConfigError> {
    let cx = Ctx { file };
    let Value::Sequence(items) = value else {
        return Err(cx.err(
            key,
            format!("expected a list of VF entries, got {}", describe(value)),
        ));
    };
    let mut out: Vec<VfEntry> = Vec::new();
    let mut owner: BTreeMap<u16, usize> = BTreeMap::new();
    let mut every_at: Option<usize> = None;
    let mut fixed_macs: BTreeMap<[u8; 6], String> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let Value::Mapping(map) = item else {
            return Err(cx.err(&at, format!("expected a mapping, got {}", describe(item))));
        };
        let mut fields: BTreeMap<String, &Value> = BTreeMap::new();
        for (k, v) in map {
            let Some(k) = k.as_str() else {
                return Err(cx.err(&at, format!("{} is not a key name", describe(k))));
            };
            let name = snake_case(k);
            if !KEYS.contains(&name.as_str()) {
                return Err(cx.err(
                    &format!("{at}.{k}"),
                    format!("unknown key{}", did_you_mean(&name, KEYS)),
                ));
            }
            if fields.insert(name.clone(), v).is_some() {
                return Err(cx.err(&format!("{at}.{k}"), "given twice (in two spellings)"));
            }
        }
        let every = !fields.contains_key("id") && !fields.contains_key("ids");
        let (first, last) = match (fields.get("id"), fields.get("ids")) {
            (Some(_), Some(_)) => return Err(cx.err(&at, "both `id` and `ids`: use one")),
            (None, None) if scope == Scope::Section => (0, u16::MAX),
            (None, None) => return Err(cx.err(&at, "no `id` or `ids`: which VFs does this entry set?")),
            (Some(v), None) => {
                let id = cx.int(&format!("{at}.id"), v, u64::from(u16::MAX), "a VF index")? as u16;
                (id, id)
            }
            (None, Some(v)) => {
                let k = format!("{at}.ids");
                let text = v
                    .as_str()
                    .ok_or_else(|| cx.err(&k, format!("{} is not a range like \"0-3\"", describe(v))))?;
                let parsed = text.split_once('-').and_then(|(a, b)| {
                    let ok = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
                    (ok(a) && ok(b))
                        .then(|| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)))
                        .flatten()
                });
                match parsed {
                    Some((a, b)) if a <= b => (a, b),
                    _ => {
                        return Err(cx.err(
                            &k,
                            format!("{text:?} is not a range like \"0-3\" (first <= last)"),
                        ));
                    }
                }
            }
        };
        let id_key = format!("{at}.{}", if fields.contains_key("id") { "id" } else { "ids" });
        if let Scope::Rule(Some(num_vfs)) = scope
            && last >= num_vfs
        {
            return Err(cx.err(
                &id_key,
                format!(
                    "VF {last} does not exist: the rule makes {num_vfs} VFs (indexes 0-{})",
                    num_vfs.saturating_sub(1)
                ),
            ));
        }
        if every {
            if let Some(other) = every_at.or_else(|| owner.values().next().copied()) {
                return Err(cx.err(
                    &at,
                    format!("has no `id`/`ids`, so it sets every VF, and {key}[{other}] sets some of them too: give each entry its own VFs"),
                ));
            }
            every_at = Some(i);
        } else {
            if let Some(other) = every_at {
                return Err(cx.err(
                    &id_key,
                    format!("VF {first} is also selected by {key}[{other}], which sets every VF"),
                ));
            }
            for vf in first..=last {
                if let Some(other) = owner.insert(vf, i) {
                    return Err(cx.err(&id_key, format!("VF {vf} is also selected by {key}[{other}]")));
                }
            }
        }
        let mut s = VfSettings::default();
        for (name, v) in &fields {
            let k = format!("{at}.{name}");
            match name.as_str() {
                "id" | "ids" => {}
                "mac_address" => {
                    let text = v.as_str().ok_or_else(|| {
                        cx.err(&k, format!("{} is not a MAC address or `stable`", describe(v)))
                    })?;
                    if text == "stable" {
                        s.mac_address = Some(MacSpec::Stable);
                        continue;
                    }
                    let mac = parse_mac(text).ok_or_else(|| {
                        cx.err(
                            &k,
                            format!("{text:?} is not a MAC address (aa:bb:cc:dd:ee:ff) or `stable`"),
                        )
                    })?;
                    if mac == [0; 6] {
                        return Err(cx.err(&k, format!("{text:?} is the zero MAC: no VF can use it")));
                    }
                    if mac[0] & 1 == 1 {
                        return Err(cx.err(
                            &k,
                            format!("{text:?} is a multicast MAC: a VF needs a unicast one"),
                        ));
                    }
                    if scope == Scope::Section {
                        return Err(cx.err(&k, format!("{text:?} would be given to a VF of every PF: a fixed MAC belongs in a device rule's `vfs:` (one `id`); here, use `stable`")));
                    }
                    if first != last {
                        return Err(cx.err(&k, format!("{text:?} would be given to VFs {first}-{last}: a fixed MAC is for one VF (`id`), or use `stable`")));
                    }
                    if let Some(other) = fixed_macs.insert(mac, k.clone()) {
                        return Err(cx.err(&k, format!("{text:?} is also the MAC of {other}")));
                    }
                    s.mac_address = Some(MacSpec::Fixed(mac));
                }
                "vlan_id" => s.vlan_id = Some(cx.int(&k, v, 4095, "a VLAN id (0-4095)")? as u16),
                "qos" => s.qos = Some(cx.int(&k, v, 7, "a QoS priority (0-7)")? as u8),
                "vlan_proto" => {
                    s.vlan_proto = Some(match v.as_str() {
                        Some("802.1q" | "802.1Q") => VlanProto::Dot1q,
                        Some("802.1ad") => VlanProto::Dot1ad,
                        _ => return Err(cx.err(&k, format!("{} is not `802.1q` or `802.1ad`", describe(v)))),
                    })
                }
                "spoof_check" => s.spoof_check = Some(cx.bool(&k, v)?),
                "trust" => s.trust = Some(cx.bool(&k, v)?),
                "link_state" => {
                    s.link_state = Some(match v.as_str() {
                        Some("auto") => LinkState::Auto,
                        Some("enable") => LinkState::Enable,
                        Some("disable") => LinkState::Disable,
                        _ => {
                            return Err(cx.err(
                                &k,
                                format!("{} is not `auto`, `enable` or `disable`", describe(v)),
                            ));
                        }
                    })
                }
                "min_tx_rate" => {
                    s.min_tx_rate = Some(cx.int(&k, v, u64::from(u32::MAX), "a rate in Mbit/s")? as u32)
                }
                "max_tx_rate" => {
                    s.max_tx_rate = Some(cx.int(&k, v, u64::from(u32::MAX), "a rate in Mbit/s")? as u32)
                }
                _ => {}
            }
        }
        if (s.qos.is_some() || s.vlan_proto.is_some()) && s.vlan_id.is_none() {
            return Err(cx.err(&at, "`qos` and `vlan_proto` need a `vlan_id`"));
        }
        if let (Some(min), Some(max)) = (s.min_tx_rate, s.max_tx_rate)
            && max != 0
            && min > max
        {
            return Err(cx.err(
                &format!("{at}.min_tx_rate"),
                format!("{min} is above max_tx_rate {max}"),
            ));
        }
        out.push(VfEntry {
            first,
            last,
            every,
            key: at,
            settings: s,
        });
    }
    Ok(out)
}

/// A MAC address.
pub(crate) type Mac = [u8; 6];

/// `aa:bb:cc:dd:ee:ff`, lower case: how the kernel and `ip` print one.
pub(crate) fn format_mac(m: &Mac) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// `aa:bb:cc:dd:ee:ff` (either case) to bytes.
pub(crate) fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(parts) {
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str, num_vfs: u16) -> Result<Vec<VfEntry>, String> {
        let v: Value = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        parse_vfs(
            Path::new("c.yaml"),
            "sriov.devices[0].vfs",
            &v,
            Scope::Rule(Some(num_vfs)),
        )
        .map_err(|e| e.to_string())
    }

    fn err(yaml: &str) -> String {
        match parse(yaml, 8) {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_full_list_parses() {
        let v = parse(
            "- {id: 0, mac_address: '02:00:00:00:00:01', vlan_id: 100, qos: 3, vlan_proto: 802.1ad, spoof_check: false, trust: true, link_state: enable, min_tx_rate: 10, max_tx_rate: 100}\n- {ids: \"1-7\", mac_address: stable, maxTxRate: 0}\n",
            8,
        )
        .expect("valid");
        assert_eq!(v.len(), 2);
        assert_eq!(
            v[0].settings,
            VfSettings {
                mac_address: Some(MacSpec::Fixed([2, 0, 0, 0, 0, 1])),
                vlan_id: Some(100),
                qos: Some(3),
                vlan_proto: Some(VlanProto::Dot1ad),
                spoof_check: Some(false),
                trust: Some(true),
                link_state: Some(LinkState::Enable),
                min_tx_rate: Some(10),
                max_tx_rate: Some(100),
            }
        );
        assert_eq!((v[1].first, v[1].last), (1, 7));
        assert_eq!(v[1].settings.mac_address, Some(MacSpec::Stable));
        assert_eq!(v[1].settings.max_tx_rate, Some(0));
    }

    #[test]
    fn every_error_names_file_key_and_value() {
        let cases: &[(&str, &str)] = &[
            (
                "{id: 0}",
                "c.yaml: sriov.devices[0].vfs: expected a list of VF entries, got a mapping",
            ),
            (
                "[3]",
                "c.yaml: sriov.devices[0].vfs[0]: expected a mapping, got 3",
            ),
            (
                "[{id: 0, vlan: 5}]",
                "c.yaml: sriov.devices[0].vfs[0].vlan: unknown key (did you mean `vlan_id`?)",
            ),
            (
                "[{id: 0, spoofchk: true}]",
                "c.yaml: sriov.devices[0].vfs[0].spoofchk: unknown key (did you mean `spoof_check`?)",
            ),
            (
                "[{id: 0, vlan_id: 1, vlanId: 2}]",
                "c.yaml: sriov.devices[0].vfs[0].vlanId: given twice (in two spellings)",
            ),
            (
                "[{trust: true}]",
                "c.yaml: sriov.devices[0].vfs[0]: no `id` or `ids`: which VFs does this entry set?",
            ),
            (
                "[{id: 0, ids: \"0-1\"}]",
                "c.yaml: sriov.devices[0].vfs[0]: both `id` and `ids`: use one",
            ),
            (
                "[{id: -1}]",
                "c.yaml: sriov.devices[0].vfs[0].id: -1 is not a VF index",
            ),
            (
                "[{ids: \"3-1\"}]",
                "c.yaml: sriov.devices[0].vfs[0].ids: \"3-1\" is not a range like \"0-3\" (first <= last)",
            ),
            (
                "[{ids: \"1-+3\"}]",
                "c.yaml: sriov.devices[0].vfs[0].ids: \"1-+3\" is not a range like \"0-3\" (first <= last)",
            ),
            (
                "[{ids: 3}]",
                "c.yaml: sriov.devices[0].vfs[0].ids: 3 is not a range like \"0-3\"",
            ),
            (
                "[{id: 8}]",
                "c.yaml: sriov.devices[0].vfs[0].id: VF 8 does not exist: the rule makes 8 VFs (indexes 0-7)",
            ),
            (
                "[{ids: \"6-9\"}]",
                "c.yaml: sriov.devices[0].vfs[0].ids: VF 9 does not exist: the rule makes 8 VFs (indexes 0-7)",
            ),
            (
                "[{ids: \"0-3\"}, {id: 2}]",
                "c.yaml: sriov.devices[0].vfs[1].id: VF 2 is also selected by sriov.devices[0].vfs[0]",
            ),
            (
                "[{id: 0, mac_address: \"00:00:00:00:00:00\"}]",
                "c.yaml: sriov.devices[0].vfs[0].mac_address: \"00:00:00:00:00:00\" is the zero MAC: no VF can use it",
            ),
            (
                "[{id: 0, mac_address: \"01:00:5e:00:00:01\"}]",
                "c.yaml: sriov.devices[0].vfs[0].mac_address: \"01:00:5e:00:00:01\" is a multicast MAC: a VF needs a unicast one",
            ),
            (
                "[{id: 0, mac_address: \"02:00:00:00:00\"}]",
                "c.yaml: sriov.devices[0].vfs[0].mac_address: \"02:00:00:00:00\" is not a MAC address (aa:bb:cc:dd:ee:ff) or `stable`",
            ),
            (
                "[{id: 0, mac_address: 12}]",
                "c.yaml: sriov.devices[0].vfs[0].mac_address: 12 is not a MAC address or `stable`",
            ),
            (
                "[{ids: \"0-1\", mac_address: \"02:00:00:00:00:01\"}]",
                "c.yaml: sriov.devices[0].vfs[0].mac_address: \"02:00:00:00:00:01\" would be given to VFs 0-1: a fixed MAC is for one VF (`id`), or use `stable`",
            ),
            (
                "[{id: 0, mac_address: \"02:00:00:00:00:01\"}, {id: 1, mac_address: \"02:00:00:00:00:01\"}]",
                "c.yaml: sriov.devices[0].vfs[1].mac_address: \"02:00:00:00:00:01\" is also the MAC of sriov.devices[0].vfs[0].mac_address",
            ),
            (
                "[{id: 0, vlan_id: 4096}]",
                "c.yaml: sriov.devices[0].vfs[0].vlan_id: 4096 is not a VLAN id (0-4095)",
            ),
            (
                "[{id: 0, vlan_id: 1, qos: 8}]",
                "c.yaml: sriov.devices[0].vfs[0].qos: 8 is not a QoS priority (0-7)",
            ),
            (
                "[{id: 0, qos: 1}]",
                "c.yaml: sriov.devices[0].vfs[0]: `qos` and `vlan_proto` need a `vlan_id`",
            ),
            (
                "[{id: 0, vlan_id: 1, vlan_proto: qinq}]",
                "c.yaml: sriov.devices[0].vfs[0].vlan_proto: \"qinq\" is not `802.1q` or `802.1ad`",
            ),
            (
                "[{id: 0, trust: \"true\"}]",
                "c.yaml: sriov.devices[0].vfs[0].trust: \"true\" is not a boolean (write true or false, unquoted)",
            ),
            (
                "[{id: 0, spoof_check: yes}]",
                "c.yaml: sriov.devices[0].vfs[0].spoof_check: \"yes\" is not a boolean (write true or false, unquoted)",
            ),
            (
                "[{id: 0, link_state: up}]",
                "c.yaml: sriov.devices[0].vfs[0].link_state: \"up\" is not `auto`, `enable` or `disable`",
            ),
            (
                "[{id: 0, max_tx_rate: 1.5}]",
                "c.yaml: sriov.devices[0].vfs[0].max_tx_rate: 1.5 is not a rate in Mbit/s",
            ),
            (
                "[{id: 0, min_tx_rate: -1}]",
                "c.yaml: sriov.devices[0].vfs[0].min_tx_rate: -1 is not a rate in Mbit/s",
            ),
            (
                "[{id: 0, min_tx_rate: 200, max_tx_rate: 100}]",
                "c.yaml: sriov.devices[0].vfs[0].min_tx_rate: 200 is above max_tx_rate 100",
            ),
            (
                "[{id: 0, 7: 1}]",
                "c.yaml: sriov.devices[0].vfs[0]: 7 is not a key name",
            ),
            (
                "[{id: 0, colour: red}]",
                "c.yaml: sriov.devices[0].vfs[0].colour: unknown key (known keys: id, ids, mac_address, vlan_id, qos, vlan_proto, spoof_check, trust, link_state, min_tx_rate, max_tx_rate)",
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(&err(yaml), want, "{yaml}");
        }
    }
}
