//! `harvester-sriov detect`.

use std::io::Write;

use anyhow::Context as _;

use crate::cli::{DetectArgs, Format};
use crate::scan::sysfs::{self, ScanOptions};
use crate::{ExitCode, report};

pub(crate) fn run(args: &DetectArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let root = &args.sysfs;
    let inv = sysfs::scan(root, ScanOptions { all: args.all })?;
    for w in &inv.warnings {
        writeln!(err, "warning: {w}")?;
    }
    let found = inv.devices.iter().any(|d| d.is_sriov_pf());
    let text = match args.format {
        Format::Json => report::json(&inv.devices)?,
        Format::Table if inv.devices.is_empty() => format!(
            "no SR-IOV capable PCI function found under {}\n",
            root.join("bus/pci/devices").display()
        ),
        Format::Table => report::table(&inv.devices),
    };
    out.write_all(text.as_bytes()).context("writing the report")?;
    Ok(if found {
        ExitCode::Success
    } else {
        ExitCode::NoSriovFound
    })
}
