//! Scan: what the node has. The kernel's sysfs view of every PCI function,
//! its config space walked the way `lspci` does, and the two combined into
//! one [`device::Device`] each.

pub(crate) mod configspace;
pub(crate) mod device;
pub(crate) mod names;
pub(crate) mod pci;
pub(crate) mod sysfs;
