//! The kernel: the only writer of sysfs. Find each planned PF by identity
//! (it survives a PCI address shift: serial number, else MAC, never a device
//! whose identity does not match), then write `sriov_numvfs` — `0` first
//! when another non-zero count is set (the kernel answers EBUSY otherwise) —
//! and read it back; bind VFs to vfio-pci and set the MTU as planned.
//!
//! `netlink` sets and reads per-VF settings on a PF with rtnetlink (the plan
//! resolved them: `crate::plan::vf`).

mod error;
pub(crate) mod netlink;
pub(crate) mod vfs;

use std::fs;
use std::io::{self, Write};
use std::path::Path;

pub(crate) use self::error::*;
use crate::intent::config::DeviceType;
use crate::plan::{Method, Plan, PlannedPf};
use crate::scan::device::Device;
use crate::scan::sysfs;

fn hex(v: Option<u16>) -> String {
    crate::scan::pci::id(v).unwrap_or_else(|| "????".into())
}

/// Whether `d` is the card `pf` describes.
fn same_card(pf: &PlannedPf, d: &Device) -> bool {
    if hex(d.vendor_id) != pf.vendor_id || hex(d.device_id) != pf.device_id {
        return false;
    }
    match (&pf.serial, d.serial_string(), &pf.mac, &d.mac) {
        (Some(a), Some(b), _, _) => *a == b,
        (_, _, Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    }
}

/// Why the planned PF `pf`, found as `d`, is not ready for `boot` yet, or
/// `None` when it is: its driver bound, its network interface registered,
/// and named by udev. The kernel links `driver` before it calls the
/// driver's probe, and a probe registers the interface (as `ethN`) only
/// near its end: an interface the plan knew (`pf.interface`), while the
/// planned driver is bound, is still to come. udev then names it while it
/// processes the interface's `add` event (a `.link` file's `Name=`, its
/// `NamePolicy=`: how Harvester v1.7 renamed Intel ports, `enp6s0f0` ->
/// `enp6s0f0np0`), and the hand-off names the PF by that name. udev keeps
/// each interface's entry at `run/udev/data/n<ifindex>`; it writes it
/// before it renames the interface, with `ID_RENAMING=1` (dropped when it
/// processes the rename's `move` event) and, while it works, with
/// `ID_PROCESSING=1`, and marks it processed with an `I:` line (systemd:
/// src/udev/udev-event.c `rename_netif`, `udev_event_execute_rules`;
/// systemd-networkd and NetworkManager wait for the same). Only where udev
/// runs: its socket `run/udev/control` under `target`.
pub(crate) fn settling(sysfs: &Path, target: &Path, pf: &PlannedPf, d: &Device) -> Option<String> {
    let Some(driver) = &d.driver else {
        return Some("no driver bound".into());
    };
    if d.interfaces.is_empty() && pf.interface.is_some() && *driver == pf.driver {
        return Some(format!("{driver} has not registered its network interface"));
    }
    let run = target.join("run/udev");
    if !run.join("control").exists() {
        return None;
    }
    let net = sysfs.join("bus/pci/devices").join(&d.address).join("net");
    let unnamed: Vec<&str> = d
        .interfaces
        .iter()
        .filter(
            |ifname| match sysfs::read_attr(&net.join(ifname).join("ifindex")) {
                Ok(Some(index)) if index.parse::<u32>().is_ok() => {
                    !udev_processed(&run.join("data").join(format!("n{index}")))
                }
                // gone, or no index to look for: nothing to wait for
                _ => false,
            },
        )
        .map(String::as_str)
        .collect();
    (!unnamed.is_empty()).then(|| format!("udev has not named {}", unnamed.join(", ")))
}

/// Whether udev's database entry `file` says the device is processed: it
/// exists, has its `I:` line, and is neither being renamed nor processed.
fn udev_processed(file: &Path) -> bool {
    use std::io::Read as _;
    let mut text = String::new();
    let Ok(f) = fs::File::open(file) else {
        return false;
    };
    if f.take(64 * 1024).read_to_string(&mut text).is_err() {
        return false;
    }
    text.lines().any(|l| l.starts_with("I:"))
        && !text
            .lines()
            .any(|l| l == "E:ID_RENAMING=1" || l == "E:ID_PROCESSING=1")
}

/// Find the planned PF: at its address, or (after an address shift) by
/// serial number or MAC elsewhere. Returns the device and where it moved from.
pub(crate) fn locate<'a>(
    pf: &PlannedPf,
    devices: &'a [Device],
) -> Result<(&'a Device, Option<Moved>), LocateError> {
    let at = devices.iter().find(|d| d.address == pf.address);
    if let Some(d) = at
        && same_card(pf, d)
    {
        return Ok((d, None));
    }
    let by = |by: Identity,
              key: &dyn Fn(&Device) -> bool|
     -> Option<Result<(&'a Device, Option<Moved>), LocateError>> {
        let found: Vec<&Device> = devices.iter().filter(|d| d.is_sriov_pf() && key(d)).collect();
        match found.as_slice() {
            [] => None,
            [d] => Some(Ok((
                *d,
                Some(Moved {
                    from: pf.address.clone(),
                    to: d.address.clone(),
                    by,
                }),
            ))),
            many => Some(Err(LocateError::Ambiguous {
                by,
                at: many.iter().map(|d| d.address.clone()).collect(),
            })),
        }
    };
    let moved = match (&pf.serial, &pf.mac) {
        (Some(serial), _) => by(Identity::Serial, &|d| {
            d.serial_string().as_ref() == Some(serial) && same_card(pf, d)
        }),
        (None, Some(mac)) => by(Identity::Mac, &|d| {
            d.mac.as_ref().is_some_and(|m| m.eq_ignore_ascii_case(mac)) && same_card(pf, d)
        }),
        (None, None) => None,
    };
    if let Some(found) = moved {
        return found;
    }
    let name = |d: &Device| format!("{} {}", d.vendor_name(), d.device_name());
    let here = Box::new(match at {
        // Same model, but not the recorded card: say which identity differs.
        Some(d) if hex(d.vendor_id) == pf.vendor_id && hex(d.device_id) == pf.device_id => {
            let (by, now, recorded) = match (&pf.serial, d.serial_string()) {
                (Some(s), Some(now)) => (Identity::Serial, now, s.clone()),
                _ => (
                    Identity::Mac,
                    d.mac.clone().unwrap_or_else(|| "none".into()),
                    pf.mac.clone().unwrap_or_default(),
                ),
            };
            AtAddress::AnotherCard {
                address: pf.address.clone(),
                model: format!("{}:{}", pf.vendor_id, pf.device_id),
                name: name(d),
                by,
                now,
                recorded,
            }
        }
        Some(d) => AtAddress::AnotherModel {
            address: pf.address.clone(),
            now: format!("{}:{}", hex(d.vendor_id), hex(d.device_id)),
            planned: format!("{}:{}", pf.vendor_id, pf.device_id),
            name: name(d),
        },
        None => AtAddress::Nothing {
            address: pf.address.clone(),
        },
    });
    let looked_for = match (&pf.serial, &pf.mac) {
        (Some(s), _) => Some((Identity::Serial, s.clone())),
        (None, Some(m)) => Some((Identity::Mac, m.clone())),
        (None, None) => None,
    };
    Err(LocateError::Gone { here, looked_for })
}

pub(crate) fn write_attr(path: &Path, value: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
}

/// [`write_attr`], its error naming the file.
fn write_named(path: &Path, value: &str) -> Result<(), KernelError> {
    write_attr(path, value).map_err(|source| KernelError::AttrWrite {
        path: path.to_owned(),
        source,
    })
}

/// A sysfs attribute's text, which must be there.
fn read_present(path: &Path) -> Result<String, KernelError> {
    match sysfs::read_attr(path) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(KernelError::AttrMissing {
            path: path.to_owned(),
        }),
        Err(source) => Err(KernelError::AttrRead {
            path: path.to_owned(),
            source,
        }),
    }
}

fn read_count(path: &Path) -> Result<u16, KernelError> {
    let s = read_present(path)?;
    sysfs::parse_dec_u16(&s).ok_or_else(|| KernelError::NotACount {
        path: path.to_owned(),
        text: s,
    })
}

/// Set the PF's MTU when the plan has one: with `externallyManaged`, the
/// sriov-network-operator refuses a policy whose MTU is above the PF's.
/// Returns the log line's part, empty when nothing changed.
pub(crate) fn set_mtu(dir: &Path, d: &Device, mtu: Option<u32>) -> Result<String, KernelError> {
    let Some(mtu) = mtu else { return Ok(String::new()) };
    let Some(ifname) = d.interfaces.first() else {
        return Err(KernelError::NoNetdevForMtu { mtu });
    };
    let path = dir.join("net").join(ifname).join("mtu");
    let now = read_present(&path)?;
    if now == mtu.to_string() {
        return Ok(String::new());
    }
    write_attr(&path, &mtu.to_string()).map_err(|source| KernelError::SetMtu {
        mtu,
        ifname: ifname.clone(),
        path: path.clone(),
        source,
    })?;
    Ok(format!("; MTU {mtu} on {ifname} (was {now})"))
}

/// With pcidevices the controller is the one writer of `sriov_numvfs` (it
/// writes `spec.numVFs` without 0 first: a count written here would fight a
/// count changed in the UI) and binds VFs itself
/// (harvester/pcidevices:pkg/controller/sriovdevice/sriovdevice_controller.go).
pub(crate) fn owned_by_pcidevices(pf: &PlannedPf, d: &Device, plan: &Plan) -> String {
    let name = pf.interface.as_deref().map_or_else(
        || "its SRIOVNetworkDevice".to_owned(),
        |nic| {
            format!(
                "SRIOVNetworkDevice {}",
                crate::render::handoff::pcidevices_name(&plan.node, nic)
            )
        },
    );
    format!(
        "{} VFs now; the count is pcidevices' ({name}, {} in the hand-off): nothing written",
        d.kernel_num(),
        pf.num_vfs
    )
}

/// Make one PF's VF count right. Returns the log line's tail.
pub(crate) fn enforce(root: &Path, pf: &PlannedPf, d: &Device, plan: &Plan) -> Result<String, KernelError> {
    let device_type = plan.device_type;
    let dir = root.join("bus/pci/devices").join(&d.address);
    let numvfs = dir.join("sriov_numvfs");
    let n = pf.num_vfs;
    let total = read_count(&dir.join("sriov_totalvfs"))?;
    if n > total {
        return Err(KernelError::AboveTotal { planned: n, total });
    }
    let mtu_line = set_mtu(&dir, d, plan.mtu)?;
    let current = read_count(&numvfs)?;
    if pf.method == Method::ModuleParam {
        return if current == n {
            Ok(format!(
                "{n} VFs (created by the {} module parameter){mtu_line}",
                pf.driver
            ))
        } else {
            Err(KernelError::ModuleParameter {
                now: current,
                planned: n,
                driver: pf.driver.clone(),
            })
        };
    }
    let write_count = |value: u16| {
        write_attr(&numvfs, &value.to_string()).map_err(|e| KernelError::NumVfs {
            value,
            path: numvfs.clone(),
            refusal: NumVfsRefusal::of(e, pf, value),
        })
    };
    let mut steps = vec![];
    if current != n {
        if current != 0 {
            write_count(0)?;
            steps.push("0".to_owned());
        }
        write_count(n)?;
        steps.push(n.to_string());
    }
    let now = read_count(&numvfs)?;
    if now != n {
        return Err(KernelError::ReadBack { wrote: n, reads: now });
    }
    let mut line = match steps.as_slice() {
        [] => format!("{n} VFs, already as planned, nothing written"),
        _ => format!("{n} VFs (was {current}: wrote {})", steps.join(", then ")),
    };
    line.push_str(&mtu_line);
    // Settings first: a VF bound to vfio-pci afterwards is handed over with them.
    let to_vfio = device_type == DeviceType::VfioPci && n > 0;
    let settings = vfs::apply(root, pf, d, None, !to_vfio);
    let bound = if to_vfio {
        bind_vfio(root, &dir)?
    } else {
        String::new()
    };
    match settings {
        Ok(part) => Ok(line + &part + &bound),
        Err(error) => Err(KernelError::Settings {
            done: line,
            error,
            bound,
        }),
    }
}

/// The VFs of the PF at `pf_dir` that exist now, by index: its `virtfnN`
/// links and the PCI address each names.
pub(crate) fn virtfns(pf_dir: &Path) -> io::Result<Vec<(u16, String)>> {
    let mut out: Vec<(u16, String)> = fs::read_dir(pf_dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let i = name.strip_prefix("virtfn")?.parse::<u16>().ok()?;
            let addr = sysfs::link_name(&e.path()).ok().flatten()?;
            Some((i, addr))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Bind every VF of the PF to vfio-pci through `driver_override`, when
/// vfio-pci is loaded (otherwise modprobe.d's softdep does it when the VF
/// driver loads).
fn bind_vfio(root: &Path, pf_dir: &Path) -> Result<String, KernelError> {
    if !root.join("bus/pci/drivers/vfio-pci").is_dir() {
        return Ok("; vfio-pci not loaded yet: modprobe.d binds the VFs when it loads".into());
    }
    let mut bound = 0;
    let vfs = virtfns(pf_dir).map_err(|source| KernelError::ListVfs {
        dir: pf_dir.to_owned(),
        source,
    })?;
    for (index, addr) in vfs {
        let vf_dir = pf_dir.join(format!("virtfn{index}"));
        let driver = sysfs::link_name(&vf_dir.join("driver")).ok().flatten();
        if driver.as_deref() == Some("vfio-pci") {
            continue;
        }
        let step = |step: BindStep, path: std::path::PathBuf, v: &str| {
            write_attr(&path, v).map_err(|source| KernelError::Bind { step, path, source })
        };
        step(BindStep::Override, vf_dir.join("driver_override"), "vfio-pci")?;
        if driver.is_some() {
            step(BindStep::Unbind, vf_dir.join("driver/unbind"), &addr)?;
        }
        step(BindStep::Probe, root.join("bus/pci/drivers_probe"), &addr)?;
        bound += 1;
    }
    Ok(if bound > 0 {
        format!("; {bound} VFs bound to vfio-pci")
    } else {
        String::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(driver: &str) -> PlannedPf {
        PlannedPf {
            address: "0000:01:00.0".into(),
            vendor_id: "8086".into(),
            device_id: "10c9".into(),
            serial: None,
            mac: None,
            interface: Some("eth0".into()),
            driver: driver.into(),
            num_vfs: 4,
            total_vfs: 7,
            vf_device_id: "10ca".into(),
            vf_driver: None,
            method: Method::Sysfs,
            vfs: vec![],
        }
    }

    /// EPERM means VMs hold the VFs only when VFs are being removed; when
    /// they are being created it is the driver refusing (igb: no MSI-X, or
    /// more than 7).
    #[test]
    fn eperm_is_explained_by_what_was_written() {
        let eperm = || io::Error::from(rustix::io::Errno::PERM);
        let explain_errno = |e: io::Error, pf: &PlannedPf, n| NumVfsRefusal::of(e, pf, n).to_string();
        assert_eq!(
            explain_errno(eperm(), &pf("igb"), 0),
            "EPERM: VFs are in use (assigned to VMs): stop those VMs first"
        );
        assert_eq!(
            explain_errno(eperm(), &pf("igb"), 4),
            "EPERM: igb refused 4 VFs: it enables SR-IOV only with MSI-X interrupts and at most 7 VFs (igb_enable_sriov; `dmesg` says which)"
        );
        assert_eq!(
            explain_errno(eperm(), &pf("ixgbe"), 8),
            "EPERM: the ixgbe driver refused to create 8 VFs on this port (`dmesg` has its reason: firmware or BIOS settings for SR-IOV, or the count)"
        );
    }
}
