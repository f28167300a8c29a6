//! One PCI function as `detect` reports it: the capability view, the kernel
//! view, and the status that tells a person what to do with it.

use serde::de::{Deserializer, Error as _};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::scan::configspace::{SriovCapability, format_serial};

/// The kernel's SR-IOV attributes of a PF. A field is `None` when its file
/// is missing or unparsable (a warning names it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct KernelSriov {
    pub(crate) total_vfs: Option<u16>,
    pub(crate) num_vfs: Option<u16>,
    pub(crate) vf_offset: Option<u16>,
    pub(crate) vf_stride: Option<u16>,
    #[serde(serialize_with = "crate::scan::pci::ser_opt_u16")]
    pub(crate) vf_device_id: Option<u16>,
    pub(crate) drivers_autoprobe: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Device {
    pub(crate) address: String,
    pub(crate) vendor_id: Option<u16>,
    pub(crate) device_id: Option<u16>,
    pub(crate) class: Option<u32>,
    pub(crate) driver: Option<String>,
    pub(crate) interfaces: Vec<String>,
    pub(crate) numa_node: Option<u32>,
    pub(crate) iommu_group: Option<u32>,
    pub(crate) physfn: Option<String>,
    /// MAC address of the PF's first interface (`net/<if>/address`).
    pub(crate) mac: Option<String>,
    /// Link speed in Mb/s (`net/<if>/speed`), when the link is up.
    pub(crate) speed_mbps: Option<u32>,
    /// Size of the `config` file: 4096, 256, or 64 for an unprivileged reader.
    pub(crate) config_size: Option<u64>,
    pub(crate) capability: Option<SriovCapability>,
    /// The SR-IOV header is there but its body is cut short.
    pub(crate) capability_truncated: bool,
    /// lspci reaches the capability only through a `next` below 0x100.
    pub(crate) capability_kernel_unreachable: bool,
    pub(crate) chain_looped: bool,
    /// The capability lists could be read (more than the 64-byte header).
    pub(crate) config_readable: bool,
    /// PCIe Device Serial Number.
    pub(crate) serial: Option<u64>,
    pub(crate) kernel: Option<KernelSriov>,
    pub(crate) vfs: Vec<String>,
}

/// What a person can do with a function. docs/commands.md ("Status values") lists each value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
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
    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) fn sysfs_usable(self) -> bool {
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
pub(crate) const CLASS_NETWORK: u8 = 0x02;

impl Device {
    /// The capability or the kernel view shows SR-IOV: a physical function.
    pub(crate) fn is_sriov_pf(&self) -> bool {
        self.capability.is_some() || self.capability_truncated || self.kernel.is_some()
    }

    pub(crate) fn is_network(&self) -> bool {
        self.class.is_some_and(|c| (c >> 16) as u8 == CLASS_NETWORK)
    }

    pub(crate) fn kernel_total(&self) -> u16 {
        self.kernel.as_ref().and_then(|k| k.total_vfs).unwrap_or(0)
    }

    pub(crate) fn kernel_num(&self) -> u16 {
        self.kernel.as_ref().and_then(|k| k.num_vfs).unwrap_or(0)
    }

    /// The VF device id, from the kernel, else from the capability.
    pub(crate) fn vf_device_id(&self) -> Option<u16> {
        self.kernel
            .as_ref()
            .and_then(|k| k.vf_device_id)
            .or(self.capability.map(|c| c.vf_device_id))
    }

    pub(crate) fn serial_string(&self) -> Option<String> {
        self.serial.map(format_serial)
    }

    pub(crate) fn vendor_name(&self) -> String {
        crate::scan::names::vendor(self.vendor_id)
    }

    pub(crate) fn device_name(&self) -> String {
        crate::scan::names::device(self.vendor_id, self.device_id)
    }

    pub(crate) fn status(&self) -> Status {
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
    pub(crate) fn hint(&self) -> String {
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
            return format!(
                "{BEHIND_LOW_NEXT}, where the kernel stops looking: a firmware bug, ask the vendor for an update"
            );
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
    pub(crate) fn notes(&self) -> Vec<String> {
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
                    "{}{}{}",
                    SHORT_CONFIG.0,
                    self.config_size.unwrap_or(0),
                    SHORT_CONFIG.1
                )
            });
        }
        if self.capability_truncated {
            notes.push(TRUNCATED.into());
        }
        if self.chain_looped {
            notes.push(LOOPED.into());
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

/// The stable JSON contract (docs/commands.md, "JSON output").
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

// ---------------------------------------------------------------------------
// Reading detect's JSON back (`fleet-check` plans other nodes from it)

/// An `Option` field that must be there (as `null` when unknown): serde
/// takes a missing `Option` for `None` unless the field has its own reader.
fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// A PF's capability as detect writes it (a field a later version adds is
/// ignored, as everywhere in the contract).
#[derive(Deserialize)]
struct RecordedCapability {
    offset: u16,
    version: u8,
    initial_vfs: u16,
    total_vfs: u16,
    num_vfs: u16,
    vf_enabled: bool,
    vf_offset: u16,
    vf_stride: u16,
    vf_device_id: String,
}

/// A PF's kernel view as detect writes it.
#[derive(Deserialize)]
struct RecordedKernel {
    #[serde(deserialize_with = "required")]
    total_vfs: Option<u16>,
    #[serde(deserialize_with = "required")]
    num_vfs: Option<u16>,
    #[serde(deserialize_with = "required")]
    vf_offset: Option<u16>,
    #[serde(deserialize_with = "required")]
    vf_stride: Option<u16>,
    #[serde(deserialize_with = "required")]
    vf_device_id: Option<String>,
    #[serde(deserialize_with = "required")]
    drivers_autoprobe: Option<bool>,
}

/// One entry of `devices` as detect writes it (docs/commands.md, "JSON output"):
/// every field is required, as every version from 0.1 on writes it; fields
/// added later (`vf_settings`, 0.3.0) are ignored.
#[derive(Deserialize)]
struct Recorded {
    address: String,
    #[serde(deserialize_with = "required")]
    vendor_id: Option<String>,
    #[serde(deserialize_with = "required")]
    device_id: Option<String>,
    #[serde(deserialize_with = "required")]
    class: Option<String>,
    // Required, but not kept: the names come from the pci.ids compiled
    // into the binary that reads.
    #[serde(rename = "vendor_name")]
    _vendor_name: String,
    #[serde(rename = "device_name")]
    _device_name: String,
    #[serde(deserialize_with = "required")]
    driver: Option<String>,
    interfaces: Vec<String>,
    #[serde(deserialize_with = "required")]
    numa_node: Option<u32>,
    #[serde(deserialize_with = "required")]
    iommu_group: Option<u32>,
    #[serde(deserialize_with = "required")]
    physfn: Option<String>,
    #[serde(deserialize_with = "required")]
    capability: Option<RecordedCapability>,
    #[serde(deserialize_with = "required")]
    kernel: Option<RecordedKernel>,
    vfs: Vec<String>,
    status: String,
    hint: String,
    #[serde(deserialize_with = "required")]
    serial: Option<String>,
    #[serde(deserialize_with = "required")]
    mac: Option<String>,
    notes: Vec<String>,
}

/// Exactly `digits` lower-case hex digits, as detect writes ids.
fn parse_hex(field: &str, text: &str, digits: usize) -> Result<u32, String> {
    if text.len() == digits && text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        u32::from_str_radix(text, 16).map_err(|e| e.to_string())
    } else {
        Err(format!("{field}: {text:?} is not {digits} lower-case hex digits"))
    }
}

fn parse_id(field: &str, text: &Option<String>) -> Result<Option<u16>, String> {
    text.as_deref()
        // four hex digits always fit
        .map(|t| parse_hex(field, t, 4).map(|v| v as u16))
        .transpose()
}

/// `00-1b-21-ff-ff-2b-46-e0`, as [`format_serial`] writes it.
fn parse_serial(text: &str) -> Result<u64, String> {
    let bytes: Vec<&str> = text.split('-').collect();
    let bad = || format!("serial: {text:?} is not 8 lower-case hex bytes joined by '-'");
    if bytes.len() != 8 {
        return Err(bad());
    }
    let mut v = 0u64;
    for b in bytes {
        v = v << 8 | u64::from(parse_hex("serial", b, 2).map_err(|_| bad())?);
    }
    Ok(v)
}

fn check_address(field: &str, text: &str) -> Result<(), String> {
    if crate::scan::pci::is_pci_address(text) {
        Ok(())
    } else {
        Err(format!("{field}: {text:?} is not a PCI address (DDDD:BB:DD.F)"))
    }
}

/// The note detect writes when config space is too short to walk.
const SHORT_CONFIG: (&str, &str) = (
    "config space is ",
    " bytes to this reader: SR-IOV capability not checked",
);
const TRUNCATED: &str = "the SR-IOV capability is cut short by the end of config space";
const LOOPED: &str = "the extended capability chain loops (lspci: <chain looped>)";
const BEHIND_LOW_NEXT: &str = "the SR-IOV capability sits behind a `next` pointer below 0x100";

impl TryFrom<Recorded> for Device {
    type Error = String;

    /// What detect does not write as a field (whether config space was
    /// readable and its size, a truncated capability, a looping chain, a
    /// capability the kernel cannot reach) is read back from the notes and
    /// the hint it does write; the status computed from the result must be
    /// the recorded one, so the plan sees the function as detect saw it.
    fn try_from(r: Recorded) -> Result<Self, String> {
        check_address("address", &r.address)?;
        for (i, vf) in r.vfs.iter().enumerate() {
            check_address(&format!("vfs[{i}]"), vf)?;
        }
        // `physfn` is the basename of the link, whatever it names (as `driver`).
        let capability = match &r.capability {
            None => None,
            Some(c) => Some(SriovCapability {
                offset: c.offset,
                version: c.version,
                initial_vfs: c.initial_vfs,
                total_vfs: c.total_vfs,
                num_vfs: c.num_vfs,
                vf_enabled: c.vf_enabled,
                vf_offset: c.vf_offset,
                vf_stride: c.vf_stride,
                vf_device_id: parse_id("capability.vf_device_id", &Some(c.vf_device_id.clone()))?
                    .unwrap_or_default(),
                kernel_reachable: !r.hint.starts_with(BEHIND_LOW_NEXT),
            }),
        };
        let kernel = match &r.kernel {
            None => None,
            Some(k) => Some(KernelSriov {
                total_vfs: k.total_vfs,
                num_vfs: k.num_vfs,
                vf_offset: k.vf_offset,
                vf_stride: k.vf_stride,
                vf_device_id: parse_id("kernel.vf_device_id", &k.vf_device_id)?,
                drivers_autoprobe: k.drivers_autoprobe,
            }),
        };
        let config_size = r.notes.iter().find_map(|n| {
            n.strip_prefix(SHORT_CONFIG.0)
                .and_then(|n| n.strip_suffix(SHORT_CONFIG.1))
                .and_then(|n| n.parse::<u64>().ok())
        });
        let d = Device {
            vendor_id: parse_id("vendor_id", &r.vendor_id)?,
            device_id: parse_id("device_id", &r.device_id)?,
            class: r.class.as_deref().map(|c| parse_hex("class", c, 6)).transpose()?,
            driver: r.driver,
            interfaces: r.interfaces,
            numa_node: r.numa_node,
            iommu_group: r.iommu_group,
            physfn: r.physfn,
            mac: r.mac,
            speed_mbps: None,
            config_size,
            capability_kernel_unreachable: capability.is_some_and(|c| !c.kernel_reachable),
            capability,
            capability_truncated: r.notes.iter().any(|n| n == TRUNCATED),
            chain_looped: r.notes.iter().any(|n| n == LOOPED),
            config_readable: r.status != Status::ConfigUnreadable.as_str() && config_size.is_none(),
            serial: r.serial.as_deref().map(parse_serial).transpose()?,
            kernel,
            vfs: r.vfs,
            address: r.address,
        };
        if d.status().as_str() != r.status {
            return Err(format!(
                "status: {:?}, but its fields give {:?} (edited, or not written by detect)",
                r.status,
                d.status().as_str()
            ));
        }
        Ok(d)
    }
}

/// Reads one entry of detect's `devices` (docs/commands.md, "JSON output"); an error
/// names the function's address and the field.
impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = Recorded::deserialize(d)?;
        let address = r.address.clone();
        Device::try_from(r).map_err(|e| D::Error::custom(format!("device {address}: {e}")))
    }
}

/// The whole of `detect --format json`: `{"devices": [...]}`.
#[derive(Deserialize)]
pub(crate) struct Detected {
    pub(crate) devices: Vec<Device>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Device → detect's JSON → Device → JSON: the same bytes, and the same Device.
    fn round_trip(d: &Device) {
        let json = serde_json::to_string_pretty(d).unwrap();
        let back: Device = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
        assert_eq!(back.status(), d.status());
    }

    fn pf() -> Device {
        Device {
            address: "0000:01:00.0".into(),
            vendor_id: Some(0x8086),
            device_id: Some(0x10c9),
            class: Some(0x020000),
            driver: Some("igb".into()),
            interfaces: vec!["eth0".into()],
            numa_node: Some(1),
            iommu_group: Some(6),
            mac: Some("52:54:00:12:34:56".into()),
            config_size: Some(4096),
            capability: Some(SriovCapability {
                offset: 0x160,
                version: 1,
                initial_vfs: 8,
                total_vfs: 8,
                num_vfs: 0,
                vf_enabled: false,
                vf_offset: 128,
                vf_stride: 2,
                vf_device_id: 0x10ca,
                kernel_reachable: true,
            }),
            config_readable: true,
            serial: Some(0x001b_21ff_ff2b_46e0),
            kernel: Some(KernelSriov {
                total_vfs: Some(7),
                num_vfs: Some(0),
                vf_offset: Some(128),
                vf_stride: Some(2),
                vf_device_id: Some(0x10ca),
                drivers_autoprobe: Some(true),
            }),
            ..Device::default()
        }
    }

    #[test]
    fn every_status_and_note_reads_back_as_written() {
        let mut cases = vec![pf()];
        // VFs enabled, a VF, no driver, mlx4, mlx5
        cases.push(Device {
            vfs: vec!["0000:01:10.0".into(), "0000:01:10.2".into()],
            kernel: Some(KernelSriov {
                num_vfs: Some(2),
                ..pf().kernel.unwrap()
            }),
            ..pf()
        });
        cases.push(Device {
            address: "0000:01:10.0".into(),
            physfn: Some("0000:01:00.0".into()),
            capability: None,
            kernel: None,
            serial: None,
            mac: None,
            ..pf()
        });
        cases.push(Device { driver: None, ..pf() });
        cases.push(Device {
            driver: Some("mlx4_core".into()),
            ..pf()
        });
        cases.push(Device {
            driver: Some("mlx5_core".into()),
            ..pf()
        });
        // config space unreadable to a non-root reader, with and without VFs
        let short = Device {
            capability: None,
            config_readable: false,
            config_size: Some(64),
            ..pf()
        };
        cases.push(short.clone());
        cases.push(Device {
            kernel: Some(KernelSriov {
                num_vfs: Some(1),
                ..pf().kernel.unwrap()
            }),
            vfs: vec!["0000:01:10.0".into()],
            ..short
        });
        // a truncated capability, a looping chain, a capability only lspci reaches
        cases.push(Device {
            capability: None,
            capability_truncated: true,
            kernel: None,
            ..pf()
        });
        cases.push(Device {
            chain_looped: true,
            ..pf()
        });
        cases.push(Device {
            capability: pf().capability.map(|c| SriovCapability {
                kernel_reachable: false,
                ..c
            }),
            capability_kernel_unreachable: true,
            kernel: None,
            ..pf()
        });
        // every id unknown, nothing but the address
        cases.push(Device {
            address: "0000:02:00.0".into(),
            kernel: Some(KernelSriov::default()),
            ..Device::default()
        });
        let statuses: std::collections::BTreeSet<&str> = cases.iter().map(|d| d.status().as_str()).collect();
        assert_eq!(statuses.len(), 8, "{statuses:?}");
        for d in &cases {
            round_trip(d);
        }
    }

    #[test]
    fn what_detect_does_not_write_is_refused_with_the_field() {
        let json = serde_json::to_value(pf()).unwrap();
        let err = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = json.clone();
            f(&mut v);
            serde_json::from_value::<Device>(v).unwrap_err().to_string()
        };
        assert_eq!(
            err(&|v| v["vendor_id"] = "80G6".into()),
            "device 0000:01:00.0: vendor_id: \"80G6\" is not 4 lower-case hex digits"
        );
        assert_eq!(
            err(&|v| v["status"] = "vfs-enabled".into()),
            "device 0000:01:00.0: status: \"vfs-enabled\", but its fields give \"ready\" (edited, or not written by detect)"
        );
        assert_eq!(
            err(&|v| v["serial"] = "00-1b".into()),
            "device 0000:01:00.0: serial: \"00-1b\" is not 8 lower-case hex bytes joined by '-'"
        );
        assert_eq!(
            err(&|v| v["vfs"] = serde_json::json!(["01:10.0"])),
            "device 0000:01:00.0: vfs[0]: \"01:10.0\" is not a PCI address (DDDD:BB:DD.F)"
        );
        assert_eq!(
            err(&|v| {
                v.as_object_mut().unwrap().remove("kernel");
            }),
            "missing field `kernel`"
        );
        assert_eq!(
            err(&|v| v["capability"]["total_vfs"] = "8".into()),
            "invalid type: string \"8\", expected u16"
        );
        // a field a later version adds is ignored, at any level
        let mut v = json.clone();
        v["capability"]["added_in_9"] = 1.into();
        v["kernel"]["added_in_9"] = 1.into();
        v["vf_settings"] = serde_json::Value::Null;
        v["added_in_9"] = 1.into();
        // (the size of config space is not written when it was readable)
        let want = Device {
            config_size: None,
            ..pf()
        };
        assert_eq!(serde_json::from_value::<Device>(v).unwrap(), want);
    }
}
