//! Synthetic PCI configuration spaces, byte by byte.

pub(crate) const EXT_SRIOV: u16 = 0x0010;
pub(crate) const EXT_DSN: u16 = 0x0003;

/// The SR-IOV capability body fields a test sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SriovFields {
    pub initial_vfs: u16,
    pub total_vfs: u16,
    pub num_vfs: u16,
    pub vf_enabled: bool,
    pub vf_offset: u16,
    pub vf_stride: u16,
    pub vf_device: u16,
}

impl SriovFields {
    /// An 82576-like capability: 8 VFs, offset 128, stride 2, VF id 10ca.
    pub(crate) fn igb() -> Self {
        Self {
            initial_vfs: 8,
            total_vfs: 8,
            num_vfs: 0,
            vf_enabled: false,
            vf_offset: 128,
            vf_stride: 2,
            vf_device: 0x10ca,
        }
    }
}

/// A config space under construction.
#[derive(Debug, Clone)]
pub(crate) struct Space(pub Vec<u8>);

impl Space {
    /// A 4 KiB PCIe endpoint: capability list bit, PCIe capability at 0x40.
    pub(crate) fn pcie(vendor: u16, device: u16, class: u32) -> Self {
        let mut s = Self::conventional(vendor, device, class);
        s.0.resize(4096, 0);
        s.0[0x06] |= 0x10;
        s.0[0x34] = 0x40;
        s.0[0x40] = 0x10; // PCI Express, next 0
        s.0[0x42] = 0x02; // version 2, endpoint
        s
    }

    /// A 256-byte conventional function without capabilities.
    pub(crate) fn conventional(vendor: u16, device: u16, class: u32) -> Self {
        let mut c = vec![0u8; 256];
        c[0..2].copy_from_slice(&vendor.to_le_bytes());
        c[2..4].copy_from_slice(&device.to_le_bytes());
        c[0x08] = 0x01; // revision
        c[0x09] = class as u8;
        c[0x0a] = (class >> 8) as u8;
        c[0x0b] = (class >> 16) as u8;
        c[0x3c] = 11; // irq line
        c[0x3d] = 1; // pin A
        Self(c)
    }

    /// An extended capability header at `at`.
    pub(crate) fn ext(mut self, at: u16, id: u16, version: u8, next: u16) -> Self {
        let h = u32::from(id) | u32::from(version & 0xf) << 16 | u32::from(next) << 20;
        let at = usize::from(at);
        self.0[at..at + 4].copy_from_slice(&h.to_le_bytes());
        self
    }

    /// An SR-IOV capability (version 1) at `at`.
    pub(crate) fn sriov(self, at: u16, next: u16, f: SriovFields) -> Self {
        let mut s = self.ext(at, EXT_SRIOV, 1, next);
        put_sriov(&mut s.0, usize::from(at), f);
        s
    }

    pub(crate) fn truncate(mut self, len: usize) -> Self {
        self.0.truncate(len);
        self
    }

    pub(crate) fn bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Write the SR-IOV body fields of a capability at `at`.
pub(crate) fn put_sriov(c: &mut [u8], at: usize, f: SriovFields) {
    let mut w = |o: usize, v: u16| c[at + o..at + o + 2].copy_from_slice(&v.to_le_bytes());
    w(0x08, u16::from(f.vf_enabled));
    w(0x0c, f.initial_vfs);
    w(0x0e, f.total_vfs);
    w(0x10, f.num_vfs);
    w(0x14, f.vf_offset);
    w(0x16, f.vf_stride);
    w(0x1a, f.vf_device);
    // Supported page sizes: 4K..; system page size 4K.
    c[at + 0x1c..at + 0x20].copy_from_slice(&0x553u32.to_le_bytes());
    c[at + 0x20..at + 0x24].copy_from_slice(&1u32.to_le_bytes());
}

/// The real Intel 82576 PF (pciutils tests/cap-pcie-2): SR-IOV at 0x160,
/// Initial/Total 8, NumVFs 1, VF Enable+, offset 384, stride 2, VF id 10ca.
pub(crate) fn intel_82576() -> Vec<u8> {
    super::dumps::fixture("pciutils-cap-pcie-2_intel-82576-pf_sriov.txt")
        .remove(0)
        .config
}

/// The 82576 with TotalVFs/InitialVFs/NumVFs patched.
pub(crate) fn intel_82576_with(total: u16, num: u16) -> Vec<u8> {
    let mut c = intel_82576();
    c[0x16c..0x16e].copy_from_slice(&total.to_le_bytes());
    c[0x16e..0x170].copy_from_slice(&total.to_le_bytes());
    c[0x170..0x172].copy_from_slice(&num.to_le_bytes());
    c[0x168] = (c[0x168] & !1) | u8::from(num > 0);
    c
}
