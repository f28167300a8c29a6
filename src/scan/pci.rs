//! PCI addresses and ids: what a PCI address looks like, and ids as
//! lower-case hex strings without `0x` in every output.

use serde::Serializer;

/// An id as every output writes it: `8086`.
pub(crate) fn hex16(v: u16) -> String {
    format!("{v:04x}")
}

/// A class code as every output writes it: `020000`.
pub(crate) fn class(c: u32) -> String {
    format!("{c:06x}")
}

pub(crate) fn ser_u16<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex16(*v))
}

pub(crate) fn ser_opt_u16<S: Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => ser_u16(v, s),
        None => s.serialize_none(),
    }
}

/// An id as every output writes it (`8086`); `None` stays `None`.
pub(crate) fn id(v: Option<u16>) -> Option<String> {
    v.map(hex16)
}

/// A canonical PCI address `DDDD:BB:DD.F` (lower-case hex; the domain may
/// have up to 8 digits, as VMD domains do).
pub(crate) fn is_pci_address(s: &str) -> bool {
    let hex = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    };
    let mut parts = s.split(':');
    let (Some(domain), Some(bus), Some(devfn), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some((dev, func)) = devfn.split_once('.') else {
        return false;
    };
    hex(domain, 4, 8)
        && hex(bus, 2, 2)
        && hex(dev, 2, 2)
        && dev.as_bytes()[0] <= b'1'
        && matches!(func.as_bytes(), [b'0'..=b'7'])
}
