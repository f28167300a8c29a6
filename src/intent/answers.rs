//! The answers file: the console's answers as an unattended `sriov:`
//! section, so the other nodes (and `apply --config`) get the same plan.

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
