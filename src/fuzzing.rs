//! Fuzz target bodies, shared by the `cargo fuzz` targets in `fuzz/` and by
//! the stable-Rust replay test (`fuzz/tests/replay.rs`, run by
//! `cargo test --manifest-path fuzz/Cargo.toml` in CI), so the committed
//! corpora are re-checked on every CI run without nightly.
//!
//! Every body takes the raw fuzz input and panics when an invariant breaks.
//! To add a target: write `pub fn NAME(data: &[u8])` here, list it in
//! [`TARGETS`], and add `fuzz/fuzz_targets/NAME.rs` plus its `[[bin]]` entry
//! (see `fuzz/README.md`).
//!
//! Not a stable API: hidden from the docs, used only by the fuzzers and tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::scan::configspace::{self, CONFIG_SPACE_SIZE, EXT_CAP_ID_SRIOV};
use crate::scan::sysfs::{self, ScanOptions};

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/corpus/<name>/` directory) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target. The replay test walks this list, so a target listed here
/// without a corpus directory fails the test (on purpose: commit a seed).
pub const TARGETS: &[Target] = &[
    ("configspace", configspace),
    ("sysfs_attrs", sysfs_attrs),
    ("sysfs_tree", sysfs_tree),
    ("install_config", install_config),
    ("boot_state", boot_state),
];

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Bytes -> [`configspace::scan`], plus the invariants every result must hold.
pub fn configspace(data: &[u8]) {
    let s = configspace::scan(data).expect("a byte slice never fails to read");
    // Only the first 4 KiB exist for the walker.
    let cut = &data[..data.len().min(CONFIG_SPACE_SIZE as usize)];
    assert_eq!(
        configspace::scan(cut).unwrap(),
        s,
        "bytes past 4 KiB changed the result"
    );

    let Some(header) = s.header else {
        assert!(data.len() < 64);
        assert_eq!(s, configspace::CapabilityScan::default());
        return;
    };
    assert!(data.len() >= 64);
    assert_eq!(header.vendor_id, le16(data, 0));
    assert!(header.class < 1 << 24);
    assert!(header.header_type < 0x80);
    if !s.has_express {
        assert!(!s.extended_readable && s.sriov.is_none() && !s.sriov_truncated);
        assert!(s.serial.is_none() && !s.chain_looped);
    }
    if s.extended_readable {
        assert!(cut.len() >= 0x104);
    }
    assert!(
        !(s.sriov.is_some() && s.sriov_truncated),
        "both found and truncated"
    );
    if let Some(c) = s.sriov {
        let at = usize::from(c.offset);
        // lspci follows `next` pointers below 0x100, so the offset may be
        // anywhere; but it is dword aligned and the whole body was read.
        assert_eq!(at % 4, 0, "unaligned SR-IOV offset {at:#x}");
        assert!(at + 0x40 <= CONFIG_SPACE_SIZE as usize && at + 0x40 <= cut.len());
        assert_eq!(le16(cut, at), EXT_CAP_ID_SRIOV);
        assert_eq!(c.version, cut[at + 2] & 0xf);
        assert_eq!(c.total_vfs, le16(cut, at + 0x0e));
        assert_eq!(c.num_vfs, le16(cut, at + 0x10));
        assert_eq!(c.vf_device_id, le16(cut, at + 0x1a));
        if at < 0x100 {
            assert!(!c.kernel_reachable, "kernel never looks below 0x100");
        }
        if at == 0x100 {
            assert!(c.kernel_reachable, "the first extended capability is reachable");
        }
    }
    if s.serial.is_some() || s.sriov.is_some() || s.sriov_truncated || s.chain_looped {
        assert!(
            s.extended_readable,
            "found something past 0x100 without reading 0x100"
        );
    }
    if let Some(serial) = s.serial {
        assert_eq!(configspace::format_serial(serial).len(), 23);
    }
}

/// Bytes -> every sysfs attribute parser, with the round trips that hold.
pub fn sysfs_attrs(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    let strip0x = |s: &str| s.strip_prefix("0x").unwrap_or(s).to_owned();

    if let Some(v) = sysfs::parse_hex_u16(s) {
        let digits = strip0x(s);
        assert!(
            (1..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit()),
            "parse_hex_u16 accepted {s:?}"
        );
        assert_eq!(u16::from_str_radix(&digits, 16).ok(), Some(v));
    }
    if let Some(v) = sysfs::parse_class(s) {
        let digits = s.strip_prefix("0x").expect("parse_class requires 0x");
        assert!(
            (1..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit()),
            "parse_class accepted {s:?}"
        );
        assert!(v < 1 << 24);
    }
    if let Some(v) = sysfs::parse_dec_u16(s) {
        assert!(
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
            "parse_dec_u16 accepted {s:?}"
        );
        let trimmed = s.trim_start_matches('0');
        assert_eq!(if trimmed.is_empty() { "0" } else { trimmed }, v.to_string());
    }
    if crate::scan::pci::is_pci_address(s) {
        check_pci_address(s);
    }

    // Round trips: the forms the kernel prints always parse back.
    let mut n = [0u8; 8];
    let k = data.len().min(8);
    n[..k].copy_from_slice(&data[..k]);
    let v16 = u16::from_le_bytes([n[0], n[1]]);
    let v32 = u32::from_le_bytes([n[0], n[1], n[2], n[3]]);
    assert_eq!(sysfs::parse_hex_u16(&format!("0x{v16:04x}")), Some(v16));
    assert_eq!(sysfs::parse_hex_u16(&format!("{v16:04x}")), Some(v16));
    assert_eq!(sysfs::parse_hex_u16(&format!("{v16:x}")), Some(v16));
    assert_eq!(
        sysfs::parse_class(&format!("0x{:06x}", v32 & 0xff_ffff)),
        Some(v32 & 0xff_ffff)
    );
    assert_eq!(sysfs::parse_dec_u16(&v16.to_string()), Some(v16));
    assert_eq!(sysfs::parse_dec_u16(&(u32::from(v16) + 65536).to_string()), None);
    let (domain, bus, dev, func) = (u32::from_le_bytes([n[4], n[5], n[6], n[7]]), n[0], n[1], n[2]);
    let addr = format!("{domain:04x}:{bus:02x}:{dev:02x}.{func}");
    assert_eq!(
        crate::scan::pci::is_pci_address(&addr),
        dev < 32 && func < 8,
        "{addr}"
    );

    // read_attr: at most 256 bytes of UTF-8, trimmed.
    ATTR_FILE.with(|path| {
        fs::write(path, data).unwrap();
        let read = sysfs::read_attr(path);
        fs::remove_file(path).unwrap();
        match read {
            Ok(Some(v)) => {
                assert!(data.len() <= 256);
                assert_eq!(v, std::str::from_utf8(data).unwrap().trim());
            }
            Ok(None) => panic!("read_attr lost an existing file"),
            Err(_) => assert!(data.len() > 256 || std::str::from_utf8(data).is_err()),
        }
    });
}

fn check_pci_address(s: &str) {
    assert!(s.is_ascii() && (12..=16).contains(&s.len()), "{s:?}");
    let (domain, rest) = s.split_once(':').unwrap();
    let (bus, devfn) = rest.split_once(':').unwrap();
    let (dev, func) = devfn.split_once('.').unwrap();
    let (d, b, v, f) = (
        u32::from_str_radix(domain, 16).unwrap(),
        u8::from_str_radix(bus, 16).unwrap(),
        u8::from_str_radix(dev, 16).unwrap(),
        func.parse::<u8>().unwrap(),
    );
    assert!(v < 32 && f < 8);
    let w = domain.len();
    assert_eq!(format!("{d:0w$x}:{b:02x}:{v:02x}.{f}"), s, "not canonical");
}

/// A fresh scratch path (under `TMPDIR`: point it at a tmpfs such as
/// `/dev/shm` for speed; `scripts/fuzz.sh` does).
fn scratch(kind: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "harvester-sriov-fuzz-{kind}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

thread_local! {
    /// One per thread (the replay test runs threads), reused across runs.
    static ATTR_FILE: PathBuf = scratch("attr");
}

/// Removes a scratch tree even when an assertion unwinds.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---- sysfs_tree: the input format ------------------------------------------
//
// byte 0: flags. bit 0: `ScanOptions::all`.
// byte 1: number of functions, 1 + b % MAX_FUNCS.
// per function: a name byte (< 0xf0: FUNC_NAMES[b % len]; else a fuzz string:
//   length byte, then the bytes; `/` and NUL dropped) and a placement byte
//   (b % 5, see `Placement`).
// then records, until the input or MAX_RECORDS ends:
//   function byte (% count), attribute byte (% ATTRS.len()), kind byte (% 4):
//   0 file: u16 LE length (% 4097), then the contents (clamped to the input)
//   1 directory
//   2 symlink to LINK_TARGETS[next byte % len]
//   3 symlink to a fuzz string (length byte, bytes; kept inside the tree)
//
// The tree lives under a scratch directory; every symlink target is relative
// and stays inside it, so the scan never reads the real system.

const MAX_FUNCS: u8 = 8;
const MAX_RECORDS: usize = 96;

pub const FUNC_NAMES: &[&str] = &[
    "0000:01:00.0",
    "0000:01:10.0",
    "0000:01:10.2",
    "0000:02:00.0",
    "0000:00:1f.0",
    "10000:e1:00.1",
    "0000:01:00.8",
    "0000:01:00.0\n",
    "garbage",
];

pub const ATTRS: &[&str] = &[
    "config",
    "vendor",
    "device",
    "class",
    "sriov_totalvfs",
    "sriov_numvfs",
    "sriov_offset",
    "sriov_stride",
    "sriov_vf_device",
    "sriov_drivers_autoprobe",
    "numa_node",
    "driver",
    "iommu_group",
    "physfn",
    "virtfn0",
    "virtfn1",
    "virtfn10",
    "net",
    "net/eth0",
    "net/eth0/address",
    "net/eth0/speed",
    "net/eth1",
    "virtfn4294967296",
];

/// Relative to a function directory, which is always 4 levels below the root
/// (`bus/pci/devices/X` or `devices/pci0000:00/X`) or deeper.
pub const LINK_TARGETS: &[&str] = &[
    "../../../../bus/pci/drivers/igb",
    "../../../../kernel/iommu_groups/12",
    "../0000:01:10.0",
    "../0000:01:10.2",
    "../0000:01:00.0",
    "../../../../devices/pci0000:00/0000:01:00.0",
    "..",
    ".",
    "missing",
    "config",
    "../../../../bus/pci/devices",
    "../../../../kernel/iommu_groups/-1",
];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A directory in `bus/pci/devices/`.
    Dir = 0,
    /// A symlink to `../../../devices/pci0000:00/<name>`, as real sysfs has.
    Linked = 1,
    /// A symlink to nothing.
    Dangling = 2,
    /// A regular file.
    File = 3,
    /// A symlink to itself (ELOOP).
    Loop = 4,
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
    fn short_string(&mut self) -> &'a [u8] {
        let n = self.byte().unwrap_or(0);
        self.bytes(usize::from(n % 32))
    }
}

fn file_name(raw: &[u8]) -> Vec<u8> {
    let name: Vec<u8> = raw.iter().copied().filter(|&b| b != b'/' && b != 0).collect();
    match name.as_slice() {
        b"" | b"." | b".." => b"x".to_vec(),
        _ => name,
    }
}

/// A relative link target with no `..` component: it stays below the link.
fn inner_target(raw: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = raw
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b"..")
        .collect();
    let joined: Vec<u8> = parts.join(&b'/').into_iter().filter(|&b| b != 0).collect();
    if joined.is_empty() {
        b"missing".to_vec()
    } else {
        joined
    }
}

/// Bytes -> a small sysfs tree in a scratch directory -> [`sysfs::scan`]
/// (both options), which must not panic, must terminate, and must agree with
/// [`configspace::scan`] on every `config` file it read.
pub fn sysfs_tree(data: &[u8]) {
    let root = scratch("tree");
    let _cleanup = Cleanup(root.clone());
    let configs = build_tree(&root, data);
    let all = data.first().is_some_and(|f| f & 1 != 0);
    let devices = root.join("bus/pci/devices");

    let inv = sysfs::scan(&root, ScanOptions { all }).expect("the devices directory exists");
    for w in inv.devices.windows(2) {
        assert!(w[0].address < w[1].address, "not sorted or duplicated");
    }
    for d in &inv.devices {
        assert!(crate::scan::pci::is_pci_address(&d.address));
        if !all {
            assert!(d.capability.is_some() || d.capability_truncated || d.kernel.is_some());
        }
        if let Some(bytes) = configs.get(&devices.join(&d.address).join("config")) {
            let want = configspace::scan(bytes.as_slice()).unwrap();
            assert_eq!(d.config_size, Some(bytes.len() as u64));
            assert_eq!(d.capability, want.sriov, "File and slice readers disagree");
            assert_eq!(d.capability_truncated, want.sriov_truncated);
            assert_eq!(d.chain_looped, want.chain_looped);
            assert_eq!(d.serial, want.serial);
        }
        // Everything downstream of the scan must cope with what it found.
        let _ = (d.status(), d.hint(), d.notes(), d.vendor_name(), d.device_name());
    }
    let _ = crate::report::table(&inv.devices);
    let json = crate::report::json(&inv.devices, &Default::default()).unwrap();
    // detect's JSON reads back (fleet-check) as the same functions, byte for byte.
    assert_eq!(detect_json_round_trip(&json).as_deref(), Ok(json.as_str()));
}

/// `detect --format json` output → the functions it lists → that JSON again
/// (`vf_settings` are not read back: `null`), as `fleet-check` reads a node's
/// file; the error `fleet-check` would print for a file it refuses. For the
/// round-trip tests (`tests/integration/fleet.rs`) and [`sysfs_tree`].
pub fn detect_json_round_trip(json: &str) -> Result<String, String> {
    let d: crate::scan::device::Detected = serde_json::from_str(json).map_err(|e| e.to_string())?;
    crate::report::json(&d.devices, &Default::default()).map_err(|e| e.to_string())
}

/// Build the tree; returns the contents of every `config` written as a
/// regular file, by the path the scan reads it through.
fn build_tree(root: &Path, data: &[u8]) -> HashMap<PathBuf, Vec<u8>> {
    let mut c = Cursor(data);
    let _flags = c.byte();
    let devices = root.join("bus/pci/devices");
    let real = root.join("devices/pci0000:00");
    for dir in [
        &devices,
        &real,
        &root.join("bus/pci/drivers/igb"),
        &root.join("kernel/iommu_groups/12"),
    ] {
        fs::create_dir_all(dir).unwrap();
    }
    let count = 1 + c.byte().unwrap_or(0) % MAX_FUNCS;
    let mut funcs: Vec<PathBuf> = vec![];
    for _ in 0..count {
        let b = c.byte().unwrap_or(0);
        let name = if b < 0xf0 {
            FUNC_NAMES[usize::from(b) % FUNC_NAMES.len()].as_bytes().to_vec()
        } else {
            file_name(c.short_string())
        };
        let name = OsStr::from_bytes(&name);
        let path = devices.join(name);
        let _ = match c.byte().unwrap_or(0) % 5 {
            0 => fs::create_dir(&path),
            1 => fs::create_dir(real.join(name)).and_then(|()| {
                std::os::unix::fs::symlink(Path::new("../../../devices/pci0000:00").join(name), &path)
            }),
            2 => std::os::unix::fs::symlink("../nowhere", &path),
            3 => fs::write(&path, b"0x8086\n"),
            _ => std::os::unix::fs::symlink(name, &path),
        };
        funcs.push(path);
    }
    let mut configs = HashMap::new();
    for _ in 0..MAX_RECORDS {
        let (Some(f), Some(a), Some(kind)) = (c.byte(), c.byte(), c.byte()) else {
            break;
        };
        let path = funcs[usize::from(f) % funcs.len()].join(ATTRS[usize::from(a) % ATTRS.len()]);
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        match kind % 4 {
            0 => {
                let len =
                    usize::from(u16::from_le_bytes([c.byte().unwrap_or(0), c.byte().unwrap_or(0)]) % 4097);
                let body = c.bytes(len);
                // Never write through a symlink: it would alias another file.
                let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
                if !is_link && fs::write(&path, body).is_ok() && path.ends_with("config") {
                    configs.insert(path, body.to_vec());
                }
            }
            1 => {
                let _ = fs::create_dir(&path);
            }
            2 => {
                let t = LINK_TARGETS[usize::from(c.byte().unwrap_or(0)) % LINK_TARGETS.len()];
                let _ = std::os::unix::fs::symlink(t, &path);
            }
            _ => {
                let t = inner_target(c.short_string());
                let _ = std::os::unix::fs::symlink(OsStr::from_bytes(&t), &path);
            }
        }
    }
    configs
}

/// Encodes a `sysfs_tree` input (for seed corpora).
#[derive(Default)]
pub struct TreeInput {
    all: bool,
    funcs: Vec<(String, Placement)>,
    records: Vec<u8>,
}

impl TreeInput {
    pub fn new(all: bool) -> Self {
        Self {
            all,
            ..Self::default()
        }
    }

    /// Add a function (a name from [`FUNC_NAMES`] or any other); returns its index.
    pub fn function(&mut self, name: &str, placement: Placement) -> u8 {
        self.funcs.push((name.to_owned(), placement));
        (self.funcs.len() - 1) as u8
    }

    fn head(&mut self, func: u8, attr: &str, kind: u8) {
        let a = ATTRS.iter().position(|x| *x == attr).expect("a known attribute");
        self.records.extend([func, a as u8, kind]);
    }

    pub fn file(&mut self, func: u8, attr: &str, body: &[u8]) {
        self.head(func, attr, 0);
        let body = &body[..body.len().min(4096)];
        self.records.extend((body.len() as u16).to_le_bytes());
        self.records.extend(body);
    }

    pub fn dir(&mut self, func: u8, attr: &str) {
        self.head(func, attr, 1);
    }

    /// A symlink; the target is one of [`LINK_TARGETS`] when listed there,
    /// else a string kept inside the tree.
    pub fn link(&mut self, func: u8, attr: &str, target: &str) {
        match LINK_TARGETS.iter().position(|t| *t == target) {
            Some(i) => {
                self.head(func, attr, 2);
                self.records.push(i as u8);
            }
            None => {
                self.head(func, attr, 3);
                let t = &target.as_bytes()[..target.len().min(31)];
                self.records.push(t.len() as u8);
                self.records.extend(t);
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![u8::from(self.all), (self.funcs.len().max(1) - 1) as u8];
        for (name, placement) in &self.funcs {
            match FUNC_NAMES.iter().position(|n| n == name) {
                Some(i) => out.push(i as u8),
                None => {
                    out.push(0xff);
                    out.push(name.len().min(31) as u8);
                    out.extend(&name.as_bytes()[..name.len().min(31)]);
                }
            }
            out.push(*placement as u8);
        }
        out.extend(&self.records);
        out
    }
}

/// A small fixed inventory for the config and state targets: an igb PF
/// with a serial number, an i40e PF, and an NVMe controller with SR-IOV.
fn inventory() -> Vec<crate::scan::device::Device> {
    use crate::scan::device::{Device, KernelSriov};
    let pf = |address: &str, device_id: u16, driver: &str, ifname: &str, total: u16, vf: u16| Device {
        address: address.into(),
        vendor_id: Some(0x8086),
        device_id: Some(device_id),
        class: Some(0x020000),
        driver: Some(driver.into()),
        interfaces: vec![ifname.into()],
        mac: Some(format!("52:54:00:00:00:{device_id:02x}")),
        config_readable: true,
        kernel: Some(KernelSriov {
            total_vfs: Some(total),
            num_vfs: Some(0),
            vf_offset: Some(128),
            vf_stride: Some(2),
            vf_device_id: Some(vf),
            drivers_autoprobe: Some(true),
        }),
        ..Device::default()
    };
    let mut igb = pf("0000:01:00.0", 0x10c9, "igb", "eth0", 7, 0x10ca);
    igb.serial = Some(0x001b_21ff_ff2b_46e0);
    let nvme = Device {
        class: Some(0x010802),
        interfaces: vec![],
        ..pf("0000:02:00.0", 0x0010, "nvme", "-", 2, 0x0010)
    };
    vec![
        igb,
        pf("0000:3b:00.0", 0x1572, "i40e", "ens2f0", 64, 0x154c),
        nvme,
    ]
}

/// Text -> [`crate::intent::config::parse`]; when it yields a `sriov` section, the
/// plan, the rendered files (each must parse back as YAML), and the state
/// file read back by `boot` must equal the plan.
pub fn install_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = std::path::Path::new("fuzz.yaml");
    let cfg = match crate::intent::config::parse(file, text) {
        Ok(cfg) => cfg,
        Err(e) => {
            assert!(
                e.to_string().starts_with("fuzz.yaml: "),
                "error does not name the file: {e}"
            );
            return;
        }
    };
    let Some(intent) = cfg.intent() else { return };
    let sriov = &intent.sriov;
    assert!(sriov.num_vfs >= 1 && crate::intent::config::valid_resource_name(&sriov.resource_name));
    let Ok(plan) = crate::plan::build(&inventory(), &intent, "fuzz-node") else {
        return;
    };
    for pf in &plan.pfs {
        assert!(pf.num_vfs <= pf.total_vfs, "{pf:?}");
    }
    let mut all = crate::render::files(&plan, b"binary").expect("the plan renders");
    all.extend(crate::render::materialised(&plan));
    for f in all {
        if f.path.extension().is_some_and(|e| e == "yaml") {
            let text = std::str::from_utf8(&f.contents).expect("rendered YAML is UTF-8");
            for doc in serde_yaml::Deserializer::from_str(text) {
                let parsed: Result<serde_yaml::Value, _> = serde::Deserialize::deserialize(doc);
                assert!(
                    parsed.is_ok(),
                    "{}: rendered YAML does not parse:\n{text}",
                    f.path.display()
                );
            }
        }
    }
    let rendered = crate::state::render(&plan).expect("the state renders");
    let back =
        crate::state::parse(std::path::Path::new("state.json"), &rendered).expect("the state reads back");
    let mut expected = plan.clone();
    expected.notices.clear();
    expected.warnings.clear();
    assert_eq!(back, expected, "the state does not round-trip");
}

/// Text -> [`crate::state::parse`]; an accepted state is rendered
/// again and must read back equal, and locating its PFs never panics.
pub fn boot_state(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = std::path::Path::new("state.yaml");
    let Ok(mut plan) = crate::state::parse(file, text) else {
        return;
    };
    // an older version, migrated, reads back as the current one
    plan.migrated_from = None;
    // the corpus holds older YAML states too; what is rendered now is state.json
    let json = std::path::Path::new("state.json");
    let again = crate::state::parse(json, &crate::state::render(&plan).expect("the state renders"))
        .expect("a rendered state reads back");
    assert_eq!(again, plan, "the state does not round-trip");
    let devices = inventory();
    for pf in &plan.pfs {
        let _ = crate::kernel::locate(pf, &devices);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_input_round_trips_through_the_builder() {
        let mut t = TreeInput::new(true);
        let pf = t.function("0000:01:00.0", Placement::Linked);
        let mut config = vec![0u8; 64];
        config[0] = 0x86;
        config[1] = 0x80;
        t.file(pf, "config", &config);
        t.file(pf, "sriov_totalvfs", b"7\n");
        t.link(pf, "driver", "../../../../bus/pci/drivers/igb");
        t.link(pf, "virtfn0", "../0000:01:10.0");
        let root = scratch("unit");
        let _c = Cleanup(root.clone());
        let configs = build_tree(&root, &t.encode());
        let dir = root.join("bus/pci/devices/0000:01:00.0");
        assert_eq!(configs.get(&dir.join("config")), Some(&config));
        assert_eq!(fs::read(dir.join("sriov_totalvfs")).unwrap(), b"7\n");
        let inv = sysfs::scan(&root, ScanOptions { all: true }).unwrap();
        // The link leads nowhere in this tree: no driver, and a warning naming it.
        assert_eq!(inv.devices[0].driver, None);
        assert!(
            inv.warnings.iter().any(|w| w.contains("0000:01:00.0/driver")),
            "{:?}",
            inv.warnings
        );
        assert_eq!(inv.devices[0].vfs, ["0000:01:10.0"]);
        sysfs_tree(&t.encode());
    }
}
