//! What goes wrong in the kernel stage, as values callers can match: a PF
//! not found, a sysfs attribute that cannot be read or written, a VF count
//! the kernel refuses (its errno named, with what to do), per-VF settings
//! that did not land. Each message is the line `boot` logs and `verify`
//! reports.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use rustix::io::Errno;

use crate::kernel::netlink::NetlinkError;
use crate::plan::PlannedPf;

/// How a planned PF is recognised when it is not at its recorded address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity {
    Serial,
    Mac,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Identity::Serial => "serial number",
            Identity::Mac => "MAC",
        })
    }
}

/// A planned PF found at another address than the state records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Moved {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) by: Identity,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "moved from {} to {} (same {})", self.from, self.to, self.by)
    }
}

/// What is at the planned PF's recorded address now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AtAddress {
    /// The same model, but not the recorded card: which identity differs.
    AnotherCard {
        address: String,
        /// `vendor:device`, as the state records it.
        model: String,
        name: String,
        by: Identity,
        now: String,
        recorded: String,
    },
    /// Another model.
    AnotherModel {
        address: String,
        /// `vendor:device` now, and as planned.
        now: String,
        planned: String,
        name: String,
    },
    /// No PCI function at all.
    Nothing { address: String },
}

impl fmt::Display for AtAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtAddress::AnotherCard {
                address,
                model,
                name,
                by,
                now,
                recorded,
            } => write!(
                f,
                "{address} holds another {model} ({name}) with {by} {now}, not the recorded {recorded}"
            ),
            AtAddress::AnotherModel {
                address,
                now,
                planned,
                name,
            } => write!(f, "{address} now holds {now} ({name}), not the planned {planned}"),
            AtAddress::Nothing { address } => write!(f, "no PCI function at {address}"),
        }
    }
}

/// Why a planned PF was not found.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LocateError {
    /// Several SR-IOV functions have the recorded identity.
    #[error("{} {by}s match at {}: refusing to guess", at.len(), at.join(", "))]
    Ambiguous { by: Identity, at: Vec<String> },
    /// Not at its address, and nothing elsewhere has its identity (or the
    /// state records none).
    #[error(
        "{here}; {}: refusing to touch anything (re-run `harvester-sriov apply` if the hardware changed)",
        match looked_for {
            Some((by, recorded)) => format!("no SR-IOV function has {by} {recorded}"),
            None => "the state records no serial number or MAC to find the card elsewhere".to_owned(),
        }
    )]
    Gone {
        here: Box<AtAddress>,
        /// The identity looked for elsewhere, and its recorded value.
        looked_for: Option<(Identity, String)>,
    },
}

/// Why writing a VF count to `sriov_numvfs` failed, from its errno, and
/// what to do about it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NumVfsRefusal {
    #[error("ERANGE: {n} is more than this PF allows (sriov_totalvfs)")]
    OutOfRange { n: u16 },
    #[error("EBUSY: VFs are enabled with another count; 0 must be written first")]
    Busy,
    #[error(
        "ENOENT: no driver bound, or the {driver} driver cannot create VFs through sysfs (load the driver; mlx4_core needs the num_vfs module parameter)"
    )]
    NoDriver { driver: String },
    #[error("ENOMEM: no room for the VF BARs: turn on SR-IOV in the BIOS, or boot with pci=realloc")]
    NoRoomForBars,
    #[error("EINVAL: the kernel did not accept {n:?} as a VF count")]
    Invalid { n: u16 },
    /// Removing VFs: the driver keeps VFs a VM holds (igb_disable_sriov,
    /// ixgbe_disable_sriov: pci_vfs_assigned).
    #[error("EPERM: VFs are in use (assigned to VMs): stop those VMs first")]
    InUse,
    /// Creating them: igb enables SR-IOV only with MSI-X and at most 7 VFs
    /// (igb_enable_sriov; torvalds/linux:drivers/net/ethernet/intel/igb/igb_main.c).
    #[error(
        "EPERM: igb refused {n} VFs: it enables SR-IOV only with MSI-X interrupts and at most 7 VFs (igb_enable_sriov; `dmesg` says which)"
    )]
    IgbRefused { n: u16 },
    #[error(
        "EPERM: the {driver} driver refused to create {n} VFs on this port (`dmesg` has its reason: firmware or BIOS settings for SR-IOV, or the count)"
    )]
    DriverRefused { driver: String, n: u16 },
    #[error("ENOSPC: the device ran out of interrupt vectors (MSI-X) for this many VFs: ask for fewer")]
    NoVectors,
    #[error("permission denied: run as root")]
    NotRoot,
    #[error("{0}")]
    Other(io::Error),
}

impl NumVfsRefusal {
    /// What the failed write of `n` to `pf`'s `sriov_numvfs` means.
    pub(crate) fn of(err: io::Error, pf: &PlannedPf, n: u16) -> NumVfsRefusal {
        match Errno::from_io_error(&err) {
            Some(Errno::RANGE) => NumVfsRefusal::OutOfRange { n },
            Some(Errno::BUSY) => NumVfsRefusal::Busy,
            Some(Errno::NOENT) => NumVfsRefusal::NoDriver {
                driver: pf.driver.clone(),
            },
            Some(Errno::NOMEM) => NumVfsRefusal::NoRoomForBars,
            Some(Errno::INVAL) => NumVfsRefusal::Invalid { n },
            Some(Errno::PERM) if n == 0 => NumVfsRefusal::InUse,
            Some(Errno::PERM) if pf.driver == "igb" => NumVfsRefusal::IgbRefused { n },
            Some(Errno::PERM) => NumVfsRefusal::DriverRefused {
                driver: pf.driver.clone(),
                n,
            },
            Some(Errno::NOSPC) => NumVfsRefusal::NoVectors,
            _ if err.kind() == io::ErrorKind::PermissionDenied => NumVfsRefusal::NotRoot,
            _ => NumVfsRefusal::Other(err),
        }
    }
}

/// The steps of binding a VF to vfio-pci.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BindStep {
    /// `driver_override`.
    Override,
    /// `driver/unbind`.
    Unbind,
    /// `drivers_probe`.
    Probe,
}

impl fmt::Display for BindStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindStep::Override => "setting",
            BindStep::Unbind => "unbinding via",
            BindStep::Probe => "probing via",
        })
    }
}

/// One way per-VF settings fell short.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VfProblem {
    /// The kernel refused a setting.
    #[error(transparent)]
    Refused(NetlinkError),
    /// Read back, a setting is not as planned (in words).
    #[error("{0}")]
    Differs(String),
    /// A VF could not be re-probed to take its MAC.
    #[error("VF {vf}: re-probing it to take its MAC: {error}")]
    Reprobe { vf: u16, error: Box<KernelError> },
}

/// Why a PF's VFs did not all get their planned settings.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VfError {
    #[error("per-VF settings are set through the PF's netdev, and it has none now")]
    NoNetdev,
    #[error("per-VF settings: {0}")]
    Netlink(NetlinkError),
    /// What was done, and every problem.
    #[error("{done}; NOT as planned: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    NotAsPlanned { done: String, problems: Vec<VfProblem> },
}

/// Why a PF is not as planned.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KernelError {
    #[error(transparent)]
    Locate(#[from] LocateError),
    #[error(
        "no driver bound after {}s: load the {driver} driver (writing sriov_numvfs would fail with ENOENT)",
        waited.as_secs()
    )]
    NoDriver { waited: Duration, driver: String },
    #[error("{}: missing", path.display())]
    AttrMissing { path: PathBuf },
    #[error("{}: {source}", path.display())]
    AttrRead { path: PathBuf, source: io::Error },
    #[error("{}: {text:?} is not a count", path.display())]
    NotACount { path: PathBuf, text: String },
    #[error("{}: {source}", path.display())]
    AttrWrite { path: PathBuf, source: io::Error },
    #[error(
        "refused: {planned} VFs planned, but the kernel allows at most {total} (sriov_totalvfs); nothing written"
    )]
    AboveTotal { planned: u16, total: u16 },
    #[error(
        "{now} VFs, {planned} planned: {driver} creates VFs only from its num_vfs module parameter; reboot to apply /etc/modprobe.d/harvester-sriov.conf"
    )]
    ModuleParameter { now: u16, planned: u16, driver: String },
    #[error("writing {value} to {}: {refusal}", path.display())]
    NumVfs {
        value: u16,
        path: PathBuf,
        refusal: NumVfsRefusal,
    },
    #[error("wrote {wrote}, but sriov_numvfs reads {reads}")]
    ReadBack { wrote: u16, reads: u16 },
    #[error("MTU {mtu} planned, but the PF has no network interface to set it on")]
    NoNetdevForMtu { mtu: u32 },
    #[error("setting MTU {mtu} on {ifname} ({}): {source}", path.display())]
    SetMtu {
        mtu: u32,
        ifname: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{}: {source}", dir.display())]
    ListVfs { dir: PathBuf, source: io::Error },
    #[error("{step} {}: {source}", path.display())]
    Bind {
        step: BindStep,
        path: PathBuf,
        source: io::Error,
    },
    /// The count is as planned (`done` says so), the per-VF settings are
    /// not; `bound`: the vfio-pci binding done after them.
    #[error("{done}; {error}{bound}")]
    Settings {
        done: String,
        error: VfError,
        bound: String,
    },
}
