//! The kernel side: what the tool asks of the running kernel beyond sysfs
//! reads. `netlink` sets and reads per-VF settings on a PF with rtnetlink;
//! `vf` holds the pure knowledge those settings need (which driver takes
//! which setting, the stable MAC of a VF).

pub mod netlink;
pub mod vf;
