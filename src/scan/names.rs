//! Vendor and device names from the pci.ids database (compiled in by the
//! `pci-ids` crate), hex ids when unknown.

use pci_ids::FromId;

pub(crate) fn vendor(vendor_id: Option<u16>) -> String {
    match vendor_id {
        Some(v) => {
            pci_ids::Vendor::from_id(v).map_or_else(|| crate::scan::pci::hex16(v), |v| v.name().to_owned())
        }
        None => "unknown".into(),
    }
}

pub(crate) fn device(vendor_id: Option<u16>, device_id: Option<u16>) -> String {
    match (vendor_id, device_id) {
        (Some(v), Some(d)) => pci_ids::Device::from_vid_pid(v, d)
            .map_or_else(|| crate::scan::pci::hex16(d), |d| d.name().to_owned()),
        (_, Some(d)) => crate::scan::pci::hex16(d),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use pci_ids::FromId;

    #[test]
    fn known_and_unknown_ids() {
        assert_eq!(super::vendor(Some(0x8086)), "Intel Corporation");
        assert_eq!(
            super::device(Some(0x8086), Some(0x10c9)),
            "82576 Gigabit Network Connection"
        );
        let unknown = (1..=u16::MAX)
            .find(|v| pci_ids::Vendor::from_id(*v).is_none())
            .unwrap();
        let name = super::vendor(Some(unknown));
        assert_eq!(name.len(), 4, "{name}");
        assert_eq!(u16::from_str_radix(&name, 16).ok(), Some(unknown), "{name}");
        assert_eq!(super::device(Some(0x8086), Some(0xfffe)), "fffe");
    }
}
