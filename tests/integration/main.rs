//! The one integration test binary (`autotests = false`): every module here
//! drives the real `harvester-sriov` binary or the library against trees
//! built in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod apply;
mod boot;
mod cli;
mod configure;
mod detect;
mod docs;
mod e2e;
mod fleet;
mod handoff;
mod handoff_vf;
mod hook;
mod hostile;
mod layout;
mod lspci;
mod manifests;
mod networkmanager;
mod oracle_cluster_model;
mod oracle_installer_config;
mod oracle_pcidevices;
mod oracle_sriov_operator;
mod oracle_yip;
mod parity;
mod plan;
mod remove;
mod upgrade;
mod verify;
mod vf;
