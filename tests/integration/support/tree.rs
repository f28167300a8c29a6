//! Build fake sysfs trees that both `harvester-sriov detect` and
//! `lspci -A linux-sysfs -O sysfs.path=ROOT/bus/pci` accept (facts §2, §3):
//!
//! - `ROOT/devices/pci0000:00/<addr>/`: a real directory per function with
//!   `config` (exact bytes), `vendor`, `device`, `class`, `irq`, `resource`
//!   and the optional attributes;
//! - `ROOT/bus/pci/devices/<addr>`: relative symlinks into `devices/`;
//! - `class/net/<ifname>` -> the function's `net/<ifname>`, whose `device`
//!   links back to the function, and `subsystem` -> `ROOT/bus/pci` (as the
//!   kernel links them);
//! - `driver` -> `ROOT/bus/pci/drivers/<name>`, `iommu_group` ->
//!   `ROOT/kernel/iommu_groups/<n>`, `virtfnN` / `physfn` -> `../<addr>`.
//!
//! ```ignore
//! let tree = Tree::new()
//!     .function(Function::new("0000:01:00.0", config).driver("igb").interface("eth0", "52:54:00:12:34:56")
//!         .kernel_sriov(KernelSriov::new(7, 0, 128, 2, 0x10ca)))
//!     .function(Function::new("0000:01:10.0", vf_config).ids(0x8086, 0x10ca))
//!     .link_vfs("0000:01:00.0", &["0000:01:10.0"]);
//! let dir = tree.build(); // a TempDir; or tree.write(path)
//! ```
//! Everything a function writes can be replaced afterwards with
//! [`Function::file`], [`Function::dir`] or [`Function::symlink`], to make
//! hostile trees.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// The kernel's SR-IOV attribute values of a PF (`sriov_*` files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KernelSriov {
    pub total_vfs: u16,
    pub num_vfs: u16,
    pub offset: u16,
    pub stride: u16,
    pub vf_device: u16,
    pub drivers_autoprobe: bool,
}

impl KernelSriov {
    pub(crate) fn new(total_vfs: u16, num_vfs: u16, offset: u16, stride: u16, vf_device: u16) -> Self {
        Self {
            total_vfs,
            num_vfs,
            offset,
            stride,
            vf_device,
            drivers_autoprobe: true,
        }
    }
}

/// A directory entry with raw content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    File(Vec<u8>),
    Dir,
    Symlink(PathBuf),
}

/// One PCI function. Unset ids come from the config header.
#[derive(Debug, Clone, Default)]
pub(crate) struct Function {
    pub address: String,
    pub config: Vec<u8>,
    pub vendor: Option<u16>,
    pub device: Option<u16>,
    pub class: Option<u32>,
    pub numa_node: Option<i32>,
    pub iommu_group: Option<u32>,
    pub driver: Option<String>,
    /// (ifname, MAC) under `net/<ifname>/address`.
    pub interfaces: Vec<(String, String)>,
    pub sriov: Option<KernelSriov>,
    pub physfn: Option<String>,
    pub virtfns: Vec<String>,
    /// Written last, replacing whatever is there (relative to the function dir).
    pub overrides: Vec<(String, Entry)>,
}

fn header_u16(config: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*config.get(at)?, *config.get(at + 1)?]))
}

impl Function {
    pub(crate) fn new(address: &str, config: impl Into<Vec<u8>>) -> Self {
        Self {
            address: address.to_owned(),
            config: config.into(),
            ..Self::default()
        }
    }

    pub(crate) fn ids(mut self, vendor: u16, device: u16) -> Self {
        self.vendor = Some(vendor);
        self.device = Some(device);
        self
    }

    pub(crate) fn class(mut self, class: u32) -> Self {
        self.class = Some(class);
        self
    }

    pub(crate) fn numa_node(mut self, node: i32) -> Self {
        self.numa_node = Some(node);
        self
    }

    pub(crate) fn iommu_group(mut self, group: u32) -> Self {
        self.iommu_group = Some(group);
        self
    }

    pub(crate) fn driver(mut self, name: &str) -> Self {
        self.driver = Some(name.to_owned());
        self
    }

    pub(crate) fn interface(mut self, ifname: &str, mac: &str) -> Self {
        self.interfaces.push((ifname.to_owned(), mac.to_owned()));
        self
    }

    pub(crate) fn kernel_sriov(mut self, sriov: KernelSriov) -> Self {
        self.sriov = Some(sriov);
        self
    }

    /// Replace (or add) a file with exact bytes.
    pub(crate) fn file(mut self, name: &str, content: impl Into<Vec<u8>>) -> Self {
        self.overrides
            .push((name.to_owned(), Entry::File(content.into())));
        self
    }

    /// Put a directory where `name` would be.
    pub(crate) fn dir(mut self, name: &str) -> Self {
        self.overrides.push((name.to_owned(), Entry::Dir));
        self
    }

    /// Put a symlink with a literal target at `name`.
    pub(crate) fn symlink(mut self, name: &str, target: impl Into<PathBuf>) -> Self {
        self.overrides
            .push((name.to_owned(), Entry::Symlink(target.into())));
        self
    }

    fn vendor_id(&self) -> u16 {
        self.vendor.or(header_u16(&self.config, 0)).unwrap_or(0xffff)
    }

    fn device_id(&self) -> u16 {
        self.device.or(header_u16(&self.config, 2)).unwrap_or(0xffff)
    }

    fn class_code(&self) -> u32 {
        self.class.unwrap_or_else(|| match self.config.get(9..12) {
            Some(c) => u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16,
            None => 0,
        })
    }

    /// Write the function directory `dir` (inside a tree at `root`).
    fn write(&self, root: &Path, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("config"), &self.config)?;
        fs::write(dir.join("vendor"), format!("0x{:04x}\n", self.vendor_id()))?;
        fs::write(dir.join("device"), format!("0x{:04x}\n", self.device_id()))?;
        fs::write(dir.join("class"), format!("0x{:06x}\n", self.class_code()))?;
        let irq = self.config.get(0x3c).copied().unwrap_or(0);
        fs::write(dir.join("irq"), format!("{irq}\n"))?;
        fs::write(dir.join("resource"), "")?;
        if let Some(rev) = self.config.get(8) {
            fs::write(dir.join("revision"), format!("0x{rev:02x}\n"))?;
        }
        if let (Some(sv), Some(sd)) = (header_u16(&self.config, 0x2c), header_u16(&self.config, 0x2e)) {
            fs::write(dir.join("subsystem_vendor"), format!("0x{sv:04x}\n"))?;
            fs::write(dir.join("subsystem_device"), format!("0x{sd:04x}\n"))?;
        }
        if let Some(node) = self.numa_node {
            fs::write(dir.join("numa_node"), format!("{node}\n"))?;
        }
        // every PCI function's `subsystem` -> the bus (ghw requires it to
        // take a NIC's PCI address)
        symlink("../../../bus/pci", dir.join("subsystem"))?;
        if let Some(driver) = &self.driver {
            fs::create_dir_all(root.join("bus/pci/drivers").join(driver))?;
            symlink(
                Path::new("../../../bus/pci/drivers").join(driver),
                dir.join("driver"),
            )?;
        }
        if let Some(group) = self.iommu_group {
            fs::create_dir_all(root.join("kernel/iommu_groups").join(group.to_string()))?;
            symlink(
                format!("../../../kernel/iommu_groups/{group}"),
                dir.join("iommu_group"),
            )?;
        }
        for (ifname, mac) in &self.interfaces {
            let net = dir.join("net").join(ifname);
            fs::create_dir_all(&net)?;
            fs::write(net.join("address"), format!("{mac}\n"))?;
            // as the kernel links them: net/IF/device -> the function, and
            // class/net/IF -> net/IF (ghw, which pcidevices uses, lists NICs so)
            symlink(format!("../../../{}", self.address), net.join("device"))?;
            fs::create_dir_all(root.join("class/net"))?;
            // two functions may claim one name in a hostile tree: first wins
            match symlink(
                format!("../../devices/pci0000:00/{}/net/{ifname}", self.address),
                root.join("class/net").join(ifname),
            ) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        if let Some(s) = &self.sriov {
            fs::write(dir.join("sriov_totalvfs"), format!("{}\n", s.total_vfs))?;
            fs::write(dir.join("sriov_numvfs"), format!("{}\n", s.num_vfs))?;
            fs::write(dir.join("sriov_offset"), format!("{}\n", s.offset))?;
            fs::write(dir.join("sriov_stride"), format!("{}\n", s.stride))?;
            fs::write(dir.join("sriov_vf_device"), format!("{:04x}\n", s.vf_device))?;
            fs::write(
                dir.join("sriov_drivers_autoprobe"),
                format!("{}\n", u8::from(s.drivers_autoprobe)),
            )?;
        }
        if let Some(pf) = &self.physfn {
            symlink(format!("../{pf}"), dir.join("physfn"))?;
        }
        for (i, vf) in self.virtfns.iter().enumerate() {
            symlink(format!("../{vf}"), dir.join(format!("virtfn{i}")))?;
        }
        for (name, entry) in &self.overrides {
            let path = dir.join(name);
            remove(&path)?;
            write_entry(&path, entry)?;
        }
        Ok(())
    }
}

fn remove(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn write_entry(path: &Path, entry: &Entry) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    match entry {
        Entry::File(bytes) => fs::write(path, bytes),
        Entry::Dir => fs::create_dir_all(path),
        Entry::Symlink(target) => symlink(target, path),
    }
}

/// A whole fake sysfs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub functions: Vec<Function>,
    /// Extra entries in `bus/pci/devices/` (hostile trees).
    pub bus_entries: Vec<(String, Entry)>,
}

impl Tree {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn function(mut self, f: Function) -> Self {
        self.functions.push(f);
        self
    }

    /// Add `virtfnN` links on `pf` and `physfn` links on each VF (the
    /// functions must already be in the tree).
    pub(crate) fn link_vfs(mut self, pf: &str, vfs: &[&str]) -> Self {
        for f in &mut self.functions {
            if f.address == pf {
                f.virtfns = vfs.iter().map(|v| (*v).to_owned()).collect();
            } else if vfs.contains(&f.address.as_str()) {
                f.physfn = Some(pf.to_owned());
            }
        }
        self
    }

    /// An extra entry in `bus/pci/devices/` (e.g. a non-address name or a
    /// dangling symlink).
    pub(crate) fn bus_entry(mut self, name: &str, entry: Entry) -> Self {
        self.bus_entries.push((name.to_owned(), entry));
        self
    }

    /// Write the tree under `root` (created when missing).
    pub(crate) fn write(&self, root: &Path) -> io::Result<()> {
        let devices = root.join("devices/pci0000:00");
        let bus = root.join("bus/pci/devices");
        fs::create_dir_all(&devices)?;
        fs::create_dir_all(&bus)?;
        fs::create_dir_all(root.join("bus/pci/drivers"))?;
        fs::create_dir_all(root.join("bus/pci/slots"))?;
        for f in &self.functions {
            f.write(root, &devices.join(&f.address))?;
            symlink(
                format!("../../../devices/pci0000:00/{}", f.address),
                bus.join(&f.address),
            )?;
        }
        for (name, entry) in &self.bus_entries {
            write_entry(&bus.join(name), entry)?;
        }
        Ok(())
    }

    /// Write the tree into a fresh temporary directory: on `/dev/shm`
    /// (tmpfs, like sysfs an in-memory file system, and 40x faster to
    /// create thousands of small files in) when it is there, else `$TMPDIR`.
    pub(crate) fn build(&self) -> tempfile::TempDir {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("sysfs-tree")
                .tempdir_in(shm)
                .or_else(|_| tempfile::tempdir())
        } else {
            tempfile::tempdir()
        }
        .expect("temporary directory");
        self.write(dir.path()).expect("writing the fake sysfs tree");
        dir
    }
}
