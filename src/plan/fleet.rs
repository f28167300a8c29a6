//! The fleet check: one install config planned on several nodes (each from
//! its `detect --format json`), with the same [`super::build`] as `apply`,
//! and every MAC two functions of the fleet would share. The plan keeps a
//! node's own VFs apart (`vf::node_macs`, and fixed MACs checked against the
//! node's functions); nothing on a node can see the others, so a fixed
//! `mac_address` in a rule that matches on several nodes, or cloned serial
//! numbers (the same stable MACs), are found only here. Pure.

use crate::intent::config::Intent;
use crate::intent::vf::{Mac, format_mac, parse_mac};
use crate::scan::device::Device;

use super::{Plan, PlanError};

/// One node of the fleet: its name and what its detect output lists.
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) devices: Vec<Device>,
}

/// What holds a MAC.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    /// A planned VF: its index, and whether the MAC is derived (`stable`).
    Vf { id: u16, stable: bool },
    /// The function's own MAC, as detect read it (not ours to change).
    Pf,
}

/// One function of the fleet that has (or will have) a MAC.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Holder {
    /// The node's place in the order given (holders sort by it).
    pub(crate) node_index: usize,
    pub(crate) node: String,
    pub(crate) pf_address: String,
    pub(crate) pf_interface: Option<String>,
    pub(crate) role: Role,
    /// What a stable MAC derives from (`vf::pf_identity`: serial, else MAC).
    pub(crate) pf_identity: Option<String>,
}

/// A MAC that two or more functions of the fleet would have, at least one
/// of them a VF this config gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clash {
    pub(crate) mac: String,
    /// In the nodes' order, then PF address and role.
    pub(crate) holders: Vec<Holder>,
}

/// Where a MAC of the fleet is: by index, so that the whole fleet's MACs
/// stay small until a shared one is spelled out as a [`Holder`].
#[derive(Debug, Clone, Copy)]
enum Ref {
    /// `plans[node].pfs[pf].vfs[vf]`.
    Vf { node: usize, pf: usize, vf: usize },
    /// `nodes[node].devices[device]`'s own MAC.
    Function { node: usize, device: usize },
}

/// A rule of the config that matches no SR-IOV function on some nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unmatched {
    /// Its index in `sriov.devices`.
    pub(crate) rule: usize,
    /// Its `match`, in words.
    pub(crate) matcher: String,
    /// The nodes where it matches nothing, in the order given.
    pub(crate) nodes: Vec<String>,
}

/// The fleet's plans and what they share.
#[derive(Debug)]
pub(crate) struct Fleet {
    /// Each node's plan, in the order given.
    pub(crate) plans: Vec<(String, Plan)>,
    pub(crate) clashes: Vec<Clash>,
    pub(crate) unmatched: Vec<Unmatched>,
    /// Every MAC a VF gets, over the fleet.
    pub(crate) vf_macs: usize,
}

/// A node's plan failed: which node, and the plan's own error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("node {node}: {source}")]
pub(crate) struct FleetError {
    pub(crate) node: String,
    pub(crate) source: PlanError,
}

/// Plan `intent` on every node and find what they share.
pub(crate) fn check(nodes: &[Node], intent: &Intent) -> Result<Fleet, FleetError> {
    let mut plans = vec![];
    for node in nodes {
        let plan = super::build(&node.devices, intent, &node.name).map_err(|source| FleetError {
            node: node.name.clone(),
            source,
        })?;
        plans.push((node.name.clone(), plan));
    }
    // Every MAC of the fleet with a small reference to its holder, sorted:
    // a fleet of 100 nodes of 16 PFs x 255 VFs has 408,000 of them, and only
    // the shared ones are spelled out.
    let mut refs: Vec<(Mac, Ref)> = vec![];
    for (n, ((_, plan), node)) in plans.iter().zip(nodes).enumerate() {
        for (p, pf) in plan.pfs.iter().enumerate() {
            for (v, vf) in pf.vfs.iter().enumerate() {
                if let Some(mac) = vf.mac.as_deref().and_then(parse_mac) {
                    refs.push((
                        mac,
                        Ref::Vf {
                            node: n,
                            pf: p,
                            vf: v,
                        },
                    ));
                }
            }
        }
        // Every function's own MAC (detect reads the first interface's).
        for (i, d) in node.devices.iter().enumerate() {
            if let Some(mac) = d
                .mac
                .as_deref()
                .filter(|_| d.physfn.is_none())
                .and_then(parse_mac)
            {
                refs.push((mac, Ref::Function { node: n, device: i }));
            }
        }
    }
    let vf_macs = refs.iter().filter(|(_, r)| matches!(r, Ref::Vf { .. })).count();
    refs.sort_unstable_by_key(|(mac, _)| *mac);
    let holder = |r: &Ref| match *r {
        Ref::Vf { node, pf, vf } => {
            let pf = &plans[node].1.pfs[pf];
            let vf = &pf.vfs[vf];
            Holder {
                node_index: node,
                node: nodes[node].name.clone(),
                pf_address: pf.address.clone(),
                pf_interface: pf.interface.clone(),
                role: Role::Vf {
                    id: vf.id,
                    stable: vf.stable_mac,
                },
                pf_identity: super::vf::pf_identity(pf.serial.as_deref(), pf.mac.as_deref()),
            }
        }
        Ref::Function { node, device } => {
            let d = &nodes[node].devices[device];
            Holder {
                node_index: node,
                node: nodes[node].name.clone(),
                pf_address: d.address.clone(),
                pf_interface: d.interfaces.first().cloned(),
                role: Role::Pf,
                pf_identity: None,
            }
        }
    };
    let clashes = refs
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| group.len() > 1 && group.iter().any(|(_, r)| matches!(r, Ref::Vf { .. })))
        .map(|group| {
            let mut holders: Vec<Holder> = group.iter().map(|(_, r)| holder(r)).collect();
            holders.sort();
            Clash {
                mac: format_mac(&group[0].0),
                holders,
            }
        })
        .collect();
    let unmatched = intent
        .sriov
        .devices
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            let nodes: Vec<String> = nodes
                .iter()
                .filter(|n| !super::rule_matches_any(rule, &n.devices))
                .map(|n| n.name.clone())
                .collect();
            (!nodes.is_empty()).then(|| Unmatched {
                rule: i,
                matcher: rule.matcher.to_string(),
                nodes,
            })
        })
        .collect();
    Ok(Fleet {
        plans,
        clashes,
        unmatched,
        vf_macs,
    })
}
