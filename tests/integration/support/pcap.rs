//! A reader for the classic pcap files QEMU's `-object filter-dump` writes (link type 1,
//! Ethernet; little-endian as written on x86), enough to count and classify the frames a guest
//! put on its netdev. VLAN tags are decoded so a test can assert 802.1Q/802.1ad on the wire.

use std::path::Path;

/// One captured Ethernet frame (QEMU's capture has no FCS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// Outer tags in order: (TPID, TCI), e.g. (0x8100, vid | pcp << 13).
    pub tags: Vec<(u16, u16)>,
    /// The EtherType after any tags.
    pub ethertype: u16,
    /// Bytes captured (the frame's length on the wire without FCS).
    pub len: usize,
    /// For an ARP frame: the IPv4 address it asks for (target protocol address).
    pub arp_target: Option<[u8; 4]>,
}

pub(crate) const BROADCAST: [u8; 6] = [0xff; 6];

/// `aa:bb:cc:dd:ee:ff` (any case) as bytes.
pub(crate) fn mac(text: &str) -> [u8; 6] {
    let parts: Vec<u8> = text
        .trim()
        .split(':')
        .map(|p| u8::from_str_radix(p, 16).unwrap_or_else(|_| panic!("bad MAC {text:?}")))
        .collect();
    parts.try_into().unwrap_or_else(|_| panic!("bad MAC {text:?}"))
}

/// Every frame in the file; panics with the reason when it is not a pcap of Ethernet frames.
pub(crate) fn read(path: &Path) -> Vec<Frame> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(data.len() >= 24, "{}: shorter than a pcap header", path.display());
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
    assert_eq!(
        u32_at(0),
        0xa1b2_c3d4,
        "{}: not a little-endian pcap",
        path.display()
    );
    assert_eq!(u32_at(20), 1, "{}: link type is not Ethernet", path.display());
    let mut frames = Vec::new();
    let mut o = 24;
    while o + 16 <= data.len() {
        let incl = u32_at(o + 8) as usize;
        let orig = u32_at(o + 12) as usize;
        let body = &data[o + 16..(o + 16 + incl).min(data.len())];
        assert_eq!(body.len(), incl, "{}: truncated record at {o}", path.display());
        assert_eq!(
            incl,
            orig,
            "{}: frame cut by the snap length at {o}",
            path.display()
        );
        assert!(incl >= 14, "{}: runt frame at {o}", path.display());
        let be16 = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
        let mut tags = Vec::new();
        let mut at = 12;
        while matches!(be16(at), 0x8100 | 0x88a8) && at + 6 <= incl {
            tags.push((be16(at), be16(at + 2)));
            at += 4;
        }
        let ethertype = be16(at);
        // ARP for IPv4 over Ethernet: the target protocol address is at 24..28 of its body.
        let arp = at + 2;
        let arp_target =
            (ethertype == 0x0806 && incl >= arp + 28).then(|| body[arp + 24..arp + 28].try_into().unwrap());
        frames.push(Frame {
            dst: body[0..6].try_into().unwrap(),
            src: body[6..12].try_into().unwrap(),
            tags,
            ethertype,
            len: incl,
            arp_target,
        });
        o += 16 + incl;
    }
    assert_eq!(o, data.len(), "{}: trailing bytes", path.display());
    frames
}
