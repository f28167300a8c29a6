//! `harvester-sriov vf-added ADDRESS`: the udev rule's command, on every new
//! VF. Finds the VF's PF (`physfn`), the planned PF it is (by identity, as
//! `boot` does: a renamed or moved PF is still found), the VF's index
//! (`virtfnN`), and gives that VF its planned settings. One line, never a
//! wait: udev holds the VF's event while this runs. A VF of a PF with no plan
//! is not ours: exit 0, nothing said.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ExitCode;
use crate::cli::VfAddedArgs;
use crate::kernel::locate;
use crate::scan::sysfs::{self, ScanOptions};

/// One line to the kernel log (the journal reads it), as `harvester-sriov[PID]: …`.
fn kmsg(line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        // <14>: facility user, level info; <11>: user, error.
        let level = if line.contains("FAILED") { 11 } else { 14 };
        let _ = f.write_all(format!("<{level}>harvester-sriov[{}]: {line}\n", std::process::id()).as_bytes());
    }
}

/// `vf-added`'s options, built once from its flags.
pub(crate) struct Options {
    /// The new VF's PCI address.
    pub(crate) address: String,
    pub(crate) sysfs: PathBuf,
    /// `--state FILE`, else the running node's own.
    pub(crate) state: crate::state::Source,
    pub(crate) kmsg: bool,
}

impl From<&VfAddedArgs> for Options {
    fn from(args: &VfAddedArgs) -> Self {
        Options {
            address: args.address.clone(),
            sysfs: args.sysfs.clone(),
            state: crate::state::Source::from_flags(args.state.as_deref(), Path::new("/")),
            kmsg: args.kmsg,
        }
    }
}

pub(crate) fn run(opts: &Options, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let result = settle(opts);
    let took = started.elapsed().as_millis();
    let (line, code) = match result {
        Ok(None) => return Ok(ExitCode::Success),
        Ok(Some(line)) => (line, ExitCode::Success),
        Err(e) => (format!("FAILED: {e}"), ExitCode::BootIncomplete),
    };
    let line = format!(
        "harvester-sriov vf-added: {}: {line} (in {took} ms)",
        opts.address
    );
    writeln!(out, "{line}")?;
    if opts.kmsg {
        kmsg(&line);
    }
    Ok(code)
}

/// `Ok(None)`: not a VF of a planned PF with settings.
fn settle(opts: &Options) -> Result<Option<String>, String> {
    let root = &opts.sysfs;
    if !crate::scan::pci::is_pci_address(&opts.address) {
        return Err(format!("{:?} is not a PCI address", opts.address));
    }
    let vf_dir = root.join("bus/pci/devices").join(&opts.address);
    let Some(pf_address) = sysfs::link_name(&vf_dir.join("physfn")).ok().flatten() else {
        return Ok(None);
    };
    let plan = crate::write::state::open(&opts.state)
        .map_err(|e| format!("{e:#}"))?
        .load()
        .map_err(|e| format!("{e:#}"))?;
    if plan.pfs.iter().all(|p| p.vfs.is_empty()) {
        return Ok(None);
    }
    let inv = sysfs::scan(root, ScanOptions { all: true }).map_err(|e| format!("{e:#}"))?;
    let Some((pf, d)) = plan.pfs.iter().find_map(|pf| {
        locate(pf, &inv.devices)
            .ok()
            .filter(|(d, _)| d.address == pf_address)
            .map(|(d, _)| (pf, d))
    }) else {
        return Ok(None);
    };
    if pf.vfs.is_empty() {
        return Ok(None);
    }
    let pf_dir = root.join("bus/pci/devices").join(&pf_address);
    let Some(index) = crate::kernel::virtfns(&pf_dir)
        .unwrap_or_default()
        .into_iter()
        .find(|(_, a)| *a == opts.address)
        .map(|(i, _)| i)
    else {
        return Err(format!("{pf_address} lists no virtfn for it"));
    };
    if !pf.vfs.iter().any(|v| v.id == index) {
        return Ok(None);
    }
    let name = format!(
        "VF {index} of {pf_address} ({})",
        d.interfaces.first().map_or("no netdev", String::as_str)
    );
    crate::kernel::vfs::apply(root, pf, d, Some(index), true)
        .map(|part| Some(format!("{name}: {}", part.trim_start_matches("; "))))
        .map_err(|e| format!("{name}: {e}"))
}
