//! The differential test: the real `lspci` (pciutils 3.9, the oracle) and
//! `detect --format json --all` must agree on which functions have an
//! SR-IOV capability and on its field values, for every dump fixture, the
//! real sysfs snapshot, and generated config spaces with odd chains.
//!
//! Field values are compared, never raw text (wording changes between
//! pciutils versions, facts §1).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::detect;
use crate::support::dumps;
use crate::support::repo;
use crate::support::tree::{Function, Tree};

/// What one tool saw of a function's (first) SR-IOV capability.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Cap {
        offset: u16,
        version: u8,
        initial_vfs: u16,
        total_vfs: u16,
        num_vfs: u16,
        vf_enabled: bool,
        vf_offset: u16,
        vf_stride: u16,
        vf_device_id: u16,
    },
    /// Header found, body past the end of the readable config space.
    Unreadable,
}

/// The `lspci` binary; its absence fails the test (no silent skip).
fn lspci_path() -> std::path::PathBuf {
    match which::which("lspci") {
        Ok(p) => p,
        Err(e) if std::env::var_os("CI").is_some() => panic!(
            "lspci not found ({e}) on CI: scripts/test-all.sh installs the Debian package \
             pciutils; the differential test cannot run without its oracle"
        ),
        Err(e) => panic!(
            "lspci not found ({e}): install the Debian package pciutils \
             (apt-get install pciutils) or run scripts/test-all.sh as root"
        ),
    }
}

/// Run lspci -vv on a fake sysfs root.
fn lspci(root: &Path) -> String {
    let out = Command::new(lspci_path())
        .arg("-D")
        .args(["-A", "linux-sysfs", "-O"])
        .arg(format!("sysfs.path={}", root.join("bus/pci").display()))
        .arg("-vv")
        .output()
        .expect("running lspci");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unexpected: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("Unable to load libkmod resources"))
        .collect();
    assert!(
        out.status.success() && unexpected.is_empty(),
        "lspci failed on {}: {}\n{}",
        root.display(),
        out.status,
        unexpected.join("\n")
    );
    // Random config bytes (interrupt pin, ...) can reach the output as is.
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> T {
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("lspci {what}: cannot parse {s:?}"))
}

/// `key: value` out of a `k: v, k: v` line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(", ")
        .find_map(|part| part.trim().strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {key:?} in lspci line {line:?}"))
}

/// Per address, the first SR-IOV capability lspci printed.
fn parse_lspci(text: &str) -> BTreeMap<String, Seen> {
    #[derive(Default)]
    struct Block {
        offset: u16,
        version: u8,
        unreadable: bool,
        enabled: Option<bool>,
        counts: Option<(u16, u16, u16)>,
        vf: Option<(u16, u16, u16)>,
    }
    let mut out = BTreeMap::new();
    let mut addr: Option<String> = None;
    let mut block: Option<Block> = None;
    let mut finish = |addr: &Option<String>, block: &mut Option<Block>| {
        let (Some(a), Some(b)) = (addr, block.take()) else {
            return;
        };
        // lspci 3.9 prints the header line and nothing else when the
        // 0x40-byte body cannot be fetched (newer versions may say
        // `<unreadable>`).
        let bodiless = b.enabled.is_none() && b.counts.is_none() && b.vf.is_none();
        let seen = if b.unreadable || bodiless {
            Seen::Unreadable
        } else {
            let (initial_vfs, total_vfs, num_vfs) = b.counts.expect("Initial VFs line");
            let (vf_offset, vf_stride, vf_device_id) = b.vf.expect("VF offset line");
            Seen::Cap {
                offset: b.offset,
                version: b.version,
                initial_vfs,
                total_vfs,
                num_vfs,
                vf_enabled: b.enabled.expect("IOVCtl line"),
                vf_offset,
                vf_stride,
                vf_device_id,
            }
        };
        out.entry(a.clone()).or_insert(seen);
    };
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) && !line.is_empty() {
            finish(&addr, &mut block);
            addr = line.split(' ').next().map(str::to_owned);
            continue;
        }
        // A standard capability whose decoder prints nothing leaves its
        // `Capabilities: [c8] ` prefix on the next capability's line.
        if let Some(rest) = line
            .starts_with("\tCapabilities: ")
            .then(|| line.rsplit("Capabilities: ").next())
            .flatten()
        {
            finish(&addr, &mut block);
            if rest.contains("Single Root I/O Virtualization (SR-IOV)")
                && let Some(inner) = rest.strip_prefix('[').and_then(|r| r.split_once(']'))
            {
                let (off, ver) = inner
                    .0
                    .split_once(" v")
                    .unwrap_or_else(|| panic!("[off vN] in {line:?}"));
                block = Some(Block {
                    offset: u16::from_str_radix(off, 16).expect("hex offset"),
                    version: num(ver, "version"),
                    ..Block::default()
                });
            }
            continue;
        }
        let Some(b) = block.as_mut() else { continue };
        let t = line.trim();
        if t == "<unreadable>" {
            b.unreadable = true;
        } else if let Some(ctl) = t.strip_prefix("IOVCtl:") {
            b.enabled = Some(ctl.trim().starts_with("Enable+"));
        } else if t.starts_with("Initial VFs:") {
            b.counts = Some((
                num(field(t, "Initial VFs"), "Initial VFs"),
                num(field(t, "Total VFs"), "Total VFs"),
                num(field(t, "Number of VFs"), "Number of VFs"),
            ));
        } else if t.starts_with("VF offset:") {
            b.vf = Some((
                num(field(t, "VF offset"), "VF offset"),
                num(field(t, "stride"), "stride"),
                u16::from_str_radix(field(t, "Device ID"), 16).expect("hex VF device id"),
            ));
        }
    }
    finish(&addr, &mut block);
    out
}

/// Per address, what `detect --format json --all` reports.
fn parse_detect(devices: &[Value]) -> BTreeMap<String, Seen> {
    let mut out = BTreeMap::new();
    for d in devices {
        let addr = d["address"].as_str().expect("address").to_owned();
        let u16_of = |v: &Value| u16::try_from(v.as_u64().expect("number")).expect("u16");
        let c = &d["capability"];
        if c.is_object() {
            out.insert(
                addr,
                Seen::Cap {
                    offset: u16_of(&c["offset"]),
                    version: u8::try_from(c["version"].as_u64().expect("version")).unwrap(),
                    initial_vfs: u16_of(&c["initial_vfs"]),
                    total_vfs: u16_of(&c["total_vfs"]),
                    num_vfs: u16_of(&c["num_vfs"]),
                    vf_enabled: c["vf_enabled"].as_bool().expect("bool"),
                    vf_offset: u16_of(&c["vf_offset"]),
                    vf_stride: u16_of(&c["vf_stride"]),
                    vf_device_id: u16::from_str_radix(c["vf_device_id"].as_str().unwrap(), 16).unwrap(),
                },
            );
        } else if d["notes"].to_string().contains("cut short") {
            out.insert(addr, Seen::Unreadable);
        }
    }
    out
}

/// lspci's `-vv` text of one function (for failure messages).
fn lspci_block(text: &str, addr: &str) -> String {
    let start = text.find(&format!("{addr} ")).unwrap_or(text.len());
    let rest = &text[start..];
    rest[..rest.find("\n\n").unwrap_or(rest.len())].to_owned()
}

/// Compare both tools on one tree; returns lspci's view for extra checks.
fn differential(root: &Path, what: &str) -> BTreeMap<String, Seen> {
    let text = lspci(root);
    let oracle = parse_lspci(&text);
    let (code, devices, err) = detect::json(root, true);
    assert!(code == 0 || code == 1, "{what}: detect exit {code}: {err}");
    let ours = parse_detect(&devices);
    let mut problems = Vec::new();
    for addr in oracle.keys().chain(ours.keys()) {
        let (l, o) = (oracle.get(addr), ours.get(addr));
        if l != o && !problems.iter().any(|(a, _): &(String, String)| a == addr) {
            let config =
                std::fs::read(root.join("bus/pci/devices").join(addr).join("config")).unwrap_or_default();
            problems.push((
                addr.clone(),
                format!(
                    "{addr}: detect {o:?}\n  lspci {l:?}\n  config {} bytes, header type {:02x}, \
                     status {:02x}, cap ptr 34={:02x} 14={:02x}\n{}",
                    config.len(),
                    config.get(0x0e).copied().unwrap_or(0),
                    config.get(0x06).copied().unwrap_or(0),
                    config.get(0x34).copied().unwrap_or(0),
                    config.get(0x14).copied().unwrap_or(0),
                    lspci_block(&text, addr)
                        .lines()
                        .filter(|l| l.starts_with("\tCap") || !l.starts_with('\t'))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{what}: detect and lspci disagree on {} function(s):\n{}",
        problems.len(),
        problems
            .iter()
            .take(4)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    oracle
}

fn dump_tree(name: &str) -> tempfile::TempDir {
    detect::tree_from_dumps(&dumps::fixture(name)).build()
}

#[test]
fn lspci_agrees_on_the_82576_dump() {
    let seen = differential(
        dump_tree("pciutils-cap-pcie-2_intel-82576-pf_sriov.txt").path(),
        "82576",
    );
    assert_eq!(
        seen["0000:01:00.0"],
        Seen::Cap {
            offset: 0x160,
            version: 1,
            initial_vfs: 8,
            total_vfs: 8,
            num_vfs: 1,
            vf_enabled: true,
            vf_offset: 384,
            vf_stride: 2,
            vf_device_id: 0x10ca,
        }
    );
}

#[test]
fn lspci_agrees_on_the_qemu_system_dump() {
    let seen = differential(
        dump_tree("qemu-q35-full-system_igb-2vfs_nvme-pf.txt").path(),
        "qemu system",
    );
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["0000:01:00.0", "0000:02:00.0"]);
}

#[test]
fn lspci_agrees_on_the_64_byte_view_root_port_and_chain_loop() {
    for (name, expect) in [
        ("derived-82576-truncated-64.txt", 0),
        ("pciutils-cap-pcie-1_no-sriov.txt", 0),
        ("synthetic-82576-sriov-chain-loop.txt", 1),
    ] {
        let seen = differential(dump_tree(name).path(), name);
        assert_eq!(seen.len(), expect, "{name}");
    }
}

#[test]
fn lspci_agrees_on_every_dump_fixture() {
    for (name, d) in dumps::all_fixtures() {
        let dir = detect::tree_from_dumps(&d).build();
        differential(dir.path(), &name);
    }
}

#[test]
fn lspci_agrees_on_the_real_sysfs_snapshot() {
    let seen = differential(&repo().join("samples/sysfs/qemu-igb-2vfs"), "snapshot");
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["0000:01:00.0", "0000:02:00.0"]);
}

// ------------------------------------------------------ generated chains

/// xorshift64*: deterministic, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn put_u32(c: &mut [u8], at: usize, v: u32) {
    c[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A random config space with a random standard list (PCIe / PCI-X /
/// others, loops, id 0xff) and a random extended chain: SR-IOV anywhere,
/// loops, `next` below 0x100, 0 / all-ones headers, short spaces.
fn random_space(rng: &mut Rng) -> Vec<u8> {
    let mut c = vec![0u8; 4096];
    for b in c.iter_mut() {
        *b = rng.next() as u8;
    }
    c[0..2].copy_from_slice(&0x8086u16.to_le_bytes());
    c[2..4].copy_from_slice(&(0x1000 + rng.below(0x1000) as u16).to_le_bytes());
    c[0x09..0x0c].copy_from_slice(&[0, 0, 2]);
    // No BARs / ROM: random ones make pcilib complain, and they do not
    // matter to either capability walk.
    c[0x10..0x28].fill(0);
    c[0x30..0x34].fill(0);
    let htype = rng.pick(&[0u8, 0, 0, 0, 0x80, 1, 2, 3, 0x7f]);
    c[0x0e] = htype;
    if rng.chance(90) {
        c[0x06] |= 0x10;
    } else {
        c[0x06] &= !0x10;
    }
    // Standard list: 0..5 capabilities at distinct offsets 0x40..0xfc.
    let n = rng.below(6) as usize;
    let mut std_at: Vec<u8> = Vec::new();
    while std_at.len() < n {
        let at = (0x40 + rng.below(0xc0) as u8) & !3;
        if !std_at.contains(&at) {
            std_at.push(at);
        }
    }
    let first = std_at.first().copied().unwrap_or(0);
    let ptr = if htype & 0x7f == 2 { 0x14 } else { 0x34 };
    c[ptr] = if rng.chance(3) {
        rng.next() as u8
    } else {
        first | (rng.below(4) as u8)
    };
    for (i, &at) in std_at.iter().enumerate() {
        let at = usize::from(at);
        c[at] = rng.pick(&[0x10, 0x10, 0x10, 0x07, 0x01, 0x05, 0x11, 0x09, 0xff, 0x0d]);
        c[at + 1] = match std_at.get(i + 1) {
            Some(&next) => next,
            None if rng.chance(10) => std_at[rng.below(std_at.len() as u64) as usize],
            None => 0,
        };
    }
    // Extended chain.
    let k = rng.below(9) as usize;
    let mut ext_at: Vec<u16> = Vec::new();
    while ext_at.len() < k {
        let at = (0x100 + rng.below(0xf00) as u16) & !3;
        if !ext_at.contains(&at) {
            ext_at.push(at);
        }
    }
    if rng.chance(70) && !ext_at.is_empty() {
        ext_at[0] = 0x100;
        ext_at.dedup();
    }
    let header = |id: u16, ver: u32, next: u16| u32::from(id) | ver << 16 | u32::from(next) << 20;
    for i in 0..ext_at.len() {
        let at = ext_at[i];
        let id = rng.pick(&[0x0010, 0x0010, 0x0001, 0x0003, 0x000e, 0x000b, 0x0019, 0x0023]);
        let next = match ext_at.get(i + 1) {
            Some(&n) if rng.chance(8) => {
                // Detour through the standard area: lspci follows it.
                let low = (0x40 + rng.below(0xc0) as u16) & !3;
                put_u32(&mut c, usize::from(low), header(0x000b, 1, n));
                low
            }
            Some(&n) => n,
            None if rng.chance(10) => ext_at[rng.below(ext_at.len() as u64) as usize],
            None => 0,
        };
        put_u32(&mut c, usize::from(at), header(id, rng.below(16) as u32, next));
    }
    if rng.chance(5) {
        put_u32(&mut c, 0x100, rng.pick(&[0, 0xffff_ffff]));
    } else if ext_at.first() != Some(&0x100) && rng.chance(50) {
        put_u32(&mut c, 0x100, 0);
    }
    let len = match rng.below(10) {
        0 => 256,
        1 => 64 + rng.below(4096 - 64) as usize,
        2 => 0x100 + rng.below(0x100) as usize * 16,
        _ => 4096,
    };
    c.truncate(len);
    c
}

#[test]
fn lspci_agrees_on_generated_chains() {
    let mut with_sriov = 0;
    for seed in 1..=6u64 {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let mut tree = Tree::new();
        for i in 0..256u32 {
            let addr = format!("0000:{:02x}:{:02x}.{}", 0x10 + seed, i >> 3, i & 7);
            tree = tree.function(Function::new(&addr, random_space(&mut rng)));
        }
        let dir = tree.build();
        let seen = differential(dir.path(), &format!("generated seed {seed}"));
        with_sriov += seen.len();
    }
    assert!(
        with_sriov > 100,
        "the generator must exercise SR-IOV: only {with_sriov} functions had it"
    );
}
