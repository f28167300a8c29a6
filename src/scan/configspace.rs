//! The capability view: find the SR-IOV extended capability in a function's
//! PCI configuration space exactly the way `lspci -v` does (pciutils
//! `ls-caps.c` / `ls-ecaps.c`).
//!
//! The walker reads through [`ConfigRead`], one small positioned read at a
//! time, because on real hardware every dword of config space is a bus
//! transaction: a sysfs `config` file is never read whole.
//!
//! Rules, as lspci applies them:
//! - no capability list at all for a header type other than 0, 1 or 2;
//! - the extended list is walked only when the standard list (Status bit 4,
//!   pointer at 0x34, or 0x14 for a CardBus bridge) holds a PCI Express
//!   (0x10) or PCI-X (0x07) capability;
//! - the standard walk stops on pointer 0, a short read, id 0xff, or a
//!   revisited offset;
//! - the extended walk starts at 0x100 and stops on header 0 or 0xffffffff,
//!   on a short read, or on a revisited offset (`<chain looped>`);
//! - a `next` pointer below 0x100 is **followed**, as lspci does. The Linux
//!   kernel stops there instead (`pci_find_next_ext_capability`), so such a
//!   capability is reported with `kernel_reachable: false` and the kernel
//!   view explains the rest.

use std::io;

/// Offsets in the type 0/1 header.
const PCI_STATUS: u64 = 0x06;
const PCI_STATUS_CAP_LIST: u16 = 0x10;
const PCI_HEADER_TYPE: u64 = 0x0e;
const PCI_CAPABILITY_LIST: u64 = 0x34;
const PCI_CB_CAPABILITY_LIST: u64 = 0x14;
const PCI_CAP_ID_PCIX: u8 = 0x07;
const PCI_CAP_ID_EXP: u8 = 0x10;
const EXT_CAP_START: u16 = 0x100;
/// PCIe extended capability ids.
pub(crate) const EXT_CAP_ID_DSN: u16 = 0x0003;
pub(crate) const EXT_CAP_ID_SRIOV: u16 = 0x0010;
/// Extended config space is 4 KiB.
pub(crate) const CONFIG_SPACE_SIZE: u64 = 4096;
/// Bytes of the SR-IOV capability lspci fetches before decoding it
/// (header + 0x3c): when they are not all readable, lspci 3.9 prints the
/// capability line and no body at all (`cap_sriov` returns silently).
const SRIOV_LEN: usize = 0x40;

/// A source of configuration-space bytes, read at an offset.
///
/// Returns how many bytes were read; fewer than asked means the space ends
/// there (a 64-byte unprivileged view, a 256-byte conventional device).
pub(crate) trait ConfigRead {
    fn read_config(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

impl ConfigRead for [u8] {
    fn read_config(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl ConfigRead for std::fs::File {
    fn read_config(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match self.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// Read exactly `N` bytes at `offset`, or `None` when the space is shorter.
fn fetch<const N: usize, R: ConfigRead + ?Sized>(src: &R, offset: u64) -> io::Result<Option<[u8; N]>> {
    let mut buf = [0u8; N];
    if offset + N as u64 > CONFIG_SPACE_SIZE {
        return Ok(None);
    }
    Ok((src.read_config(offset, &mut buf)? == N).then_some(buf))
}

/// The fields of the type 0 header the tool uses (first 64 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) vendor_id: u16,
    pub(crate) device_id: u16,
    /// Class, subclass, prog-if as one 24-bit value (`0x020000`).
    pub(crate) class: u32,
    pub(crate) header_type: u8,
    pub(crate) status: u16,
    pub(crate) cap_ptr: u8,
}

/// The decoded SR-IOV extended capability (PCIe base spec 9.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct SriovCapability {
    /// Offset of the capability header in config space.
    pub(crate) offset: u16,
    pub(crate) version: u8,
    pub(crate) initial_vfs: u16,
    pub(crate) total_vfs: u16,
    pub(crate) num_vfs: u16,
    pub(crate) vf_enabled: bool,
    pub(crate) vf_offset: u16,
    pub(crate) vf_stride: u16,
    #[serde(serialize_with = "crate::scan::pci::ser_u16")]
    pub(crate) vf_device_id: u16,
    /// False when lspci reaches it only through a `next` pointer below
    /// 0x100, where the kernel's own walk stops.
    #[serde(skip)]
    pub(crate) kernel_reachable: bool,
}

/// What the walk over one function's config space found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CapabilityScan {
    /// Bytes the config space offered: 64 (unprivileged), 256, or 4096.
    /// `None` when even the header could not be read.
    pub(crate) header: Option<Header>,
    /// The standard list holds a PCIe or PCI-X capability (lspci's
    /// condition to look at extended capabilities).
    pub(crate) has_express: bool,
    /// Whether offset 0x100 could be read at all.
    pub(crate) extended_readable: bool,
    /// The standard list could not be read past the 64-byte header.
    pub(crate) caps_unreadable: bool,
    pub(crate) sriov: Option<SriovCapability>,
    /// SR-IOV header found, but its body is cut short.
    pub(crate) sriov_truncated: bool,
    /// PCIe Device Serial Number (extended capability 0x0003).
    pub(crate) serial: Option<u64>,
    /// The extended chain revisited an offset (`<chain looped>`).
    pub(crate) chain_looped: bool,
}

/// Read the 64-byte header. `None` when fewer than 64 bytes are readable.
pub(crate) fn read_header<R: ConfigRead + ?Sized>(src: &R) -> io::Result<Option<Header>> {
    let Some(h) = fetch::<64, R>(src, 0)? else {
        return Ok(None);
    };
    let w = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]);
    Ok(Some(Header {
        vendor_id: w(0),
        device_id: w(2),
        class: u32::from(h[0x09]) | u32::from(h[0x0a]) << 8 | u32::from(h[0x0b]) << 16,
        header_type: h[PCI_HEADER_TYPE as usize] & 0x7f,
        status: w(PCI_STATUS as usize),
        cap_ptr: h[if h[PCI_HEADER_TYPE as usize] & 0x7f == 2 {
            PCI_CB_CAPABILITY_LIST as usize
        } else {
            PCI_CAPABILITY_LIST as usize
        }],
    }))
}

/// Walk the standard and extended capability lists of one function.
///
/// Never fails on content: any byte pattern terminates (every loop is
/// bounded by a visited set). I/O errors other than a short read are
/// returned so the caller can name the file.
pub(crate) fn scan<R: ConfigRead + ?Sized>(src: &R) -> io::Result<CapabilityScan> {
    let mut out = CapabilityScan {
        header: read_header(src)?,
        ..CapabilityScan::default()
    };
    let Some(header) = out.header else {
        return Ok(out);
    };
    // lspci prints `!!! Unknown header type` and no capabilities for a
    // header type other than 0 (normal), 1 (bridge), 2 (CardBus); the
    // kernel ignores such a device altogether (`pci_setup_device`).
    if header.header_type <= 2 && header.status & PCI_STATUS_CAP_LIST != 0 {
        let mut seen = [false; 256];
        let mut at = header.cap_ptr & !3;
        while at != 0 {
            let Some([id, next, _, _]) = fetch::<4, R>(src, u64::from(at))? else {
                out.caps_unreadable = true;
                break;
            };
            if std::mem::replace(&mut seen[usize::from(at)], true) || id == 0xff {
                break;
            }
            if id == PCI_CAP_ID_EXP || id == PCI_CAP_ID_PCIX {
                out.has_express = true;
            }
            at = next & !3;
        }
    }
    if out.has_express {
        walk_extended(src, &mut out)?;
    }
    Ok(out)
}

fn walk_extended<R: ConfigRead + ?Sized>(src: &R, out: &mut CapabilityScan) -> io::Result<()> {
    let mut seen = [false; (CONFIG_SPACE_SIZE / 4) as usize];
    let mut at = EXT_CAP_START;
    let mut below_start = false;
    while let Some(raw) = fetch::<4, R>(src, u64::from(at))? {
        if at == EXT_CAP_START {
            out.extended_readable = true;
        }
        let header = u32::from_le_bytes(raw);
        if header == 0 || header == 0xffff_ffff {
            break;
        }
        if std::mem::replace(&mut seen[usize::from(at / 4)], true) {
            out.chain_looped = true;
            break;
        }
        let id = (header & 0xffff) as u16;
        let version = ((header >> 16) & 0xf) as u8;
        match id {
            EXT_CAP_ID_SRIOV if out.sriov.is_none() && !out.sriov_truncated => {
                match fetch::<SRIOV_LEN, R>(src, u64::from(at))? {
                    Some(body) => out.sriov = Some(decode_sriov(at, version, &body, !below_start)),
                    None => out.sriov_truncated = true,
                }
            }
            EXT_CAP_ID_DSN if out.serial.is_none() => {
                if let Some(b) = fetch::<8, R>(src, u64::from(at) + 4)? {
                    out.serial = Some(u64::from_le_bytes(b));
                }
            }
            _ => {}
        }
        at = ((header >> 20) & !3) as u16;
        if at == 0 {
            break;
        }
        if at < EXT_CAP_START {
            below_start = true;
        }
    }
    Ok(())
}

fn decode_sriov(offset: u16, version: u8, b: &[u8; SRIOV_LEN], kernel_reachable: bool) -> SriovCapability {
    let w = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    SriovCapability {
        offset,
        version,
        vf_enabled: w(0x08) & 1 != 0,
        initial_vfs: w(0x0c),
        total_vfs: w(0x0e),
        num_vfs: w(0x10),
        vf_offset: w(0x14),
        vf_stride: w(0x16),
        vf_device_id: w(0x1a),
        kernel_reachable,
    }
}

/// Format a Device Serial Number the way lspci prints it
/// (`00-1b-21-ff-ff-2b-46-e0`, most significant byte first).
pub(crate) fn format_serial(serial: u64) -> String {
    serial
        .to_be_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4 KiB config space with a PCIe capability at 0x40 and the given
    /// extended capabilities as (offset, id, next).
    fn space(ext: &[(u16, u16, u16)]) -> Vec<u8> {
        let mut c = vec![0u8; 4096];
        c[0..2].copy_from_slice(&0x8086u16.to_le_bytes());
        c[2..4].copy_from_slice(&0x10c9u16.to_le_bytes());
        c[0x0b] = 0x02;
        c[0x06] = 0x10; // capability list
        c[0x34] = 0x40;
        c[0x40] = PCI_CAP_ID_EXP;
        for &(at, id, next) in ext {
            put_ext(&mut c, at, id, 1, next);
        }
        c
    }

    fn put_ext(c: &mut [u8], at: u16, id: u16, ver: u32, next: u16) {
        let h = u32::from(id) | ver << 16 | u32::from(next) << 20;
        c[usize::from(at)..usize::from(at) + 4].copy_from_slice(&h.to_le_bytes());
    }

    fn put_sriov_body(c: &mut [u8], at: usize, total: u16, num: u16) {
        c[at + 0x0c..at + 0x0e].copy_from_slice(&total.to_le_bytes());
        c[at + 0x0e..at + 0x10].copy_from_slice(&total.to_le_bytes());
        c[at + 0x10..at + 0x12].copy_from_slice(&num.to_le_bytes());
        c[at + 0x14..at + 0x16].copy_from_slice(&0x80u16.to_le_bytes());
        c[at + 0x16..at + 0x18].copy_from_slice(&2u16.to_le_bytes());
        c[at + 0x1a..at + 0x1c].copy_from_slice(&0x10cau16.to_le_bytes());
    }

    fn sriov_at(c: &[u8]) -> Option<u16> {
        scan(c).unwrap().sriov.map(|s| s.offset)
    }

    #[test]
    fn sriov_first_in_chain() {
        let mut c = space(&[(0x100, EXT_CAP_ID_SRIOV, 0x140), (0x140, 0x0001, 0)]);
        put_sriov_body(&mut c, 0x100, 8, 0);
        let s = scan(c.as_slice()).unwrap().sriov.unwrap();
        assert_eq!(
            (s.offset, s.total_vfs, s.vf_device_id, s.vf_offset, s.vf_stride),
            (0x100, 8, 0x10ca, 128, 2)
        );
        assert!(s.kernel_reachable);
    }

    #[test]
    fn sriov_last_and_deep_in_chain() {
        let mut chain = vec![];
        let mut at = 0x100u16;
        for _ in 0..20 {
            chain.push((at, 0x0001, at + 0x40));
            at += 0x40;
        }
        chain.push((at, EXT_CAP_ID_SRIOV, 0));
        assert_eq!(sriov_at(&space(&chain)), Some(at));
    }

    #[test]
    fn looping_chain_terminates_and_is_flagged() {
        let c = space(&[(0x100, 0x0001, 0x140), (0x140, EXT_CAP_ID_SRIOV, 0x100)]);
        let s = scan(c.as_slice()).unwrap();
        assert!(s.chain_looped);
        assert_eq!(s.sriov.map(|s| s.offset), Some(0x140));
    }

    #[test]
    fn next_below_0x100_is_followed_like_lspci_but_marked_unreachable_for_the_kernel() {
        // 0x100 -> 0x080 (inside the standard area) -> 0x200 (SR-IOV)
        let mut c = space(&[(0x100, 0x0001, 0x080), (0x200, EXT_CAP_ID_SRIOV, 0)]);
        put_ext(&mut c, 0x80, 0x000b, 1, 0x200);
        let s = scan(c.as_slice()).unwrap().sriov.unwrap();
        assert_eq!(s.offset, 0x200);
        assert!(!s.kernel_reachable);
    }

    #[test]
    fn all_ones_at_0x100_means_no_extended_capabilities() {
        let mut c = space(&[]);
        c[0x100..0x104].copy_from_slice(&[0xff; 4]);
        put_ext(&mut c, 0x104, EXT_CAP_ID_SRIOV, 1, 0);
        assert_eq!(sriov_at(&c), None);
    }

    #[test]
    fn short_config_spaces() {
        let mut c = space(&[(0x100, EXT_CAP_ID_SRIOV, 0)]);
        put_sriov_body(&mut c, 0x100, 8, 0);
        let s64 = scan(&c[..64]).unwrap();
        assert!(s64.header.is_some() && s64.caps_unreadable && s64.sriov.is_none());
        let s256 = scan(&c[..256]).unwrap();
        assert!(s256.has_express && !s256.extended_readable && s256.sriov.is_none());
        let s63 = scan(&c[..63]).unwrap();
        assert_eq!(s63.header, None);
        let cut = scan(&c[..0x110]).unwrap();
        assert!(cut.sriov_truncated && cut.sriov.is_none());
    }

    #[test]
    fn sriov_bytes_without_pcie_capability_are_not_seen() {
        let mut c = space(&[(0x100, EXT_CAP_ID_SRIOV, 0)]);
        c[0x40] = 0x01; // power management instead of PCIe
        assert_eq!(sriov_at(&c), None);
        c[0x40] = PCI_CAP_ID_PCIX;
        assert_eq!(sriov_at(&c), Some(0x100));
        c[0x06] = 0; // no capability list bit
        assert_eq!(sriov_at(&c), None);
    }

    #[test]
    fn total_vfs_zero_is_still_the_capability() {
        let mut c = space(&[(0x100, EXT_CAP_ID_SRIOV, 0)]);
        put_sriov_body(&mut c, 0x100, 0, 0);
        assert_eq!(scan(c.as_slice()).unwrap().sriov.unwrap().total_vfs, 0);
    }

    #[test]
    fn non_monotonic_chain() {
        // 0x100 -> 0x300 (serial number) -> 0x200 (SR-IOV)
        let mut c = space(&[
            (0x100, 0x0002, 0x300),
            (0x300, EXT_CAP_ID_DSN, 0x200),
            (0x200, EXT_CAP_ID_SRIOV, 0),
        ]);
        c[0x304..0x30c].copy_from_slice(&0x00_1b_21_ff_ff_2b_46_e0u64.to_le_bytes());
        let s = scan(c.as_slice()).unwrap();
        assert_eq!(s.sriov.map(|s| s.offset), Some(0x200));
        assert_eq!(
            s.serial.map(format_serial).as_deref(),
            Some("00-1b-21-ff-ff-2b-46-e0")
        );
    }

    #[test]
    fn unknown_header_type_has_no_capabilities_like_lspci() {
        let mut c = space(&[(0x100, EXT_CAP_ID_SRIOV, 0)]);
        put_sriov_body(&mut c, 0x100, 8, 0);
        for (htype, found) in [
            (0x00, true),
            (0x80, true),
            (0x01, true),
            (0x03, false),
            (0x7f, false),
            (0xff, false),
        ] {
            c[0x0e] = htype;
            assert_eq!(sriov_at(&c).is_some(), found, "header type {htype:#x}");
        }
    }

    #[test]
    fn standard_list_loop_terminates() {
        let mut c = space(&[(0x100, EXT_CAP_ID_SRIOV, 0)]);
        c[0x40] = 0x01;
        c[0x41] = 0x50;
        c[0x50] = 0x05;
        c[0x51] = 0x40; // back to 0x40
        assert_eq!(sriov_at(&c), None);
    }

    proptest::proptest! {
        #[test]
        fn any_config_space_terminates(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..=4096)) {
            let _ = scan(bytes.as_slice()).unwrap();
        }

        #[test]
        fn any_pcie_function_with_random_extended_space_terminates(ext in proptest::collection::vec(proptest::num::u8::ANY, 3840)) {
            let mut c = space(&[]);
            c[256..].copy_from_slice(&ext);
            let _ = scan(c.as_slice()).unwrap();
        }
    }
}
