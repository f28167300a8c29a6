//! The kernel view: read PCI functions from a sysfs mount
//! (`ROOT/bus/pci/devices/*`) and parse the SR-IOV attributes of
//! `Documentation/ABI/testing/sysfs-bus-pci`.
//!
//! Nothing here panics on content: a file that cannot be read or parsed
//! becomes `None` plus a warning naming the path; a function that vanishes
//! mid-scan is skipped with a warning.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, open, openat, statat};
use rustix::io::Errno;

use crate::scan::configspace::{self, CapabilityScan};
use crate::scan::device::{Device, KernelSriov};
use crate::scan::pci::is_pci_address;

/// Attribute files are a few bytes; anything longer is garbage.
const MAX_ATTR_LEN: u64 = 256;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ScanError {
    #[error("{path}: cannot list PCI devices (is this a sysfs mount?)")]
    NoDevices { path: PathBuf, source: io::Error },
    #[error(
        "{path}: reading {count} PCI functions ({first}..{last}) failed with a panic ({message}); this is a bug in harvester-sriov, please report it"
    )]
    WorkerPanicked {
        path: PathBuf,
        count: usize,
        first: String,
        last: String,
        message: String,
    },
}

/// What a scan found, and what it had to leave out.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub(crate) devices: Vec<Device>,
    /// One line per file or function that could not be read, naming the path.
    pub(crate) warnings: Vec<String>,
    /// Every network interface in `ROOT/class/net` (PCI or not), as Go's
    /// `net.Interfaces()` lists them for the installer; `None` when that
    /// directory cannot be listed (nothing is then known about them).
    pub(crate) net: Option<Vec<NetInterface>>,
}

/// One entry of `ROOT/class/net`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetInterface {
    pub(crate) name: String,
    /// `address`, lower case, when readable.
    pub(crate) mac: Option<String>,
}

/// `ROOT/class/net/*` with their `address`, sorted by name.
fn net_interfaces(root: &Path) -> Option<Vec<NetInterface>> {
    let dir = root.join("class/net");
    let mut out: Vec<NetInterface> = fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let address = dir.join(&name).join("address");
            // a regular file only: a FIFO planted there must not hang the scan
            let mac = fs::metadata(&address)
                .is_ok_and(|m| m.is_file())
                .then(|| read_attr(&address).ok().flatten())
                .flatten()
                .map(|m| m.to_ascii_lowercase());
            NetInterface { name, mac }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Some(out)
}

/// How much to read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScanOptions {
    /// Read every function in full, not only the SR-IOV physical functions.
    pub(crate) all: bool,
}

/// Read a small attribute file; `Ok(None)` when it does not exist.
pub(crate) fn read_attr(path: &Path) -> io::Result<Option<String>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::with_capacity(16);
    file.take(MAX_ATTR_LEN + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_ATTR_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "longer than 256 bytes",
        ));
    }
    String::from_utf8(buf)
        .map(|s| Some(s.trim().to_owned()))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Basename of a symlink's target (`driver` -> `igb`, `iommu_group` ->
/// `12`, `virtfn0` -> `0000:01:10.0`); `Ok(None)` when there is no link.
pub(crate) fn link_name(path: &Path) -> io::Result<Option<String>> {
    match fs::read_link(path) {
        Ok(t) => Ok(t.file_name().map(|n| n.to_string_lossy().into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// `0x8086` (the `vendor`/`device` form) or `8086` (the `sriov_vf_device` form).
pub(crate) fn parse_hex_u16(s: &str) -> Option<u16> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    // Digits only: `from_str_radix` alone also takes a sign (`0x+1`).
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

/// `0x020000`.
pub(crate) fn parse_class(s: &str) -> Option<u32> {
    let digits = s.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// A decimal count as the kernel prints it (`7`).
pub(crate) fn parse_dec_u16(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Collects warnings while reading one function.
struct Reader<'a> {
    dir: &'a Path,
    /// `ROOT/bus/pci/devices`, opened once per scan, and this function's
    /// name in it: the hot path (every function's `config` and
    /// `sriov_totalvfs`) opens relative to it, so the kernel does not walk
    /// the whole root path again for each of thousands of functions.
    devices: BorrowedFd<'a>,
    address: &'a str,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn text(&mut self, name: &str) -> Option<String> {
        let path = self.path(name);
        match read_attr(&path) {
            Ok(v) => v,
            Err(e) => {
                self.warnings.push(format!("{}: {e}", path.display()));
                None
            }
        }
    }

    fn parsed<T>(&mut self, name: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let raw = self.text(name)?;
        let value = parse(&raw);
        if value.is_none() {
            self.warnings
                .push(format!("{}: {raw:?} is not {what}", self.path(name).display()));
        }
        value
    }

    /// The VF address a `virtfnN` link names (read relative to the devices
    /// directory: a PF can have hundreds of these).
    fn virtfn(&mut self, i: u32) -> Option<String> {
        let name = format!("{}/virtfn{i}", self.address);
        match rustix::fs::readlinkat(self.devices, name.as_str(), Vec::new()) {
            Ok(t) => {
                let t = t.to_string_lossy();
                let addr = t.rsplit('/').next().unwrap_or_default();
                if is_pci_address(addr) {
                    Some(addr.to_owned())
                } else {
                    self.warnings.push(format!(
                        "{}: {t:?} does not name a PCI function",
                        self.path(&format!("virtfn{i}")).display()
                    ));
                    None
                }
            }
            Err(Errno::NOENT) => None,
            Err(e) => {
                self.warnings.push(format!(
                    "{}: {}",
                    self.path(&format!("virtfn{i}")).display(),
                    io::Error::from(e)
                ));
                None
            }
        }
    }

    /// [`link_name`] of the function's `name`, which must lead somewhere:
    /// a dangling or looping link is no driver.
    fn link(&mut self, name: &str) -> Option<String> {
        let path = self.path(name);
        match link_name(&path) {
            Ok(Some(t)) => match fs::metadata(&path) {
                Ok(_) => Some(t),
                Err(e) => {
                    self.warnings.push(format!("{}: {e}", path.display()));
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                self.warnings.push(format!("{}: {e}", path.display()));
                None
            }
        }
    }

    fn dir_names(&mut self, name: &str) -> Vec<String> {
        let path = self.path(name);
        let mut names: Vec<String> = match fs::read_dir(&path) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => vec![],
            Err(e) => {
                self.warnings.push(format!("{}: {e}", path.display()));
                vec![]
            }
        };
        names.sort();
        names
    }

    /// Walk the config space; the open file is returned so its size is
    /// only asked for functions that are listed.
    fn config(&mut self) -> (CapabilityScan, Option<File>) {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let file = match openat(
            self.devices,
            format!("{}/config", self.address),
            flags,
            Mode::empty(),
        ) {
            Ok(fd) => File::from(fd),
            Err(e) => {
                if e != Errno::NOENT {
                    let path = self.path("config");
                    self.warnings
                        .push(format!("{}: {}", path.display(), io::Error::from(e)));
                }
                return (CapabilityScan::default(), None);
            }
        };
        match configspace::scan(&file) {
            Ok(scan) => (scan, Some(file)),
            Err(e) => {
                self.warnings
                    .push(format!("{}: {e}", self.path("config").display()));
                (CapabilityScan::default(), Some(file))
            }
        }
    }

    /// A virtual function (it has a `physfn` link). The PCIe spec does not
    /// let a VF carry an SR-IOV capability, so without `--all` a VF is
    /// skipped on this one lookup, without reading its config space: on a
    /// node with hundreds of VFs enabled that is most of the functions.
    fn is_vf(&self) -> bool {
        statat(
            self.devices,
            format!("{}/physfn", self.address),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .is_ok()
    }

    /// Whether `sriov_totalvfs` exists (the kernel's SR-IOV view).
    fn has_kernel_sriov(&mut self) -> bool {
        let name = format!("{}/sriov_totalvfs", self.address);
        match statat(self.devices, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => true,
            Err(Errno::NOENT) => false,
            Err(e) => {
                self.warnings.push(format!(
                    "{}: {}",
                    self.path("sriov_totalvfs").display(),
                    io::Error::from(e)
                ));
                false
            }
        }
    }
}

/// Scan `root/bus/pci/devices`.
pub(crate) fn scan(root: &Path, opts: ScanOptions) -> Result<Inventory, ScanError> {
    let devices_dir = root.join("bus/pci/devices");
    let listing = fs::read_dir(&devices_dir).map_err(|source| ScanError::NoDevices {
        path: devices_dir.clone(),
        source,
    })?;
    let devices_fd = open(
        &devices_dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ScanError::NoDevices {
        path: devices_dir.clone(),
        source: e.into(),
    })?;
    let mut inv = Inventory {
        net: net_interfaces(root),
        ..Inventory::default()
    };
    let mut addresses = Vec::new();
    for entry in listing {
        match entry {
            Ok(e) => {
                let name = e.file_name().to_string_lossy().into_owned();
                if is_pci_address(&name) {
                    addresses.push(name);
                } else {
                    inv.warnings.push(format!(
                        "{}: not a PCI address, skipped",
                        devices_dir.join(&name).display()
                    ));
                }
            }
            Err(e) => inv.warnings.push(format!("{}: {e}", devices_dir.display())),
        }
    }
    addresses.sort();

    // Reading sysfs is syscall-bound: spread the functions over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = addresses.len().div_ceil(threads).max(64);
    let results = std::thread::scope(|s| {
        let workers: Vec<_> = addresses
            .chunks(chunk)
            .map(|part| {
                let devices_dir = &devices_dir;
                let devices_fd = devices_fd.as_fd();
                let handle = s.spawn(move || {
                    part.iter()
                        .map(|a| read_function(devices_fd, &devices_dir.join(a), a, opts))
                        .collect::<Vec<_>>()
                });
                (part, handle)
            })
            .collect();
        join_workers(&devices_dir, workers)
    })?;
    for (device, warnings) in results {
        inv.warnings.extend(warnings);
        inv.devices.extend(device);
    }
    Ok(inv)
}

/// The results of the scan's workers, in order. A worker that panicked
/// lost its functions: that is an error naming them, never a silently
/// shorter inventory.
fn join_workers<T>(
    devices_dir: &Path,
    workers: Vec<(&[String], std::thread::ScopedJoinHandle<'_, Vec<T>>)>,
) -> Result<Vec<T>, ScanError> {
    let mut out = Vec::new();
    for (part, handle) in workers {
        match handle.join() {
            Ok(results) => out.extend(results),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                return Err(ScanError::WorkerPanicked {
                    path: devices_dir.to_owned(),
                    count: part.len(),
                    first: part.first().cloned().unwrap_or_default(),
                    last: part.last().cloned().unwrap_or_default(),
                    message,
                });
            }
        }
    }
    Ok(out)
}

/// Read one function. `None` when it is not an SR-IOV PF and `opts.all` is
/// off, or when it vanished.
fn read_function(
    devices: BorrowedFd<'_>,
    dir: &Path,
    address: &str,
    opts: ScanOptions,
) -> (Option<Device>, Vec<String>) {
    let mut r = Reader {
        dir,
        devices,
        address,
        warnings: vec![],
    };
    if !opts.all && r.is_vf() {
        return (None, r.warnings);
    }
    let (caps, config_file) = r.config();
    let has_kernel_sriov = r.has_kernel_sriov();
    // Checked before the non-SR-IOV early exit: a function that vanished
    // may have been a PF, so it is reported with or without `--all`.
    if config_file.is_none() && !dir.exists() {
        r.warnings
            .push(format!("{}: vanished during the scan, skipped", dir.display()));
        return (None, r.warnings);
    }
    let capability_seen = caps.sriov.is_some() || caps.sriov_truncated;
    if !opts.all && !capability_seen && !has_kernel_sriov {
        return (None, r.warnings);
    }
    let config_size = config_file.and_then(|f| f.metadata().ok()).map(|m| m.len());

    // Ids: the kernel's attribute files (a VF's own config header reads
    // vendor 0xffff), else the config header.
    let header = caps.header;
    let vendor_id = r
        .parsed("vendor", "a hex vendor id", parse_hex_u16)
        .or(header.map(|h| h.vendor_id));
    let device_id = r
        .parsed("device", "a hex device id", parse_hex_u16)
        .or(header.map(|h| h.device_id));
    let class = r
        .parsed("class", "a hex class code", parse_class)
        .or(header.map(|h| h.class));

    let kernel = has_kernel_sriov.then(|| KernelSriov {
        total_vfs: r.parsed("sriov_totalvfs", "a decimal count", parse_dec_u16),
        num_vfs: r.parsed("sriov_numvfs", "a decimal count", parse_dec_u16),
        vf_offset: r.parsed("sriov_offset", "a decimal number", parse_dec_u16),
        vf_stride: r.parsed("sriov_stride", "a decimal number", parse_dec_u16),
        vf_device_id: r.parsed("sriov_vf_device", "a hex device id", parse_hex_u16),
        drivers_autoprobe: r.parsed("sriov_drivers_autoprobe", "0 or 1", |s| match s {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        }),
    });

    let interfaces = r.dir_names("net");
    let first_if = interfaces.first().cloned();
    let is_pf = capability_seen || has_kernel_sriov;
    let mut vfs: Vec<(u32, String)> = r
        .dir_names(".")
        .into_iter()
        .filter_map(|n| n.strip_prefix("virtfn").and_then(|i| i.parse().ok()))
        .filter_map(|i: u32| r.virtfn(i).map(|a| (i, a)))
        .collect();
    vfs.sort();

    let device = Device {
        address: address.to_owned(),
        vendor_id,
        device_id,
        class,
        driver: r.link("driver"),
        numa_node: r
            .parsed("numa_node", "a NUMA node number", |s| s.parse::<i32>().ok())
            .and_then(|n| u32::try_from(n).ok()),
        iommu_group: r.link("iommu_group").and_then(|g| g.parse().ok()),
        physfn: r.link("physfn"),
        mac: match (&first_if, is_pf) {
            (Some(ifname), true) => r.text(&format!("net/{ifname}/address")),
            _ => None,
        },
        speed_mbps: match (&first_if, is_pf) {
            // The kernel answers EINVAL while the link is down: no speed, no warning.
            (Some(ifname), true) => read_attr(&dir.join(format!("net/{ifname}/speed")))
                .ok()
                .flatten()
                .and_then(|s| s.parse::<u32>().ok()),
            _ => None,
        },
        interfaces,
        config_size,
        capability: caps.sriov,
        capability_truncated: caps.sriov_truncated,
        capability_kernel_unreachable: caps.sriov.is_some_and(|s| !s.kernel_reachable),
        chain_looped: caps.chain_looped,
        config_readable: caps.header.is_some() && !caps.caps_unreadable,
        serial: caps.serial,
        kernel,
        vfs: vfs.into_iter().map(|(_, a)| a).collect(),
    };
    (Some(device), r.warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// detect's JSON of the shipped snapshot reads back (`fleet-check`) as
    /// the same functions, byte for byte.
    #[test]
    fn the_shipped_snapshot_reads_back_as_detect_wrote_it() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/sysfs/qemu-igb-2vfs");
        for all in [false, true] {
            let inv = scan(&root, ScanOptions { all }).unwrap();
            assert!(!inv.devices.is_empty());
            for d in &inv.devices {
                let json = serde_json::to_string_pretty(d).unwrap();
                let back: Device = serde_json::from_str(&json).unwrap();
                assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
                assert_eq!(back.status(), d.status());
            }
        }
    }

    #[test]
    fn addresses() {
        assert!(is_pci_address("0000:01:00.0"));
        assert!(is_pci_address("10000:01:00.0"));
        assert!(!is_pci_address("000:01:00.0"));
        assert!(!is_pci_address("0000:01:00.8"));
        assert!(!is_pci_address("0000:01:20.0"));
        assert!(!is_pci_address("0000:01:00.0\n"));
        assert!(!is_pci_address("0000:01:0G.0"));
        assert!(!is_pci_address("garbage"));
        assert!(!is_pci_address("é000:01:00.0"));
    }

    #[test]
    fn attribute_parsers() {
        assert_eq!(parse_hex_u16("0x8086"), Some(0x8086));
        assert_eq!(parse_hex_u16("10ca"), Some(0x10ca));
        assert_eq!(parse_hex_u16("0x"), None);
        assert_eq!(parse_hex_u16("0x18086"), None);
        assert_eq!(parse_hex_u16("zz"), None);
        assert_eq!(parse_class("0x020000"), Some(0x020000));
        assert_eq!(parse_class("020000"), None);
        assert_eq!(parse_dec_u16("7"), Some(7));
        assert_eq!(parse_dec_u16("-1"), None);
        assert_eq!(parse_dec_u16("65536"), None);
        assert_eq!(parse_dec_u16("+3"), None);
        // Found by the sysfs_attrs fuzzer: a sign slipped through from_str_radix.
        assert_eq!(parse_hex_u16("0x+000"), None);
        assert_eq!(parse_hex_u16("+1"), None);
        assert_eq!(parse_class("0x+20000"), None);
    }

    #[test]
    fn a_worker_that_panics_is_an_error_naming_its_functions() {
        let addresses: Vec<String> = ["0000:01:00.0", "0000:01:00.1", "0000:02:00.0"]
            .map(String::from)
            .to_vec();
        let result = std::thread::scope(|s| {
            let workers = addresses
                .chunks(2)
                .map(|part| {
                    let h = s.spawn(move || {
                        assert!(part.len() == 2, "worker fault injected by the test");
                        part.to_vec()
                    });
                    (part, h)
                })
                .collect();
            join_workers(Path::new("/sys/bus/pci/devices"), workers)
        });
        let err = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("1 PCI functions (0000:02:00.0..0000:02:00.0)")
                && err.contains("worker fault injected by the test"),
            "{err}"
        );
        let ok = std::thread::scope(|s| {
            let workers = addresses
                .chunks(2)
                .map(|part| (part, s.spawn(move || part.to_vec())))
                .collect();
            join_workers(Path::new("/sys/bus/pci/devices"), workers)
        });
        assert_eq!(ok.ok(), Some(addresses.clone()));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,40}") {
            let _ = (parse_hex_u16(&s), parse_class(&s), parse_dec_u16(&s), is_pci_address(&s));
        }
    }
}
