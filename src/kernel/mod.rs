//! The kernel: the only writer of sysfs. Find each planned PF by identity
//! (it survives a PCI address shift: serial number, else MAC, never a device
//! whose identity does not match), then write `sriov_numvfs` — `0` first
//! when another non-zero count is set (the kernel answers EBUSY otherwise) —
//! and read it back; bind VFs to vfio-pci and set the MTU as planned.
//!
//! `netlink` sets and reads per-VF settings on a PF with rtnetlink (the plan
//! resolved them: `crate::plan::vf`).

pub(crate) mod netlink;
pub(crate) mod vfs;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
/// serial number or MAC elsewhere. Returns the device and a note when it moved.
pub(crate) fn locate<'a>(
    pf: &PlannedPf,
    devices: &'a [Device],
) -> Result<(&'a Device, Option<String>), String> {
    let at = devices.iter().find(|d| d.address == pf.address);
    if let Some(d) = at
        && same_card(pf, d)
    {
        return Ok((d, None));
    }
    let by =
        |what: &str, key: &dyn Fn(&Device) -> bool| -> Option<Result<(&'a Device, Option<String>), String>> {
            let found: Vec<&Device> = devices.iter().filter(|d| d.is_sriov_pf() && key(d)).collect();
            match found.as_slice() {
                [] => None,
                [d] => Some(Ok((
                    *d,
                    Some(format!(
                        "moved from {} to {} (same {what})",
                        pf.address, d.address
                    )),
                ))),
                many => Some(Err(format!(
                    "{} {what}s match at {}: refusing to guess",
                    many.len(),
                    many.iter()
                        .map(|d| d.address.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        };
    let moved = match (&pf.serial, &pf.mac) {
        (Some(serial), _) => by("serial number", &|d| {
            d.serial_string().as_ref() == Some(serial) && same_card(pf, d)
        }),
        (None, Some(mac)) => by("MAC", &|d| {
            d.mac.as_ref().is_some_and(|m| m.eq_ignore_ascii_case(mac)) && same_card(pf, d)
        }),
        (None, None) => None,
    };
    if let Some(found) = moved {
        return found;
    }
    let here = match at {
        // Same model, but not the recorded card: say which identity differs.
        Some(d) if hex(d.vendor_id) == pf.vendor_id && hex(d.device_id) == pf.device_id => {
            let (what, now, recorded) = match (&pf.serial, d.serial_string()) {
                (Some(s), Some(now)) => ("serial number", now, s.clone()),
                _ => (
                    "MAC",
                    d.mac.clone().unwrap_or_else(|| "none".into()),
                    pf.mac.clone().unwrap_or_default(),
                ),
            };
            format!(
                "{} holds another {}:{} ({} {}) with {what} {now}, not the recorded {recorded}",
                pf.address,
                pf.vendor_id,
                pf.device_id,
                d.vendor_name(),
                d.device_name()
            )
        }
        Some(d) => format!(
            "{} now holds {}:{} ({} {}), not the planned {}:{}",
            pf.address,
            hex(d.vendor_id),
            hex(d.device_id),
            d.vendor_name(),
            d.device_name(),
            pf.vendor_id,
            pf.device_id
        ),
        None => format!("no PCI function at {}", pf.address),
    };
    let how = match (&pf.serial, &pf.mac) {
        (Some(s), _) => format!("no SR-IOV function has serial number {s}"),
        (None, Some(m)) => format!("no SR-IOV function has MAC {m}"),
        (None, None) => "the state records no serial number or MAC to find the card elsewhere".into(),
    };
    Err(format!(
        "{here}; {how}: refusing to touch anything (re-run `harvester-sriov apply` if the hardware changed)"
    ))
}

/// What a failed write to `sriov_numvfs` means, and what to do.
pub(crate) fn explain_errno(err: &io::Error, pf: &PlannedPf, n: u16) -> String {
    use io::ErrorKind as K;
    let raw = err.raw_os_error();
    match raw {
        Some(34) => format!("ERANGE: {n} is more than this PF allows (sriov_totalvfs)"),
        Some(16) => "EBUSY: VFs are enabled with another count; 0 must be written first".into(),
        Some(2) => format!(
            "ENOENT: no driver bound, or the {} driver cannot create VFs through sysfs (load the driver; mlx4_core needs the num_vfs module parameter)",
            pf.driver
        ),
        Some(12) => {
            "ENOMEM: no room for the VF BARs: turn on SR-IOV in the BIOS, or boot with pci=realloc".into()
        }
        Some(22) => format!("EINVAL: the kernel did not accept {n:?} as a VF count"),
        // Removing VFs: the driver keeps VFs a VM holds (igb_disable_sriov,
        // ixgbe_disable_sriov: pci_vfs_assigned). Creating them: the driver
        // refused the count or the port (igb_enable_sriov: no MSI-X, or more
        // than 7 VFs; torvalds/linux:drivers/net/ethernet/intel/igb/igb_main.c).
        Some(1) if n == 0 => "EPERM: VFs are in use (assigned to VMs): stop those VMs first".into(),
        Some(1) if pf.driver == "igb" => format!(
            "EPERM: igb refused {n} VFs: it enables SR-IOV only with MSI-X interrupts and at most 7 VFs (igb_enable_sriov; `dmesg` says which)"
        ),
        Some(1) => format!(
            "EPERM: the {} driver refused to create {n} VFs on this port (`dmesg` has its reason: firmware or BIOS settings for SR-IOV, or the count)",
            pf.driver
        ),
        Some(28) => {
            "ENOSPC: the device ran out of interrupt vectors (MSI-X) for this many VFs: ask for fewer".into()
        }
        _ if err.kind() == K::PermissionDenied => "permission denied: run as root".into(),
        _ => err.to_string(),
    }
}

pub(crate) fn write_attr(path: &Path, value: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(value.as_bytes())
}

fn read_count(path: &Path) -> Result<u16, String> {
    match sysfs::read_attr(path) {
        Ok(Some(s)) => {
            sysfs::parse_dec_u16(&s).ok_or_else(|| format!("{}: {s:?} is not a count", path.display()))
        }
        Ok(None) => Err(format!("{}: missing", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Set the PF's MTU when the plan has one: with `externallyManaged`, the
/// sriov-network-operator refuses a policy whose MTU is above the PF's.
/// Returns the log line's part, empty when nothing changed.
pub(crate) fn set_mtu(dir: &Path, d: &Device, mtu: Option<u32>) -> Result<String, String> {
    let Some(mtu) = mtu else { return Ok(String::new()) };
    let Some(ifname) = d.interfaces.first() else {
        return Err(format!(
            "MTU {mtu} planned, but the PF has no network interface to set it on"
        ));
    };
    let path = dir.join("net").join(ifname).join("mtu");
    let now = match sysfs::read_attr(&path) {
        Ok(Some(v)) => v,
        Ok(None) => return Err(format!("{}: missing", path.display())),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if now == mtu.to_string() {
        return Ok(String::new());
    }
    write_attr(&path, &mtu.to_string())
        .map_err(|e| format!("setting MTU {mtu} on {ifname} ({}): {e}", path.display()))?;
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
pub(crate) fn enforce(root: &Path, pf: &PlannedPf, d: &Device, plan: &Plan) -> Result<String, String> {
    let device_type = plan.device_type;
    let dir = root.join("bus/pci/devices").join(&d.address);
    let numvfs = dir.join("sriov_numvfs");
    let n = pf.num_vfs;
    let total = read_count(&dir.join("sriov_totalvfs"))?;
    if n > total {
        return Err(format!(
            "refused: {n} VFs planned, but the kernel allows at most {total} (sriov_totalvfs); nothing written"
        ));
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
            Err(format!(
                "{current} VFs, {n} planned: {} creates VFs only from its num_vfs module parameter; reboot to apply /etc/modprobe.d/harvester-sriov.conf",
                pf.driver
            ))
        };
    }
    let mut steps = vec![];
    if current != n {
        if current != 0 {
            write_attr(&numvfs, "0")
                .map_err(|e| format!("writing 0 to {}: {}", numvfs.display(), explain_errno(&e, pf, 0)))?;
            steps.push("0".to_owned());
        }
        write_attr(&numvfs, &n.to_string()).map_err(|e| {
            format!(
                "writing {n} to {}: {}",
                numvfs.display(),
                explain_errno(&e, pf, n)
            )
        })?;
        steps.push(n.to_string());
    }
    let now = read_count(&numvfs)?;
    if now != n {
        return Err(format!("wrote {n}, but sriov_numvfs reads {now}"));
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
        Err(e) => Err(format!("{line}; {e}{bound}")),
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
fn bind_vfio(root: &Path, pf_dir: &Path) -> Result<String, String> {
    if !root.join("bus/pci/drivers/vfio-pci").is_dir() {
        return Ok("; vfio-pci not loaded yet: modprobe.d binds the VFs when it loads".into());
    }
    let mut bound = 0;
    let vfs = virtfns(pf_dir).map_err(|e| format!("{}: {e}", pf_dir.display()))?;
    for (index, addr) in vfs {
        let vf_dir = pf_dir.join(format!("virtfn{index}"));
        let driver = sysfs::link_name(&vf_dir.join("driver")).ok().flatten();
        if driver.as_deref() == Some("vfio-pci") {
            continue;
        }
        let io = |what: &str, p: PathBuf, v: &str| {
            write_attr(&p, v).map_err(|e| format!("{what} {}: {e}", p.display()))
        };
        io("setting", vf_dir.join("driver_override"), "vfio-pci")?;
        if driver.is_some() {
            io("unbinding via", vf_dir.join("driver/unbind"), &addr)?;
        }
        io("probing via", root.join("bus/pci/drivers_probe"), &addr)?;
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
        let eperm = io::Error::from_raw_os_error(1);
        assert_eq!(
            explain_errno(&eperm, &pf("igb"), 0),
            "EPERM: VFs are in use (assigned to VMs): stop those VMs first"
        );
        assert_eq!(
            explain_errno(&eperm, &pf("igb"), 4),
            "EPERM: igb refused 4 VFs: it enables SR-IOV only with MSI-X interrupts and at most 7 VFs (igb_enable_sriov; `dmesg` says which)"
        );
        assert_eq!(
            explain_errno(&eperm, &pf("ixgbe"), 8),
            "EPERM: the ixgbe driver refused to create 8 VFs on this port (`dmesg` has its reason: firmware or BIOS settings for SR-IOV, or the count)"
        );
    }
}
