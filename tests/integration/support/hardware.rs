//! The hardware of a test node: the Rust catalogue the tests build by hand
//! (`igb()`, `x710()`, `mgmt()`, …) and the description file each in/out
//! case carries, `in/hardware.yaml`, both built into a fake sysfs with
//! [`super::tree`] and [`super::space`].
//!
//! A description lists the node's PCI functions:
//!
//! ```yaml
//! functions:
//!   - address: "0000:01:00.0"   # required: domain:bus:device.function
//!     ids: "8086:10c9"          # required: vendor:device, 4 hex digits each
//!     class: "020000"           # 6 hex digits; default 020000 (Ethernet)
//!     driver: igb               # the bound driver; none when absent
//!     ifname: ens1f0            # the netdev (with `mac`); none when absent
//!     mac: "52:54:00:12:34:01"
//!     mtu: 1500                 # writes net/<ifname>/mtu
//!     serial: "00-1b-21-ff-ff-2b-46-e0"   # Device Serial Number, as lspci shows it
//!     sriov:                    # the SR-IOV capability and the kernel's sriov_* files
//!       vf_device: "10ca"       # required
//!       total_vfs: 8            # required: the capability's TotalVFs
//!       kernel_total_vfs: 7     # required: sriov_totalvfs (what the driver allows)
//!       num_vfs: 0              # default 0
//!       vf_offset: 128          # default 128
//!       vf_stride: 2            # default 2
//!       vfs:                    # the enabled VFs as PCI functions (num_vfs of them)
//!         - {address: "0000:01:10.0", driver: igbvf}
//! ```
//!
//! Unknown keys, a missing required key or a value of the wrong shape fail
//! with the file and the field named (`functions[1].sriov.vf_device: …`).

use std::path::Path;

use serde::Deserialize;

use super::space::{EXT_DSN, Space, SriovFields};
use super::tree::{Function, KernelSriov, Tree};

/// A PF with SR-IOV: PCIe, optional Device Serial Number at 0x100, SR-IOV
/// at 0x140 (at 0x100 without a serial number).
pub(crate) struct Nic {
    pub address: String,
    pub ids: (u16, u16),
    pub class: u32,
    pub vf_device: u16,
    pub driver: Option<String>,
    pub ifname: Option<String>,
    pub mac: String,
    /// (capability TotalVFs, kernel sriov_totalvfs)
    pub total: (u16, u16),
    pub num_vfs: u16,
    pub vf_offset: u16,
    pub vf_stride: u16,
    pub serial: Option<u64>,
}

impl Nic {
    pub(crate) fn function(&self) -> Function {
        let (vendor, device) = self.ids;
        let mut space = Space::pcie(vendor, device, self.class);
        let sriov_at = if let Some(serial) = self.serial {
            space = space.ext(0x100, EXT_DSN, 1, 0x140);
            space.0[0x104..0x10c].copy_from_slice(&serial.to_le_bytes());
            0x140
        } else {
            0x100
        };
        let fields = SriovFields {
            initial_vfs: self.total.0,
            total_vfs: self.total.0,
            num_vfs: self.num_vfs,
            vf_enabled: self.num_vfs > 0,
            vf_offset: self.vf_offset,
            vf_stride: self.vf_stride,
            vf_device: self.vf_device,
        };
        let mut f = Function::new(&self.address, space.sriov(sriov_at, 0, fields).bytes()).kernel_sriov(
            KernelSriov::new(
                self.total.1,
                self.num_vfs,
                self.vf_offset,
                self.vf_stride,
                self.vf_device,
            ),
        );
        if let Some(d) = &self.driver {
            f = f.driver(d);
        }
        if let Some(i) = &self.ifname {
            f = f.interface(i, &self.mac);
        }
        f
    }
}

/// An Intel 82576 port (igb): 8 VFs in the capability, 7 allowed by the driver.
pub(crate) fn igb(address: &str, ifname: &str, mac: &str) -> Nic {
    Nic {
        address: address.to_owned(),
        ids: (0x8086, 0x10c9),
        class: 0x020000,
        vf_device: 0x10ca,
        driver: Some("igb".to_owned()),
        ifname: Some(ifname.to_owned()),
        mac: mac.to_owned(),
        total: (8, 7),
        num_vfs: 0,
        vf_offset: 128,
        vf_stride: 2,
        serial: None,
    }
}

/// An Intel X710 port (i40e) with a Device Serial Number: 64 VFs.
pub(crate) fn x710(address: &str, ifname: &str, mac: &str, serial: u64) -> Nic {
    Nic {
        address: address.to_owned(),
        ids: (0x8086, 0x1572),
        vf_device: 0x154c,
        driver: Some("i40e".to_owned()),
        total: (64, 64),
        serial: Some(serial),
        ..igb(address, ifname, mac)
    }
}

/// The management NIC of the hand-built trees: an onboard e1000e without SR-IOV.
pub(crate) fn mgmt() -> Function {
    Function::new("0000:00:19.0", Space::pcie(0x8086, 0x10d3, 0x020000).bytes())
        .driver("e1000e")
        .interface("eno1", "52:54:00:00:00:01")
}

/// A PF with its link MTU as the kernel shows it (sriov-network-operator's daemon reads it).
pub(crate) fn with_mtu(nic: &Nic) -> Function {
    let ifname = nic.ifname.as_deref().expect("with_mtu: the NIC has a netdev");
    nic.function().file(&format!("net/{ifname}/mtu"), "1500\n")
}

/// The fake sysfs of the in/out case `tests/cases/<command>/<name>`
/// (`case` is `"<command>/<name>"`), from its `in/hardware.yaml`.
pub(crate) fn case(case: &str) -> Tree {
    let file = super::cases::root().join(case).join("in/hardware.yaml");
    load(&file).unwrap_or_else(|e| panic!("{e}"))
}

/// Read a description file; an error names the file and the field.
pub(crate) fn load(file: &Path) -> Result<Tree, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// The description as written; every key known (`deny_unknown_fields`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Description {
    functions: Vec<Described>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Described {
    address: String,
    ids: String,
    class: Option<String>,
    driver: Option<String>,
    ifname: Option<String>,
    mac: Option<String>,
    mtu: Option<u32>,
    serial: Option<String>,
    sriov: Option<DescribedSriov>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DescribedSriov {
    vf_device: String,
    total_vfs: u16,
    kernel_total_vfs: u16,
    #[serde(default)]
    num_vfs: u16,
    vf_offset: Option<u16>,
    vf_stride: Option<u16>,
    vfs: Option<Vec<DescribedVf>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DescribedVf {
    address: String,
    driver: Option<String>,
}

/// Parse a description's text into the tree it describes.
pub(crate) fn parse(text: &str) -> Result<Tree, String> {
    let d: Description = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    if d.functions.is_empty() {
        return Err("functions: empty (a node has at least one PCI function)".into());
    }
    let mut tree = Tree::new();
    let mut seen: Vec<String> = vec![];
    for (i, f) in d.functions.iter().enumerate() {
        let at = format!("functions[{i}]");
        let (function, vfs) = build(f, &at)?;
        for a in std::iter::once(&function.address).chain(vfs.iter().map(|v| &v.address)) {
            if seen.contains(a) {
                return Err(format!("{at}: address {a:?} appears twice"));
            }
            seen.push(a.clone());
        }
        let pf = function.address.clone();
        let vf_addresses: Vec<String> = vfs.iter().map(|v| v.address.clone()).collect();
        tree = tree.function(function);
        for vf in vfs {
            tree = tree.function(vf);
        }
        if !vf_addresses.is_empty() {
            let refs: Vec<&str> = vf_addresses.iter().map(String::as_str).collect();
            tree = tree.link_vfs(&pf, &refs);
        }
    }
    Ok(tree)
}

/// One described function (and its VFs) as tree functions.
fn build(f: &Described, at: &str) -> Result<(Function, Vec<Function>), String> {
    address(&f.address, &format!("{at}.address"))?;
    let ids = ids(&f.ids, &format!("{at}.ids"))?;
    let class = match &f.class {
        Some(c) => hex::<u32>(c, 6, &format!("{at}.class"), "a class code like \"020000\"")?,
        None => 0x020000,
    };
    let (ifname, mac) = match (&f.ifname, &f.mac) {
        (Some(i), Some(m)) => {
            if i.is_empty() || i.contains('/') {
                return Err(format!("{at}.ifname: {i:?} is not an interface name"));
            }
            mac_address(m, &format!("{at}.mac"))?;
            (Some(i.clone()), m.clone())
        }
        (None, None) => (None, String::new()),
        (Some(_), None) => return Err(format!("{at}.mac: missing (an interface has a MAC address)")),
        (None, Some(_)) => {
            return Err(format!(
                "{at}.ifname: missing (a MAC address belongs to an interface)"
            ));
        }
    };
    let serial = f
        .serial
        .as_deref()
        .map(|s| serial_number(s, &format!("{at}.serial")))
        .transpose()?;
    let mut vfs = vec![];
    let function = match &f.sriov {
        Some(s) => {
            let at = format!("{at}.sriov");
            let vf_device = hex::<u16>(
                &s.vf_device,
                4,
                &format!("{at}.vf_device"),
                "a device id like \"10ca\"",
            )?;
            if s.kernel_total_vfs > s.total_vfs {
                return Err(format!(
                    "{at}.kernel_total_vfs: {} is more than the capability's total_vfs {}",
                    s.kernel_total_vfs, s.total_vfs
                ));
            }
            if s.num_vfs > s.kernel_total_vfs {
                return Err(format!(
                    "{at}.num_vfs: {} is more than kernel_total_vfs {}",
                    s.num_vfs, s.kernel_total_vfs
                ));
            }
            if let Some(listed) = &s.vfs {
                if listed.len() != usize::from(s.num_vfs) {
                    return Err(format!(
                        "{at}.vfs: {} listed, but num_vfs is {}",
                        listed.len(),
                        s.num_vfs
                    ));
                }
                for (j, vf) in listed.iter().enumerate() {
                    address(&vf.address, &format!("{at}.vfs[{j}].address"))?;
                    let mut v = Function::new(&vf.address, Space::pcie(0xffff, 0xffff, class).bytes())
                        .ids(ids.0, vf_device)
                        .class(class);
                    if let Some(d) = &vf.driver {
                        v = v.driver(d);
                    }
                    vfs.push(v);
                }
            }
            Nic {
                address: f.address.clone(),
                ids,
                class,
                vf_device,
                driver: f.driver.clone(),
                ifname: ifname.clone(),
                mac,
                total: (s.total_vfs, s.kernel_total_vfs),
                num_vfs: s.num_vfs,
                vf_offset: s.vf_offset.unwrap_or(128),
                vf_stride: s.vf_stride.unwrap_or(2),
                serial,
            }
            .function()
        }
        None => {
            let mut space = Space::pcie(ids.0, ids.1, class);
            if let Some(serial) = serial {
                space = space.ext(0x100, EXT_DSN, 1, 0);
                space.0[0x104..0x10c].copy_from_slice(&serial.to_le_bytes());
            }
            let mut f2 = Function::new(&f.address, space.bytes());
            if let Some(d) = &f.driver {
                f2 = f2.driver(d);
            }
            if let Some(i) = &ifname {
                f2 = f2.interface(i, &mac);
            }
            f2
        }
    };
    let function = match (f.mtu, &ifname) {
        (Some(mtu), Some(i)) => function.file(&format!("net/{i}/mtu"), format!("{mtu}\n")),
        (Some(_), None) => return Err(format!("{at}.mtu: set, but the function has no ifname")),
        (None, _) => function,
    };
    Ok((function, vfs))
}

fn address(text: &str, field: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_hexdigit);
    let ok = b.len() == 12
        && hex(0..4)
        && b[4] == b':'
        && hex(5..7)
        && b[7] == b':'
        && hex(8..10)
        && b[10] == b'.'
        && (b'0'..=b'7').contains(&b[11])
        && !text.bytes().any(|c| c.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field}: {text:?} is not a PCI address like \"0000:3b:00.0\" (lower-case hex)"
        ))
    }
}

fn ids(text: &str, field: &str) -> Result<(u16, u16), String> {
    let what = "vendor:device like \"8086:10c9\"";
    let (v, d) = text
        .split_once(':')
        .ok_or_else(|| format!("{field}: {text:?} is not {what}"))?;
    Ok((hex(v, 4, field, what)?, hex(d, 4, field, what)?))
}

/// `digits` hex digits (no prefix) as a number.
fn hex<T: TryFrom<u64>>(text: &str, digits: usize, field: &str, what: &str) -> Result<T, String> {
    let bad = || format!("{field}: {text:?} is not {what} ({digits} hex digits)");
    if text.len() != digits || !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let n = u64::from_str_radix(text, 16).map_err(|_| bad())?;
    T::try_from(n).map_err(|_| bad())
}

fn mac_address(text: &str, field: &str) -> Result<(), String> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|c| c.is_ascii_hexdigit()))
    {
        Ok(())
    } else {
        Err(format!(
            "{field}: {text:?} is not a MAC address like \"52:54:00:12:34:01\""
        ))
    }
}

/// lspci's form of a Device Serial Number: 8 bytes, most significant first.
fn serial_number(text: &str, field: &str) -> Result<u64, String> {
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() != 8
        || !parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(format!(
            "{field}: {text:?} is not a serial number as lspci shows it, like \"00-1b-21-ff-ff-2b-46-e0\""
        ));
    }
    u64::from_str_radix(&parts.concat(), 16).map_err(|e| format!("{field}: {text:?}: {e}"))
}

/// The description and the catalogue build the same bytes: an igb, an
/// X710 with its serial number, the management NIC and an NVMe.
#[test]
fn a_description_builds_what_the_catalogue_builds() {
    let described = parse(
        r#"
functions:
  - {address: "0000:00:19.0", ids: "8086:10d3", driver: e1000e, ifname: eno1, mac: "52:54:00:00:00:01"}
  - address: "0000:01:00.0"
    ids: "8086:10c9"
    driver: igb
    ifname: ens1f0
    mac: "52:54:00:12:34:01"
    sriov: {vf_device: "10ca", total_vfs: 8, kernel_total_vfs: 7, num_vfs: 3}
  - address: "0000:3b:00.0"
    ids: "8086:1572"
    driver: i40e
    ifname: ens2f0
    mac: "3c:fd:fe:00:00:01"
    mtu: 1500
    serial: "00-1b-21-ff-ff-2b-46-e0"
    sriov: {vf_device: "154c", total_vfs: 64, kernel_total_vfs: 64}
"#,
    )
    .unwrap();
    let built = Tree::new()
        .function(mgmt())
        .function(
            Nic {
                num_vfs: 3,
                ..igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
            }
            .function(),
        )
        .function(with_mtu(&x710(
            "0000:3b:00.0",
            "ens2f0",
            "3c:fd:fe:00:00:01",
            0x001b21ffff2b46e0,
        )));
    let (a, b) = (described.build(), built.build());
    assert_eq!(super::snapshot(a.path()), super::snapshot(b.path()));
}

/// Each malformed description fails naming the field and the value.
#[test]
fn a_malformed_description_names_the_field() {
    let pf = |extra: &str| {
        format!(
            "functions:\n  - address: \"0000:01:00.0\"\n    ids: \"8086:10c9\"\n    ifname: ens1f0\n    mac: \"52:54:00:12:34:01\"\n{extra}"
        )
    };
    let sriov = |body: &str| pf(&format!("    sriov: {{{body}}}\n"));
    let cases: Vec<(String, &str)> = vec![
        ("functions: []\n".into(), "functions: empty"),
        ("fun: []\n".into(), "unknown field `fun`"),
        (
            "functions:\n  - {ids: \"8086:10c9\"}\n".into(),
            "functions[0]: missing field `address`",
        ),
        (pf("    drivr: igb\n"), "functions[0]: unknown field `drivr`"),
        (
            pf("").replace("0000:01:00.0", "01:00.0"),
            "functions[0].address: \"01:00.0\" is not a PCI address",
        ),
        (
            pf("").replace("8086:10c9", "8086-10c9"),
            "functions[0].ids: \"8086-10c9\" is not vendor:device",
        ),
        (
            pf("").replace("52:54:00:12:34:01", "52:54:00:12:34"),
            "functions[0].mac: \"52:54:00:12:34\" is not a MAC address",
        ),
        (
            pf("").replace("    mac: \"52:54:00:12:34:01\"\n", ""),
            "functions[0].mac: missing",
        ),
        (
            pf("    serial: \"001b21ffff2b46e0\"\n"),
            "functions[0].serial: \"001b21ffff2b46e0\" is not a serial number",
        ),
        (
            pf("    class: \"0200\"\n"),
            "functions[0].class: \"0200\" is not a class code",
        ),
        (
            sriov("vf_device: \"10ca\", total_vfs: 8"),
            "functions[0].sriov: missing field `kernel_total_vfs`",
        ),
        (
            sriov("vf_device: \"10ca\", total_vfs: 8, kernel_total_vfs: 7, num_vfs: eight"),
            "functions[0].sriov.num_vfs: invalid type",
        ),
        (
            sriov("vf_device: \"10ca\", total_vfs: 8, kernel_total_vfs: 9"),
            "functions[0].sriov.kernel_total_vfs: 9 is more than the capability's total_vfs 8",
        ),
        (
            sriov("vf_device: \"10ca\", total_vfs: 8, kernel_total_vfs: 7, num_vfs: 8"),
            "functions[0].sriov.num_vfs: 8 is more than kernel_total_vfs 7",
        ),
        (
            sriov(
                "vf_device: \"10ca\", total_vfs: 8, kernel_total_vfs: 7, num_vfs: 2, vfs: [{address: \"0000:01:10.0\"}]",
            ),
            "functions[0].sriov.vfs: 1 listed, but num_vfs is 2",
        ),
        (
            sriov(
                "vf_device: \"10ca\", total_vfs: 8, kernel_total_vfs: 7, num_vfs: 1, vfs: [{address: \"0000:01:00.0\"}]",
            ),
            "functions[0]: address \"0000:01:00.0\" appears twice",
        ),
    ];
    for (text, want) in cases {
        let err = match parse(&text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        };
        assert!(err.contains(want), "want {want:?}, got {err:?} for:\n{text}");
    }
    // through a file: the file is named first
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hardware.yaml");
    std::fs::write(&file, pf("    drivr: igb\n")).unwrap();
    let err = load(&file).err().unwrap();
    assert!(
        err.starts_with(&format!(
            "{}: functions[0]: unknown field `drivr`",
            file.display()
        )),
        "{err}"
    );
}
