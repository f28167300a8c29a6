//! The answers file: the console's answers as an unattended `sriov:`
//! section, so the other nodes (and `apply --config`) get the same plan.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::intent::config::{DeviceType, Match, Operator, Rule, Sriov};

/// First line of every answers file; `--save` only overwrites such files.
pub const ANSWERS_MARKER: &str = "# harvester-sriov answers";

/// The answers, as the `sriov` section `apply` would read.
pub fn answers_to_sriov(
    base: &Sriov,
    enabled: bool,
    device_type: DeviceType,
    operator: Operator,
    chosen: &[(String, u16)],
    not_chosen: &[String],
) -> Sriov {
    let mut s = base.clone();
    s.enabled = enabled;
    s.device_type = device_type;
    s.operator = operator;
    s.devices = chosen
        .iter()
        .map(|(a, n)| Rule {
            matcher: Match {
                address: Some(a.clone()),
                ..Match::default()
            },
            num_vfs: Some(*n),
            ..Rule::default()
        })
        .chain(not_chosen.iter().map(|a| Rule {
            matcher: Match {
                address: Some(a.clone()),
                ..Match::default()
            },
            enabled: Some(false),
            ..Rule::default()
        }))
        .collect();
    if !enabled {
        s.devices.clear();
    }
    s
}

/// The answers file: an unattended `sriov:` section, YAML 1.1 safe.
pub fn render_answers(s: &Sriov) -> anyhow::Result<String> {
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
    if !s.devices.is_empty() {
        sec.insert("devices".into(), serde_json::to_value(&s.devices)?);
    }
    let doc = serde_json::json!({ "sriov": sec });
    Ok(format!(
        "{ANSWERS_MARKER}, written by `harvester-sriov configure --save`.\n\
         # An unattended `sriov:` section: `harvester-sriov apply --config FILE` or\n\
         # `harvester-sriov hook --config FILE` reads it, or paste it into a Harvester config.yaml.\n\
         # Per-NIC rules match by PCI address: on other nodes, NICs no rule names get num_vfs.\n{}",
        crate::render::yaml::to_string(&doc)
    ))
}

/// `--save` may create a file or replace an earlier answers file, nothing else.
pub(crate) fn check_save_path(path: &Path) -> anyhow::Result<()> {
    match std::fs::read(path) {
        Ok(old) if old.starts_with(ANSWERS_MARKER.as_bytes()) => Ok(()),
        Ok(_) => anyhow::bail!(
            "--save {}: the file exists and is not a harvester-sriov answers file: refusing to overwrite it",
            path.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::from(e).context(format!("--save {}", path.display()))),
    }
}

/// Write the answers through the same transactional writer as `apply`
/// (temp file, fsync, rename, directory fsync), over nothing but an earlier
/// answers file.
pub(crate) fn save_answers(path: &Path, text: &str) -> anyhow::Result<()> {
    check_save_path(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("--save {}: not a file name", path.display()))?;
    let spec = crate::write::FileSpec {
        path: Path::new("/").join(name),
        contents: text.as_bytes().to_vec(),
        mode: 0o644,
    };
    crate::write::commit(&dir, &[spec], &[], &|_, old| {
        old.starts_with(ANSWERS_MARKER.as_bytes())
    })
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
