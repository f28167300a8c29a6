//! Writes the seed corpora from the committed fixtures:
//!
//! - `configspace`: every device of `tests/fixtures/dumps/*.txt` (`lspci -xxxx`
//!   hex dumps) as raw config-space bytes, full length and cut to 64 and 256;
//! - `sysfs_attrs`: the distinct attribute values of
//!   `samples/sysfs/qemu-igb-2vfs/devices/**`;
//! - `sysfs_tree`: the sample's functions rebuilt as `sysfs_tree` inputs.
//!
//! Run from the repository root (seeds are added, never removed; minimise
//! afterwards with `cargo fuzz cmin`):
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example seed_corpora
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use harvester_sriov::fuzzing::{Placement, TreeInput};

/// Parse an `lspci -xxxx` dump: `(bdf, bytes)` per device.
fn parse_dump(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = vec![];
    let mut current: Option<(String, Vec<u8>)> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            continue; // -vv decoding between the header and the hex rows
        }
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((off, hex)) = line.split_once(": ")
            && current.is_some()
            && off.bytes().all(|b| b.is_ascii_hexdigit())
        {
            let (_, bytes) = current.as_mut().unwrap();
            let off = usize::from_str_radix(off, 16).unwrap();
            let row: Vec<u8> = hex
                .split_whitespace()
                .map(|h| u8::from_str_radix(h, 16).unwrap())
                .collect();
            if bytes.len() < off + row.len() {
                bytes.resize(off + row.len(), 0);
            }
            bytes[off..off + row.len()].copy_from_slice(&row);
        } else if first.len() >= 7 && first.as_bytes()[first.len() - 2] == b'.' {
            out.extend(current.take());
            current = Some((first.to_owned(), vec![]));
        }
    }
    out.extend(current);
    out
}

fn write(dir: &Path, name: &str, body: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name.replace([':', '/'], "_")), body).unwrap();
}

fn main() {
    let corpus = PathBuf::from("fuzz/corpus");
    let mut configs = vec![];
    let mut dumps: Vec<_> = fs::read_dir("tests/fixtures/dumps")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "txt") && !p.to_string_lossy().ends_with(".lspci-vv.txt")
        })
        .collect();
    dumps.sort();
    for dump in &dumps {
        let stem = dump.file_stem().unwrap().to_string_lossy().into_owned();
        for (bdf, bytes) in parse_dump(&fs::read_to_string(dump).unwrap()) {
            let name = format!("seed-{stem}-{bdf}");
            write(&corpus.join("configspace"), &name, &bytes);
            for cut in [64, 256] {
                if bytes.len() > cut {
                    write(
                        &corpus.join("configspace"),
                        &format!("{name}-cut{cut}"),
                        &bytes[..cut],
                    );
                }
            }
            configs.push(bytes);
        }
    }

    let sample = Path::new("samples/sysfs/qemu-igb-2vfs");
    let mut values = BTreeSet::new();
    let mut stack = vec![sample.join("devices")];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() && e.file_name() != "config" && e.file_name() != ".gitkeep" {
                values.insert(fs::read(e.path()).unwrap());
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        write(&corpus.join("sysfs_attrs"), &format!("seed-attr-{i:03}"), v);
    }

    // One tree per sample function, and the SR-IOV PF with its VFs.
    // The text attributes of fuzzing::ATTRS: "vendor" .. "numa_node".
    let text_attrs = &harvester_sriov::fuzzing::ATTRS[1..=10];
    let add = |t: &mut TreeInput, dir: &Path, name: &str| {
        let f = t.function(name, Placement::Linked);
        if let Ok(c) = fs::read(dir.join("config")) {
            t.file(f, "config", &c);
        }
        for a in text_attrs {
            if let Ok(v) = fs::read(dir.join(a)) {
                t.file(f, a, &v);
            }
        }
        for l in ["driver", "iommu_group", "physfn", "virtfn0", "virtfn1"] {
            if let Ok(target) = fs::read_link(dir.join(l)) {
                let target = target.to_string_lossy().into_owned();
                let target = match l {
                    "driver" => "../../../../bus/pci/drivers/igb".to_owned(),
                    "iommu_group" => "../../../../kernel/iommu_groups/12".to_owned(),
                    _ => target,
                };
                t.link(f, l, &target);
            }
        }
        if let Ok(ifs) = fs::read_dir(dir.join("net")) {
            for i in ifs.take(1) {
                let i = i.unwrap().path();
                t.dir(f, "net");
                t.dir(f, "net/eth0");
                for a in ["address", "speed"] {
                    if let Ok(v) = fs::read(i.join(a)) {
                        t.file(f, &format!("net/eth0/{a}"), &v);
                    }
                }
            }
        }
    };
    let devices = sample.join("bus/pci/devices");
    let mut names: Vec<String> = fs::read_dir(&devices)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let mut t = TreeInput::new(true);
        add(&mut t, &devices.join(name), name);
        write(&corpus.join("sysfs_tree"), &format!("seed-{name}"), &t.encode());
    }
    let mut t = TreeInput::new(false);
    for name in ["0000:01:00.0", "0000:01:10.0", "0000:01:10.2"] {
        add(&mut t, &devices.join(name), name);
    }
    write(&corpus.join("sysfs_tree"), "seed-pf-with-vfs", &t.encode());
    // The fixture dumps as config files of a PF-shaped function.
    for (i, c) in configs.iter().enumerate() {
        let mut t = TreeInput::new(false);
        let f = t.function("0000:01:00.0", Placement::Dir);
        t.file(f, "config", c);
        t.file(f, "sriov_totalvfs", b"7\n");
        t.link(f, "driver", "../../../../bus/pci/drivers/igb");
        write(&corpus.join("sysfs_tree"), &format!("seed-dump-{i}"), &t.encode());
    }
    println!("seeds written under {}", corpus.display());
}
