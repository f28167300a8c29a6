//! One PCI function as `detect` reports it: the capability view, the kernel
//! view, and the status that tells a person what to do with it.

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use crate::scan::configspace::{SriovCapability, format_serial};

/// The kernel's SR-IOV attributes of a PF. A field is `None` when its file
/// is missing or unparsable (a warning names it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KernelSriov {
    pub total_vfs: Option<u16>,
    pub num_vfs: Option<u16>,
    pub vf_offset: Option<u16>,
    pub vf_stride: Option<u16>,
    #[serde(serialize_with = "crate::scan::pci::ser_opt_u16")]
    pub vf_device_id: Option<u16>,
    pub drivers_autoprobe: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    pub address: String,
    pub vendor_id: Option<u16>,
    pub device_id: Option<u16>,
    pub class: Option<u32>,
    pub driver: Option<String>,
    pub interfaces: Vec<String>,
    pub numa_node: Option<u32>,
    pub iommu_group: Option<u32>,
    pub physfn: Option<String>,
    /// MAC address of the PF's first interface (`net/<if>/address`).
    pub mac: Option<String>,
    /// Link speed in Mb/s (`net/<if>/speed`), when the link is up.
    pub speed_mbps: Option<u32>,
    /// Size of the `config` file: 4096, 256, or 64 for an unprivileged reader.
    pub config_size: Option<u64>,
    pub capability: Option<SriovCapability>,
    /// The SR-IOV header is there but its body is cut short.
    pub capability_truncated: bool,
    /// lspci reaches the capability only through a `next` below 0x100.
    pub capability_kernel_unreachable: bool,
    pub chain_looped: bool,
    /// The capability lists could be read (more than the 64-byte header).
    pub config_readable: bool,
    /// PCIe Device Serial Number.
    pub serial: Option<u64>,
    pub kernel: Option<KernelSriov>,
    pub vfs: Vec<String>,
}

/// What a person can do with a function. The README lists each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// PF with a driver, kernel total > 0, no VFs yet: VFs can be created.
    Ready,
    /// PF that already has VFs.
    VfsEnabled,
    /// mlx5: usable, but the VF limit is the firmware's `NUM_OF_VFS`.
    FirmwareLimited,
    /// The kernel view says SR-IOV, but config space past 64 bytes is
    /// unreadable (not root), so the capability was not cross-checked.
    ConfigUnreadable,
    /// No driver bound: writing `sriov_numvfs` gives ENOENT.
    NoDriver,
    /// mlx4_core: VFs only through the `num_vfs` module parameter.
    DriverParamOnly,
    /// Capability present, but the kernel made no `sriov_*` files or
    /// reports TotalVFs 0 (BIOS SR-IOV setting, `pci=realloc`, firmware).
    KernelDisabled,
    /// A virtual function (listed with `--all`).
    Vf,
    /// Neither view shows SR-IOV (listed with `--all`).
    NotSriov,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::VfsEnabled => "vfs-enabled",
            Status::FirmwareLimited => "firmware-limited",
            Status::ConfigUnreadable => "config-unreadable",
            Status::NoDriver => "no-driver",
            Status::DriverParamOnly => "driver-param-only",
            Status::KernelDisabled => "kernel-disabled",
            Status::Vf => "vf",
            Status::NotSriov => "not-sriov",
        }
    }

    /// VFs can be created on this PF by writing `sriov_numvfs`.
    pub fn sysfs_usable(self) -> bool {
        matches!(
            self,
            Status::Ready | Status::VfsEnabled | Status::FirmwareLimited | Status::ConfigUnreadable
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The PCI base class of network controllers.
pub const CLASS_NETWORK: u8 = 0x02;

impl Device {
    /// The capability or the kernel view shows SR-IOV: a physical function.
    pub fn is_sriov_pf(&self) -> bool {
        self.capability.is_some() || self.capability_truncated || self.kernel.is_some()
    }

    pub fn is_network(&self) -> bool {
        self.class.is_some_and(|c| (c >> 16) as u8 == CLASS_NETWORK)
    }

    pub fn kernel_total(&self) -> u16 {
        self.kernel.as_ref().and_then(|k| k.total_vfs).unwrap_or(0)
    }

    pub fn kernel_num(&self) -> u16 {
        self.kernel.as_ref().and_then(|k| k.num_vfs).unwrap_or(0)
    }

    /// The VF device id, from the kernel, else from the capability.
    pub fn vf_device_id(&self) -> Option<u16> {
        self.kernel
            .as_ref()
            .and_then(|k| k.vf_device_id)
            .or(self.capability.map(|c| c.vf_device_id))
    }

    pub fn serial_string(&self) -> Option<String> {
        self.serial.map(format_serial)
    }

    pub fn vendor_name(&self) -> String {
        crate::scan::names::vendor(self.vendor_id)
    }

    pub fn device_name(&self) -> String {
        crate::scan::names::device(self.vendor_id, self.device_id)
    }

    pub fn status(&self) -> Status {
        if !self.is_sriov_pf() {
            return if self.physfn.is_some() {
                Status::Vf
            } else {
                Status::NotSriov
            };
        }
        let driver = self.driver.as_deref();
        if self.kernel_total() == 0 {
            return Status::KernelDisabled;
        }
        match driver {
            None => Status::NoDriver,
            Some("mlx4_core") => Status::DriverParamOnly,
            _ if self.kernel_num() > 0 => Status::VfsEnabled,
            _ if !self.config_readable => Status::ConfigUnreadable,
            Some("mlx5_core") => Status::FirmwareLimited,
            _ => Status::Ready,
        }
    }

    /// One sentence: what the status means for this function and what to do.
    pub fn hint(&self) -> String {
        let total = self.kernel_total();
        match self.status() {
            Status::Ready => format!("up to {total} VFs can be created (write sriov_numvfs)"),
            Status::VfsEnabled => format!(
                "{} of {total} VFs exist now; changing the count needs 0 written first",
                self.kernel_num()
            ),
            Status::FirmwareLimited => format!(
                "mlx5: at most {total} VFs, the firmware's NUM_OF_VFS; raise it with \
                 `mstconfig -d {} set SRIOV_EN=1 NUM_OF_VFS=N` and reboot",
                crate::shell::quote(&self.address)
            ),
            Status::ConfigUnreadable => format!(
                "config space unreadable past 64 bytes (run as root to cross-check the capability); \
                 the kernel reports up to {total} VFs"
            ),
            Status::NoDriver => {
                "no driver bound: load the NIC driver (writing sriov_numvfs gives ENOENT)".into()
            }
            Status::DriverParamOnly => format!(
                "{}: VFs only through the module parameter (`options mlx4_core num_vfs=N`); \
                 sriov_numvfs gives ENOENT",
                self.driver.as_deref().unwrap_or("driver")
            ),
            Status::KernelDisabled => self.kernel_disabled_hint(),
            Status::Vf => format!(
                "virtual function of {}",
                self.physfn.as_deref().unwrap_or("an unknown PF")
            ),
            Status::NotSriov => "no SR-IOV capability".into(),
        }
    }

    fn kernel_disabled_hint(&self) -> String {
        if self.capability_kernel_unreachable {
            return "the SR-IOV capability sits behind a `next` pointer below 0x100, where the \
                    kernel stops looking: a firmware bug, ask the vendor for an update"
                .into();
        }
        if self.driver.as_deref() == Some("mlx5_core") {
            return format!(
                "mlx5 firmware has SR-IOV off: `mstconfig -d {} set SRIOV_EN=1 NUM_OF_VFS=N`, then reboot",
                crate::shell::quote(&self.address)
            );
        }
        match &self.kernel {
            None => "the kernel did not enable SR-IOV (no sriov_* files): turn on SR-IOV (and VT-d/IOMMU) \
                     in the BIOS, or boot with pci=realloc when VF BAR space is missing"
                .into(),
            Some(_) => "the kernel reports 0 VFs: turn on SR-IOV in the BIOS/firmware for this card".into(),
        }
    }

    /// Where the two views disagree, and why, in words.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = vec![];
        if let (Some(cap), Some(k)) = (&self.capability, &self.kernel) {
            if let Some(kt) = k.total_vfs
                && kt != cap.total_vfs
            {
                notes.push(format!(
                    "capability TotalVFs {} but kernel sriov_totalvfs {kt}: the {} driver limits it",
                    cap.total_vfs,
                    self.driver.as_deref().unwrap_or("bound")
                ));
            }
            if let Some(kn) = k.num_vfs
                && kn != cap.num_vfs
            {
                notes.push(format!(
                    "capability NumVFs {} but kernel sriov_numvfs {kn}: config space and sysfs were read at different moments, or VFs are being changed",
                    cap.num_vfs
                ));
            }
            if let Some(kd) = k.vf_device_id
                && kd != cap.vf_device_id
            {
                notes.push(format!(
                    "capability VF Device ID {} but kernel sriov_vf_device {}",
                    crate::scan::pci::hex16(cap.vf_device_id),
                    crate::scan::pci::hex16(kd)
                ));
            }
        }
        if self.capability.is_some() && self.kernel.is_none() {
            notes.push("lspci shows the SR-IOV capability, but the kernel created no sriov_* files".into());
        }
        if self.capability.is_none() && !self.capability_truncated && self.kernel.is_some() {
            notes.push(if self.config_readable {
                "the kernel shows SR-IOV files, but config space holds no SR-IOV capability".into()
            } else {
                format!(
                    "config space is {} bytes to this reader: SR-IOV capability not checked",
                    self.config_size.unwrap_or(0)
                )
            });
        }
        if self.capability_truncated {
            notes.push("the SR-IOV capability is cut short by the end of config space".into());
        }
        if self.chain_looped {
            notes.push("the extended capability chain loops (lspci: <chain looped>)".into());
        }
        if let Some(k) = &self.kernel
            && k.num_vfs.is_some_and(|n| usize::from(n) != self.vfs.len())
        {
            notes.push(format!(
                "sriov_numvfs is {} but {} virtfn links exist",
                self.kernel_num(),
                self.vfs.len()
            ));
        }
        notes
    }
}

/// The stable JSON contract (README: "JSON output").
impl Serialize for Device {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Device", 20)?;
        st.serialize_field("address", &self.address)?;
        st.serialize_field("vendor_id", &crate::scan::pci::id(self.vendor_id))?;
        st.serialize_field("device_id", &crate::scan::pci::id(self.device_id))?;
        st.serialize_field("class", &self.class.map(crate::scan::pci::class))?;
        st.serialize_field("vendor_name", &self.vendor_name())?;
        st.serialize_field("device_name", &self.device_name())?;
        st.serialize_field("driver", &self.driver)?;
        st.serialize_field("interfaces", &self.interfaces)?;
        st.serialize_field("numa_node", &self.numa_node)?;
        st.serialize_field("iommu_group", &self.iommu_group)?;
        st.serialize_field("physfn", &self.physfn)?;
        st.serialize_field("capability", &self.capability)?;
        st.serialize_field("kernel", &self.kernel)?;
        st.serialize_field("vfs", &self.vfs)?;
        st.serialize_field("status", &self.status())?;
        st.serialize_field("hint", &self.hint())?;
        st.serialize_field("serial", &self.serial_string())?;
        st.serialize_field("mac", &self.mac)?;
        st.serialize_field("notes", &self.notes())?;
        st.end()
    }
}
