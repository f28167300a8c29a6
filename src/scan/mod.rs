//! Scan: what the node has. The kernel's sysfs view of every PCI function,
//! its config space walked the way `lspci` does, and the two combined into
//! one [`device::Device`] each.

pub mod configspace;
pub mod device;
pub mod names;
pub mod pci;
pub mod sysfs;
