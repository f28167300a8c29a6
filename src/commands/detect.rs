//! `harvester-sriov detect`.

use std::io::Write;

use anyhow::Context as _;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::{DetectArgs, Format};
use crate::kernel::netlink::{Rtnl, VfState};
use crate::scan::sysfs::{self, ScanOptions};
use crate::{ExitCode, report};

/// `detect`'s options, built once from its flags.
pub(crate) struct Options {
    pub(crate) sysfs: PathBuf,
    pub(crate) format: Format,
    /// Every PCI function, not only SR-IOV PFs.
    pub(crate) all: bool,
}

impl From<&DetectArgs> for Options {
    fn from(args: &DetectArgs) -> Self {
        Options {
            sysfs: args.sysfs.clone(),
            format: args.format,
            all: args.all,
        }
    }
}

pub(crate) fn run(args: &Options, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let root = &args.sysfs;
    let inv = sysfs::scan(root, ScanOptions { all: args.all })?;
    for w in &inv.warnings {
        writeln!(err, "warning: {w}")?;
    }
    let found = inv.devices.iter().any(|d| d.is_sriov_pf());
    let text = match args.format {
        Format::Json => report::json(&inv.devices, &vf_settings(root, &inv.devices, err)?)?,
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

/// Each PF's VF settings from the running kernel, when `root` is its sysfs
/// (`/sys`): a snapshot's PFs are another machine's, which this kernel's
/// rtnetlink does not describe. A PF that cannot be read is a warning.
fn vf_settings(
    root: &Path,
    devices: &[crate::scan::device::Device],
    err: &mut dyn Write,
) -> anyhow::Result<BTreeMap<String, Vec<VfState>>> {
    let mut out = BTreeMap::new();
    if root != Path::new("/sys") {
        return Ok(out);
    }
    let mut rtnl = None;
    for d in devices.iter().filter(|d| d.is_sriov_pf() && !d.vfs.is_empty()) {
        let Some(ifname) = d.interfaces.first() else {
            continue;
        };
        if rtnl.is_none() {
            match Rtnl::open() {
                Ok(r) => rtnl = Some(r),
                Err(e) => {
                    writeln!(err, "warning: per-VF settings not read: {e}")?;
                    return Ok(out);
                }
            }
        }
        let Some(r) = rtnl.as_mut() else { break };
        match r.get_vfs(ifname) {
            Ok(vfs) => {
                out.insert(d.address.clone(), vfs);
            }
            Err(e) => writeln!(
                err,
                "warning: {} ({ifname}): per-VF settings not read: {e}",
                d.address
            )?,
        }
    }
    Ok(out)
}
