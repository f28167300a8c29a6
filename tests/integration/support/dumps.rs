//! Parse `lspci -x/-xxx/-xxxx` hex dumps (the format `lspci -F` reads).
//!
//! A device starts at a `BB:DD.F name` (or `DDDD:BB:DD.F name`) line; each
//! `OFF: xx xx ...` line puts its bytes at `OFF`; a blank line ends the
//! device. Every other line (`#` comments, indented `-vv` text) is ignored.

use std::path::Path;

/// One function of a dump: its canonical address and config bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dump {
    /// `0000:01:00.0` (domain 0000 when the dump has none).
    pub address: String,
    /// The dump's own name text after the address.
    pub name: String,
    pub config: Vec<u8>,
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `01:00.0` or `0000:01:00.0` -> `0000:01:00.0`.
fn address(word: &str) -> Option<String> {
    let parts: Vec<&str> = word.split(':').collect();
    let (domain, bus, devfn) = match parts.as_slice() {
        [b, df] => ("0000", *b, *df),
        [d, b, df] => (*d, *b, *df),
        _ => return None,
    };
    let (dev, func) = devfn.split_once('.')?;
    let ok = is_hex(domain)
        && domain.len() >= 4
        && bus.len() == 2
        && is_hex(bus)
        && dev.len() == 2
        && is_hex(dev)
        && func.len() == 1
        && matches!(func.as_bytes()[0], b'0'..=b'7');
    ok.then(|| format!("{domain}:{bus}:{dev}.{func}").to_ascii_lowercase())
}

/// `OFF: xx xx ...` -> (offset, bytes).
fn hex_line(line: &str) -> Option<(usize, Vec<u8>)> {
    let (off, rest) = line.split_once(": ")?;
    if !is_hex(off) || off.len() > 3 {
        return None;
    }
    let offset = usize::from_str_radix(off, 16).ok()?;
    let bytes = rest
        .split_whitespace()
        .map(|b| (b.len() == 2).then(|| u8::from_str_radix(b, 16).ok()).flatten())
        .collect::<Option<Vec<u8>>>()?;
    (!bytes.is_empty()).then_some((offset, bytes))
}

/// Parse dump text. Devices without any hex line are dropped.
pub(crate) fn parse(text: &str) -> Vec<Dump> {
    let mut out = Vec::new();
    let mut current: Option<Dump> = None;
    let finish = |cur: &mut Option<Dump>, out: &mut Vec<Dump>| {
        if let Some(d) = cur.take()
            && !d.config.is_empty()
        {
            out.push(d);
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            finish(&mut current, &mut out);
            continue;
        }
        if line.starts_with('#') || line.starts_with(char::is_whitespace) {
            continue;
        }
        if let Some((offset, bytes)) = hex_line(line) {
            if let Some(d) = current.as_mut() {
                let end = offset + bytes.len();
                if d.config.len() < end {
                    d.config.resize(end, 0);
                }
                d.config[offset..end].copy_from_slice(&bytes);
            }
            continue;
        }
        let (word, name) = line.split_once(' ').unwrap_or((line, ""));
        if let Some(address) = address(word) {
            finish(&mut current, &mut out);
            current = Some(Dump {
                address,
                name: name.to_owned(),
                config: Vec::new(),
            });
        }
    }
    finish(&mut current, &mut out);
    out
}

/// Parse a dump file.
pub(crate) fn load(path: &Path) -> Vec<Dump> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&text)
}

/// The one device of a single-device dump fixture under `tests/fixtures/dumps/`.
pub(crate) fn fixture(name: &str) -> Vec<Dump> {
    load(&super::repo().join("tests/fixtures/dumps").join(name))
}

/// All `*.txt` dump fixtures (not the `.lspci-vv.txt` outputs), sorted.
pub(crate) fn all_fixtures() -> Vec<(String, Vec<Dump>)> {
    let dir = super::repo().join("tests/fixtures/dumps");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".txt") && !n.ends_with(".lspci-vv.txt"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let d = load(&dir.join(&n));
            (n, d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_hex_and_ignores_other_lines() {
        let text = "# comment\n\n01:00.0 Ethernet controller: X\n\tCapabilities: [40] y\n00: 86 80 c9 10\n10: 01\n\n0001:02:1f.7 Other\n00: ff ff\n";
        let d = parse(text);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].address, "0000:01:00.0");
        assert_eq!(d[0].name, "Ethernet controller: X");
        assert_eq!(d[0].config.len(), 0x11);
        assert_eq!(&d[0].config[..4], &[0x86, 0x80, 0xc9, 0x10]);
        assert_eq!(d[0].config[0x10], 1);
        assert_eq!(d[1].address, "0001:02:1f.7");
        assert_eq!(d[1].config, vec![0xff, 0xff]);
    }

    #[test]
    fn fixtures_have_the_documented_sizes() {
        let qemu = fixture("qemu-q35-full-system_igb-2vfs_nvme-pf.txt");
        assert_eq!(qemu.len(), 12);
        let sizes: Vec<usize> = qemu.iter().map(|d| d.config.len()).collect();
        assert!(sizes.contains(&4096) && sizes.contains(&256), "{sizes:?}");
        let pf = fixture("pciutils-cap-pcie-2_intel-82576-pf_sriov.txt");
        assert_eq!(pf.len(), 1);
        assert_eq!(pf[0].config.len(), 4096);
        assert_eq!(fixture("derived-82576-truncated-64.txt")[0].config.len(), 64);
    }
}
