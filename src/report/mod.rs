//! What a person or a program reads: `detect`'s table and JSON contract
//! here, the plan in words ([`describe`]) and the line diff ([`diff`]).

pub(crate) mod describe;
pub(crate) mod diff;

use std::fmt::Write as _;

use std::collections::BTreeMap;

use crate::kernel::netlink::VfState;
use crate::scan::device::Device;

/// Longest model name shown in the table before it is cut with `…`.
const NAME_WIDTH: usize = 44;

fn vfs_cell(d: &Device) -> String {
    let cap = d.capability.map_or("-".to_owned(), |c| c.total_vfs.to_string());
    match &d.kernel {
        Some(k) => format!(
            "{}/{}/{cap}",
            k.num_vfs.map_or("?".into(), |n| n.to_string()),
            k.total_vfs.map_or("?".into(), |n| n.to_string())
        ),
        None if d.is_sriov_pf() => format!("-/-/{cap}"),
        None => "-".into(),
    }
}

/// `s` cut to `width` characters, the last one replaced by `mark` when cut.
pub(crate) fn cut(s: &str, width: usize, mark: char) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push(mark);
        t
    }
}

/// The table: one row per function, then its hint and notes indented.
pub(crate) fn table(devices: &[Device]) -> String {
    let rows: Vec<[String; 6]> = devices
        .iter()
        .map(|d| {
            [
                d.address.clone(),
                cut(
                    &format!("{} {}", d.vendor_name(), d.device_name()),
                    NAME_WIDTH,
                    '…',
                ),
                d.driver.clone().unwrap_or_else(|| "-".into()),
                if d.interfaces.is_empty() {
                    "-".into()
                } else {
                    d.interfaces.join(",")
                },
                vfs_cell(d),
                d.status().to_string(),
            ]
        })
        .collect();
    let header = [
        "ADDRESS",
        "DEVICE",
        "DRIVER",
        "IFACES",
        "VFS now/max/cap",
        "STATUS",
    ];
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &[&str]| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                let _ = writeln!(out, "{cell}");
            } else {
                let pad = width[i] - cell.chars().count();
                let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
            }
        }
    };
    let mut out = String::new();
    line(&mut out, &header);
    for (d, row) in devices.iter().zip(&rows) {
        line(&mut out, &row.each_ref().map(String::as_str));
        if d.is_sriov_pf() {
            let _ = writeln!(out, "    hint: {}", d.hint());
            for note in d.notes() {
                let _ = writeln!(out, "    note: {note}");
            }
        }
    }
    out
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    devices: Vec<JsonDevice<'a>>,
}

#[derive(serde::Serialize)]
struct JsonDevice<'a> {
    #[serde(flatten)]
    device: &'a Device,
    /// Each VF's settings as the running kernel reports them (rtnetlink),
    /// `null` when not read: no VFs, no netdev, or a sysfs that is not the
    /// running kernel's.
    vf_settings: Option<&'a [VfState]>,
}

/// The JSON contract. An error when serialisation fails (never an empty
/// report that reads as "no devices"). `vf_settings`: by PF address.
pub(crate) fn json(
    devices: &[Device],
    vf_settings: &BTreeMap<String, Vec<VfState>>,
) -> Result<String, serde_json::Error> {
    pretty(&JsonReport {
        devices: devices
            .iter()
            .map(|device| JsonDevice {
                device,
                vf_settings: vf_settings.get(&device.address).map(Vec::as_slice),
            })
            .collect(),
    })
}

fn pretty<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_that_cannot_be_serialised_is_an_error_not_empty() {
        let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        assert!(super::pretty(&bad).is_err());
        assert_eq!(
            super::json(&[], &Default::default()).ok().as_deref(),
            Some("{\n  \"devices\": []\n}\n")
        );
    }
}
