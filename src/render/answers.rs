//! The answers file's bytes: the console's answers as an unattended
//! `sriov:` section, YAML 1.1 safe, through the one emitter.

use crate::intent::answers::ANSWERS_MARKER;
use crate::intent::config::Sriov;

/// The answers file: an unattended `sriov:` section, YAML 1.1 safe.
pub(crate) fn render_answers(s: &Sriov) -> anyhow::Result<String> {
    let mut sec = serde_json::Map::new();
    sec.insert("enabled".into(), s.enabled.into());
    sec.insert("num_vfs".into(), s.num_vfs.into());
    sec.insert("device_type".into(), s.device_type.as_str().into());
    sec.insert("resource_name".into(), s.resource_name.clone().into());
    if let Some(m) = s.mtu {
        sec.insert("mtu".into(), m.into());
    }
    sec.insert("operator".into(), s.operator.as_str().into());
    if s.operator_namespace != crate::intent::config::DEFAULT_OPERATOR_NAMESPACE {
        sec.insert("operator_namespace".into(), s.operator_namespace.clone().into());
    }
    if s.operator_extra_nics {
        sec.insert("operator_extra_nics".into(), true.into());
    }
    if let Some(n) = &s.network {
        sec.insert("network".into(), serde_json::to_value(n)?);
    }
    if !s.label_capable {
        sec.insert("label_capable".into(), false.into());
    }
    if !s.labels.is_empty() {
        sec.insert("labels".into(), serde_json::to_value(&s.labels)?);
    }
    if !s.vfs.is_empty() {
        sec.insert("vfs".into(), serde_json::to_value(&s.vfs)?);
    }
    if !s.devices.is_empty() {
        sec.insert("devices".into(), serde_json::to_value(&s.devices)?);
    }
    let doc = serde_json::json!({ "sriov": sec });
    Ok(format!(
        "{ANSWERS_MARKER}, written by `harvester-sriov configure --save`.\n\
         # An unattended `sriov:` section: `harvester-sriov apply --config FILE` or\n\
         # `harvester-sriov hook --config FILE` reads it, or paste it into a Harvester config.yaml.\n\
         # Per-NIC rules match by PCI address: on other nodes, NICs no rule names get num_vfs.\n{}",
        super::yaml::to_string(&doc)
    ))
}
