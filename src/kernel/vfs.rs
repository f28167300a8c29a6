//! Give a PF's VFs their planned settings: read what the kernel has
//! (`RTM_GETLINK`), send only what differs (one `RTM_SETLINK` for all VFs of
//! the PF when everything lands), read it back, and re-probe a VF whose
//! kernel driver read its MAC before the PF had it (igbvf, iavf… take the
//! MAC the PF gives them when they bind). The PF is named by its netdev as it
//! is called now, so a renamed PF still gets its settings; the VF indexes
//! are the PF's own `virtfnN`.

use std::path::Path;

use crate::intent::vf::parse_mac;
use crate::kernel::netlink::{Proto, Rtnl, VfRequest, VfState};
use crate::kernel::{KernelError, VfError, VfProblem};
use crate::plan::PlannedPf;
use crate::plan::vf::{PlannedVf, format_mac};
use crate::scan::device::Device;
use crate::scan::sysfs;

/// The request that brings `now` to `want`: only the settings that differ.
fn request(want: &PlannedVf, now: Option<&VfState>) -> VfRequest {
    let mut r = VfRequest {
        vf: u32::from(want.id),
        ..VfRequest::default()
    };
    let now = now.cloned().unwrap_or_default();
    if let Some(m) = want.mac.as_deref().and_then(parse_mac)
        && now.mac != Some(m)
    {
        r.mac = Some(m);
    }
    if let Some(id) = want.vlan_id {
        let qos = want.qos.unwrap_or(0);
        let proto = want.vlan_proto.unwrap_or(Proto::Dot1q);
        let proto_now = now.vlan_proto.unwrap_or(Proto::Dot1q);
        if (now.vlan_id, now.qos.unwrap_or(0), proto_now) != (Some(id), qos, proto) {
            r.vlan = Some((id, qos, proto));
        }
    }
    if want.min_tx_rate.is_some() || want.max_tx_rate.is_some() {
        let min = want.min_tx_rate.unwrap_or(0);
        let max = want.max_tx_rate.unwrap_or(0);
        if (now.min_tx_rate.unwrap_or(0), now.max_tx_rate.unwrap_or(0)) != (min, max) {
            r.rate = Some((min, max));
        }
    }
    if want.spoof_check.is_some() && now.spoof_check != want.spoof_check {
        r.spoof_check = want.spoof_check;
    }
    if want.trust.is_some() && now.trust != want.trust {
        r.trust = want.trust;
    }
    if want.link_state.is_some() && now.link_state != want.link_state {
        r.link_state = want.link_state;
    }
    r
}

fn is_empty(r: &VfRequest) -> bool {
    *r == VfRequest {
        vf: r.vf,
        ..VfRequest::default()
    }
}

/// What still differs between `want` and `now`, in words (empty: as planned).
pub(crate) fn differences(want: &PlannedVf, now: Option<&VfState>) -> Vec<String> {
    let Some(now) = now else {
        return vec![format!("VF {} does not exist", want.id)];
    };
    let r = request(want, Some(now));
    let mut out = vec![];
    let show = |v: Option<String>| v.unwrap_or_else(|| "not reported".into());
    if r.mac.is_some() {
        out.push(format!(
            "mac {} (planned {})",
            show(now.mac.as_ref().map(format_mac)),
            want.mac.as_deref().unwrap_or_default()
        ));
    }
    if let Some((id, qos, _)) = r.vlan {
        out.push(format!(
            "vlan {} qos {} (planned vlan {id} qos {qos}{})",
            show(now.vlan_id.map(|v| v.to_string())),
            show(now.qos.map(|v| v.to_string())),
            if want.vlan_proto == Some(Proto::Dot1ad) {
                " proto 802.1ad"
            } else {
                ""
            }
        ));
    }
    if let Some((min, max)) = r.rate {
        out.push(format!(
            "min_tx_rate {} max_tx_rate {} (planned {min} and {max})",
            show(now.min_tx_rate.map(|v| v.to_string())),
            show(now.max_tx_rate.map(|v| v.to_string()))
        ));
    }
    let onoff = |b: Option<bool>| show(b.map(|b| if b { "on" } else { "off" }.to_owned()));
    if let Some(want) = r.spoof_check {
        out.push(format!(
            "spoofchk {} (planned {})",
            onoff(now.spoof_check),
            onoff(Some(want))
        ));
    }
    if let Some(want) = r.trust {
        out.push(format!(
            "trust {} (planned {})",
            onoff(now.trust),
            onoff(Some(want))
        ));
    }
    if let Some(want) = r.link_state {
        out.push(format!(
            "link_state {} (planned {want:?})",
            show(now.link_state.map(|l| format!("{l:?}")))
        ));
    }
    out.into_iter().map(|d| format!("VF {}: {d}", want.id)).collect()
}

/// Re-probe the VF at `vf_dir` (`address`) when a kernel network driver holds
/// it and its netdev has another MAC than `mac`: the driver takes the PF's
/// MAC when it binds. Returns whether it was re-probed.
fn reprobe_for_mac(root: &Path, vf_dir: &Path, address: &str, mac: &str) -> Result<bool, KernelError> {
    let driver = sysfs::link_name(&vf_dir.join("driver")).ok().flatten();
    let Some(driver) = driver else { return Ok(false) };
    if driver == "vfio-pci" {
        return Ok(false);
    }
    let netdevs: Vec<String> = std::fs::read_dir(vf_dir.join("net"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let Some(netdev) = netdevs.first() else {
        return Ok(false);
    };
    let now = sysfs::read_attr(&vf_dir.join("net").join(netdev).join("address"))
        .ok()
        .flatten()
        .unwrap_or_default();
    if now.eq_ignore_ascii_case(mac) {
        return Ok(false);
    }
    let unbind = vf_dir.join("driver/unbind");
    match super::write_attr(&unbind, address) {
        Ok(()) => {}
        // Unbound between the look and the write (ENOENT: its `driver` link is
        // gone; ENODEV: bound elsewhere meanwhile): another writer re-probes it
        // too, the udev rule's `vf-added` for the VF `boot` just created, or
        // `boot` for the VF `vf-added` runs on. The MAC was set before either
        // unbound it: whichever probe comes next takes it. Probed below in
        // case this one is first.
        Err(e)
            if matches!(
                rustix::io::Errno::from_io_error(&e),
                Some(rustix::io::Errno::NOENT | rustix::io::Errno::NODEV)
            ) => {}
        Err(source) => return Err(KernelError::AttrWrite { path: unbind, source }),
    }
    super::write_named(&root.join("bus/pci/drivers_probe"), address)?;
    Ok(true)
}

/// Give the VFs of `pf` (found as `d`) that exist now their planned
/// settings (`only`: just that VF index). Returns the log line's part (empty
/// when nothing is planned), or, when any setting did not land, what did and
/// what did not. With `reprobe`, a VF on a kernel network driver whose netdev
/// has another MAC is re-probed to take the planned one; without, the caller
/// binds the VFs to vfio-pci next (the VM's driver reads the MAC then).
pub(crate) fn apply(
    root: &Path,
    pf: &PlannedPf,
    d: &Device,
    only: Option<u16>,
    reprobe: bool,
) -> Result<String, VfError> {
    if pf.vfs.is_empty() {
        return Ok(String::new());
    }
    let Some(ifname) = d.interfaces.first() else {
        return Err(VfError::NoNetdev);
    };
    let dir = root.join("bus/pci/devices").join(&d.address);
    let present = super::virtfns(&dir).unwrap_or_default();
    let exists = |id: u16| present.iter().any(|(i, _)| *i == id);
    let wanted: Vec<&PlannedVf> = pf.vfs.iter().filter(|v| only.is_none_or(|o| o == v.id)).collect();
    if wanted.is_empty() {
        return Ok(format!(
            "; VF {} has no planned settings",
            only.unwrap_or_default()
        ));
    }
    let planned: Vec<&PlannedVf> = wanted.iter().copied().filter(|v| exists(v.id)).collect();
    let waiting = wanted.len() - planned.len();
    let wait_note = if waiting > 0 {
        format!("; {waiting} more planned VFs do not exist yet (set when they appear)")
    } else {
        String::new()
    };
    if planned.is_empty() {
        return Ok(format!(
            "; per-VF settings of {waiting} VFs: set when those VFs appear (udev rule)"
        ));
    }
    let failed = VfError::Netlink;
    let mut rtnl = Rtnl::open().map_err(failed)?;
    let before = rtnl.get_vfs(ifname).map_err(failed)?;
    let find = |states: &[VfState], id: u16| states.iter().find(|s| s.vf == u32::from(id)).cloned();
    let requests: Vec<VfRequest> = planned
        .iter()
        .map(|v| request(v, find(&before, v.id).as_ref()))
        .filter(|r| !is_empty(r))
        .collect();
    let mut errors: Vec<VfProblem> = vec![];
    let reads = rtnl.round_trips;
    if let Err(es) = rtnl.set_vfs(ifname, &requests) {
        errors.extend(es.into_iter().map(VfProblem::Refused));
    }
    let setlinks = rtnl.round_trips - reads;
    let after = rtnl.get_vfs(ifname).map_err(failed)?;
    for v in &planned {
        let diffs = differences(v, find(&after, v.id).as_ref());
        if errors.is_empty() {
            errors.extend(diffs.into_iter().map(VfProblem::Differs));
        }
    }
    let mut reprobed = 0;
    for v in planned.iter().filter(|_| reprobe) {
        let (Some(mac), Some((_, addr))) = (&v.mac, present.iter().find(|(i, _)| *i == v.id)) else {
            continue;
        };
        match reprobe_for_mac(root, &dir.join(format!("virtfn{}", v.id)), addr, mac) {
            Ok(true) => reprobed += 1,
            Ok(false) => {}
            Err(e) => errors.push(VfProblem::Reprobe {
                vf: v.id,
                error: Box::new(e),
            }),
        }
    }
    let set = requests.len();
    let mut line = if set == 0 {
        format!("; per-VF settings of {} VFs already as planned", planned.len())
    } else {
        format!(
            "; per-VF settings: {set} of {} VFs set ({setlinks} RTM_SETLINK{})",
            planned.len(),
            if setlinks == 1 { "" } else { "s" }
        )
    };
    if reprobed > 0 {
        line.push_str(&format!(", {reprobed} re-probed to take their MAC"));
    }
    line.push_str(&wait_note);
    if errors.is_empty() {
        Ok(line)
    } else {
        Err(VfError::NotAsPlanned {
            done: line.trim_start_matches("; ").to_owned(),
            problems: errors,
        })
    }
}

/// What differs between the planned settings of `pf`'s VFs that exist now
/// and what the kernel reports, one line each (empty: as planned). VFs that
/// do not exist are the count check's to report.
pub(crate) fn check(root: &Path, pf: &PlannedPf, d: &Device) -> Vec<String> {
    if pf.vfs.is_empty() {
        return vec![];
    }
    let name = format!(
        "{} ({})",
        d.address,
        d.interfaces.first().map_or("no netdev", String::as_str)
    );
    let Some(ifname) = d.interfaces.first() else {
        return vec![format!(
            "{name}: per-VF settings planned, and the PF has no netdev to read them from"
        )];
    };
    let present = super::virtfns(&root.join("bus/pci/devices").join(&d.address)).unwrap_or_default();
    if !pf.vfs.iter().any(|v| present.iter().any(|(i, _)| *i == v.id)) {
        return vec![];
    }
    let states = match Rtnl::open().and_then(|mut r| r.get_vfs(ifname)) {
        Ok(s) => s,
        Err(e) => return vec![format!("{name}: reading per-VF settings: {e}")],
    };
    pf.vfs
        .iter()
        .filter(|v| present.iter().any(|(i, _)| *i == v.id))
        .flat_map(|v| differences(v, states.iter().find(|s| s.vf == u32::from(v.id))))
        .map(|d| format!("{name}: {d}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake VF on igbvf whose netdev has another MAC; `unbind` is left out
    /// of the driver's directory when `unbind_gone` (as when another writer
    /// unbound the VF between the look at its driver and the write).
    fn vf_tree(unbind_gone: bool) -> (tempfile::TempDir, std::path::PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let drivers = root.path().join("bus/pci/drivers/igbvf");
        std::fs::create_dir_all(&drivers).unwrap();
        if !unbind_gone {
            std::fs::write(drivers.join("unbind"), "").unwrap();
        }
        std::fs::write(root.path().join("bus/pci/drivers_probe"), "").unwrap();
        let vf = root.path().join("devices/0000:01:10.0");
        std::fs::create_dir_all(vf.join("net/eth4")).unwrap();
        std::fs::write(vf.join("net/eth4/address"), "66:f1:43:04:9b:0e\n").unwrap();
        std::os::unix::fs::symlink(&drivers, vf.join("driver")).unwrap();
        (root, vf)
    }

    #[test]
    fn a_vf_unbound_by_another_writer_meanwhile_is_probed_not_failed() {
        for unbind_gone in [false, true] {
            let (root, vf) = vf_tree(unbind_gone);
            let got = reprobe_for_mac(root.path(), &vf, "0000:01:10.0", "02:00:5e:10:00:40");
            assert!(matches!(got, Ok(true)), "unbind gone: {unbind_gone}: {got:?}");
            let probed = std::fs::read_to_string(root.path().join("bus/pci/drivers_probe")).unwrap();
            assert_eq!(probed, "0000:01:10.0", "unbind gone: {unbind_gone}");
        }
    }

    #[test]
    fn another_unbind_error_is_still_said() {
        let (root, vf) = vf_tree(false);
        let unbind = root.path().join("bus/pci/drivers/igbvf/unbind");
        std::fs::remove_file(&unbind).unwrap();
        std::fs::create_dir(&unbind).unwrap(); // EISDIR: not another writer's doing
        let got = reprobe_for_mac(root.path(), &vf, "0000:01:10.0", "02:00:5e:10:00:40");
        assert!(
            got.as_ref().is_err_and(|e| e.to_string().contains("unbind")),
            "{got:?}"
        );
    }
}
