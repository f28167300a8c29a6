//! `harvester-sriov verify`: compare the node with the plan `apply` wrote —
//! VF counts per PF, VF drivers, and the files in the target. Exit 0 with a
//! one-line summary when all match, 1 with the list of differences.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::ExitCode;
use crate::cli::{Format, VerifyArgs};
use crate::intent::config::DeviceType;
use crate::kernel::locate;
use crate::plan::Plan;
use crate::render;
use crate::scan::sysfs::{self, ScanOptions};
use crate::write;

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) ok: bool,
    node: String,
    pfs_checked: usize,
    vfs_checked: usize,
    files_checked: usize,
    differences: Vec<String>,
}

/// The node side: VF counts and VF drivers.
fn check_node(plan: &Plan, root: &Path, report: &mut Report) -> anyhow::Result<()> {
    let inv = sysfs::scan(root, ScanOptions { all: true })?;
    for pf in &plan.pfs {
        let d = match locate(pf, &inv.devices) {
            Ok((d, moved)) => {
                // The state and the hand-off name the PF as it was: `boot`
                // follows a rename or a move (and rewrites them) when it runs.
                let renamed = match (&pf.interface, d.interfaces.first()) {
                    (Some(was), Some(now)) if was != now => Some(format!("named {now} now")),
                    _ => None,
                };
                let what: Vec<String> = moved.map(|m| m.to_string()).into_iter().chain(renamed).collect();
                if !what.is_empty() {
                    report.differences.push(format!(
                        "{} ({}): {}: the state and the hand-off still say {} ({}); `harvester-sriov boot` (at every boot) rewrites them",
                        pf.address,
                        pf.interface.as_deref().unwrap_or(&pf.driver),
                        what.join(", "),
                        pf.address,
                        pf.interface.as_deref().unwrap_or("no interface"),
                    ));
                }
                d
            }
            Err(e) => {
                report.differences.push(format!("{}: {e}", pf.address));
                continue;
            }
        };
        report.pfs_checked += 1;
        report.differences.extend(crate::kernel::vfs::check(root, pf, d));
        if plan.operator == crate::intent::config::Operator::Pcidevices {
            // The pcidevices controller owns the count (the UI may change it)
            // and binds only claimed VFs: nothing of ours to compare.
            continue;
        }
        let now = d.kernel_num();
        if now != pf.num_vfs {
            report.differences.push(format!(
                "{} ({}): {now} VFs, {} planned",
                d.address,
                pf.interface.as_deref().unwrap_or(&pf.driver),
                pf.num_vfs
            ));
        }
        if let (Some(mtu), Some(ifname)) = (plan.mtu, d.interfaces.first()) {
            let path = root
                .join("bus/pci/devices")
                .join(&d.address)
                .join("net")
                .join(ifname)
                .join("mtu");
            let now = sysfs::read_attr(&path)
                .ok()
                .flatten()
                .unwrap_or_else(|| "unreadable".into());
            if now != mtu.to_string() {
                report
                    .differences
                    .push(format!("{} ({ifname}): MTU {now}, {mtu} planned", d.address));
            }
        }
        for vf in &d.vfs {
            report.vfs_checked += 1;
            let driver = sysfs::link_name(&root.join("bus/pci/devices").join(vf).join("driver"))
                .ok()
                .flatten();
            let wrong = match (plan.device_type, driver.as_deref()) {
                (DeviceType::VfioPci, Some("vfio-pci")) => None,
                (DeviceType::VfioPci, other) => Some(other.unwrap_or("no driver").to_owned()),
                (DeviceType::Netdevice, Some("vfio-pci")) => Some("vfio-pci".to_owned()),
                (DeviceType::Netdevice, _) => None,
            };
            if let Some(got) = wrong {
                report.differences.push(format!(
                    "VF {vf} of {}: bound to {got}, {} planned",
                    d.address,
                    if plan.device_type == DeviceType::VfioPci {
                        "vfio-pci"
                    } else {
                        "a network driver"
                    }
                ));
            }
        }
    }
    Ok(())
}

/// The target side: every file of the plan present with the planned bytes,
/// under /oem and, written at boot by the yip file, outside it; read through
/// the writer's resolver (a `/oem -> /data/oem` link inside the target leads
/// where `apply` wrote). The copies outside /oem are checked on the running
/// node (`--target /`) or when the target holds any of them (it has booted,
/// or `apply --now` ran): an offline root that never ran the yip file cannot
/// have them.
fn check_files(plan: &Plan, target: &Path, report: &mut Report) -> anyhow::Result<()> {
    let mut expected = render::files(plan, &[])?;
    let at_boot = render::materialised(plan);
    let booted = target == Path::new("/")
        || at_boot
            .iter()
            .any(|f| matches!(write::open_file(target, &f.path), Ok(Some(_))));
    if booted {
        expected.extend(at_boot);
    }
    for f in &expected {
        report.files_checked += 1;
        let shown = target.join(f.path.strip_prefix("/").unwrap_or(&f.path));
        // the binary is whichever harvester-sriov was installed
        let limit = if f.path == Path::new(crate::layout::BINARY_PATH) {
            u64::MAX
        } else {
            f.contents.len() as u64
        };
        let difference = match write::open_file(target, &f.path) {
            Ok(None) => Some("missing".to_owned()),
            Ok(Some(_)) if limit == u64::MAX => None,
            Ok(Some((host, file))) => match write::read_at_most(file, limit) {
                Ok(Some(bytes)) if bytes == f.contents => None,
                // an older version's state, read through its migration
                Ok(_) if f.path == Path::new(crate::layout::STATE_PATH) && plan.migrated_from.is_some() => {
                    Some(format!(
                        "state version {}, written by harvester-sriov {}: run `apply` (or `configure`) again to rewrite it as version {}",
                        plan.migrated_from.unwrap_or_default(),
                        plan.written_by,
                        crate::plan::STATE_VERSION
                    ))
                }
                Ok(_) => Some("differs from the plan (edited by hand?)".to_owned()),
                Err(e) => Some(format!("cannot read {}: {e}", host.display())),
            },
            Err(e) => Some(crate::error_message(&e.into())),
        };
        if let Some(d) = difference {
            report.differences.push(format!("{}: {d}", shown.display()));
        }
    }
    Ok(())
}

/// `verify`'s options, built once from its flags.
pub(crate) struct Options {
    pub(crate) sysfs: PathBuf,
    pub(crate) state: crate::state::Source,
    pub(crate) target: PathBuf,
    pub(crate) format: Format,
}

impl From<&VerifyArgs> for Options {
    fn from(args: &VerifyArgs) -> Self {
        Options {
            sysfs: args.sysfs.clone(),
            state: crate::state::Source::from_flags(args.state.as_deref(), &args.target),
            target: args.target.clone(),
            format: args.format,
        }
    }
}

pub(crate) fn run(opts: &Options, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // inside the target: found like the writer finds it; an older
    // version's state.yaml is read with a notice
    let opened = write::state::open(&opts.state)?;
    if opened.older && opts.format == Format::Table {
        writeln!(
            out,
            "verify: {}",
            crate::state::older_notice(&opened.file, Path::new(crate::layout::STATE_PATH))
        )?;
    }
    let plan = opened.load()?;
    let report = compare(&plan, &opts.sysfs, &opts.target)?;
    match opts.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Table => {
            for line in table(&plan, &report) {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(if report.ok {
        ExitCode::Success
    } else {
        ExitCode::VerifyDiffers
    })
}

/// Compare the node (`sysfs`) and the files in `target` with `plan`.
pub(crate) fn compare(plan: &Plan, sysfs: &Path, target: &Path) -> anyhow::Result<Report> {
    let mut report = Report {
        ok: false,
        node: plan.node.clone(),
        pfs_checked: 0,
        vfs_checked: 0,
        files_checked: 0,
        differences: vec![],
    };
    check_node(plan, sysfs, &mut report)?;
    check_files(plan, target, &mut report)?;
    report.ok = report.differences.is_empty();
    Ok(report)
}

/// The report in words: one line when all match, else a header and one
/// indented line per difference.
pub(crate) fn table(plan: &Plan, report: &Report) -> Vec<String> {
    let mut out = vec![];
    if report.ok && plan.operator == crate::intent::config::Operator::Pcidevices {
        // pcidevices owns the counts and the VF drivers: nothing of them was compared
        out.push(format!(
            "verify: node {} as planned: {} PFs found, {} files (operator pcidevices: the VF counts and drivers are its controller's, not compared)",
            report.node, report.pfs_checked, report.files_checked
        ));
    } else if report.ok {
        let planned: usize = plan.pfs.iter().map(|p| usize::from(p.num_vfs)).sum();
        if report.vfs_checked == planned {
            out.push(format!(
                "verify: node {} as planned: {} PFs, {} VFs ({}), {} files",
                report.node, report.pfs_checked, report.vfs_checked, plan.device_type, report.files_checked
            ));
        } else {
            // the counts match, but not every VF is there as a PCI function
            out.push(format!(
                "verify: node {} as planned: {} PFs, {planned} VFs by sriov_numvfs, of which {} found as PCI functions (their drivers checked: {}), {} files",
                report.node, report.pfs_checked, report.vfs_checked, plan.device_type, report.files_checked
            ));
        }
    } else {
        out.push(format!(
            "verify: node {}: {} differences from the plan:",
            report.node,
            report.differences.len()
        ));
        out.extend(report.differences.iter().map(|d| format!("  {d}")));
    }
    out
}
