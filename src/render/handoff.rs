//! The hand-off to the cluster's SR-IOV owner: which objects, under which
//! manifest file names. Pure: the plan in, a list of (path, bytes) out.
//!
//! The rules it rests on (design: docs/handoff.md):
//! - rke2's deploy controller turns each file of the manifests directory into
//!   an `Addon` named after the file name up to its first period, and prunes
//!   what an earlier apply of that Addon made and the file lacks
//!   (k3s-io/k3s:pkg/deploy/controller.go `basename`, `deploy`). So a file
//!   name holds either one node's objects (per-node name) or objects that are
//!   byte-identical on every node that writes it (content-addressed name).
//! - pcidevices adopts an `SRIOVNetworkDevice` only when name, `nodename`
//!   label and interface annotation are its own generator's
//!   (harvester/pcidevices:pkg/util/nichelper/helper.go `generateSRIOVDev`).
//! - sriov-network-operator policies select nodes by label, so one policy
//!   serves every node with the same NICs, agent nodes included.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::intent::config::Operator;
use crate::intent::vf::VlanProto;
use crate::layout::{MANIFEST_DIR, MANIFEST_PREFIX};
use crate::plan::{Plan, PlannedPf};

/// pcidevices' label naming the node (v1beta1.NodeKeyName).
pub(crate) const PCIDEVICES_NODE_LABEL: &str = "nodename";
/// pcidevices' interface annotation (sic: "harvesterhi").
pub(crate) const PCIDEVICES_IFACE_ANNOTATION: &str = "sriov.devices.harvesterhi.io/interface-name";
/// Prefix of the node label a policy selects.
pub(crate) const POLICY_LABEL_PREFIX: &str = "harvester-sriov.io/policy-";

/// FNV-1a, 64 bits: a stable short name for content, not a security hash.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The per-node file's key: rke2 cuts an Addon name at the first period, so
/// dots become dashes, and a hash of the full name keeps `a.b`, `a-b` and
/// `a.c` apart.
pub(crate) fn node_key(node: &str) -> String {
    let mut key: String = node.replace('.', "-");
    // The file name (and `.NAME.skip.harvester-sriov.tmp` beside it) stays
    // far below the 255 bytes of a file name: at most 200 bytes.
    let cut = key.len() > 165;
    key.truncate(165);
    if cut || node.contains('.') {
        key = format!(
            "{}-{:08x}",
            key.trim_end_matches('-'),
            fnv1a(node.as_bytes()) as u32
        );
    }
    key
}

/// The per-node manifest file.
pub(crate) fn node_file(node: &str) -> String {
    format!("{MANIFEST_DIR}/{MANIFEST_PREFIX}node-{}.yaml", node_key(node))
}

/// The Addon rke2 makes for a manifest path (file name up to the first period).
pub(crate) fn addon_name(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.split('.').next().unwrap_or(base)
}

/// pcidevices' object name for a NIC: `strings.ToLower(node + "-" + nic)`.
pub(crate) fn pcidevices_name(node: &str, nic: &str) -> String {
    format!("{node}-{nic}").to_lowercase()
}

fn pcidevices_object(plan: &Plan, p: &PlannedPf, nic: &str) -> Value {
    json!({
        "apiVersion": "devices.harvesterhci.io/v1beta1",
        "kind": "SRIOVNetworkDevice",
        "metadata": {
            "name": pcidevices_name(&plan.node, nic),
            "labels": {PCIDEVICES_NODE_LABEL: plan.node},
            "annotations": {PCIDEVICES_IFACE_ANNOTATION: nic},
        },
        "spec": {"address": p.address, "nodeName": plan.node, "numVFs": p.num_vfs},
    })
}

/// One policy: its content hash, the node label it selects, the object.
pub(crate) struct Policy {
    pub(crate) hash: String,
    pub(crate) label: String,
    pub(crate) object: Value,
}

/// One policy per group of identical PFs on this node, identical on every
/// node with the same group (name and selector derive from the content).
pub(crate) fn policies(plan: &Plan) -> Vec<Policy> {
    if plan.operator != Operator::SriovNetworkOperator {
        return vec![];
    }
    let mut groups: BTreeMap<(String, String, u16), Vec<&PlannedPf>> = BTreeMap::new();
    for p in &plan.pfs {
        groups
            .entry((p.vendor_id.clone(), p.device_id.clone(), p.num_vfs))
            .or_default()
            .push(p);
    }
    groups
        .values()
        .map(|group| {
            let p = group[0];
            let mut pf_names: Vec<String> = group.iter().filter_map(|p| p.interface.clone()).collect();
            pf_names.sort();
            let mut spec = serde_json::Map::new();
            spec.insert("resourceName".into(), json!(plan.resource_name));
            spec.insert("priority".into(), json!(99));
            spec.insert("numVfs".into(), json!(p.num_vfs));
            spec.insert(
                "nicSelector".into(),
                json!({"vendor": p.vendor_id, "deviceID": p.device_id, "pfNames": pf_names}),
            );
            spec.insert("deviceType".into(), json!(plan.device_type.as_str()));
            if let Some(mtu) = plan.mtu {
                spec.insert("mtu".into(), json!(mtu));
            }
            // The VFs are created at boot by harvester-sriov: the daemon
            // must never create or reset them.
            spec.insert("externallyManaged".into(), json!(true));
            let identity = json!({"namespace": plan.operator_namespace, "spec": Value::Object(spec.clone())});
            let hash = format!("{:016x}", fnv1a(identity.to_string().as_bytes()))[..10].to_owned();
            let label = format!("{POLICY_LABEL_PREFIX}{hash}");
            let mut full = serde_json::Map::new();
            full.insert("resourceName".into(), spec["resourceName"].clone());
            full.insert("nodeSelector".into(), json!({label.clone(): "true"}));
            for (k, v) in spec {
                if k != "resourceName" {
                    full.insert(k, v);
                }
            }
            Policy {
                object: json!({
                    "apiVersion": "sriovnetwork.openshift.io/v1",
                    "kind": "SriovNetworkNodePolicy",
                    "metadata": {"name": format!("harvester-sriov-{hash}"), "namespace": plan.operator_namespace},
                    "spec": Value::Object(full),
                }),
                hash,
                label,
            }
        })
        .collect()
}

/// The node labels the policies select (written by the node's rke2 label file).
pub(crate) fn node_labels(plan: &Plan) -> Vec<(String, String)> {
    policies(plan)
        .into_iter()
        .map(|p| (p.label, "true".to_owned()))
        .collect()
}

fn network_object(plan: &Plan) -> Option<(String, Value)> {
    let net = plan.network.as_ref()?;
    let mut spec = serde_json::Map::new();
    spec.insert("resourceName".into(), json!(plan.resource_name));
    spec.insert("networkNamespace".into(), json!(net.namespace));
    // The operator always renders `vlan` and `vlanQoS` into the CNI config
    // (0 when absent) and sriov-cni sets them on the VF at every attach, for
    // vfio-pci VFs too: a VLAN the host sets is written here, or a VM's attach
    // would reset it to 0. Spoof check, trust, link state and rates are left
    // out: sriov-cni touches them only when the config names them, so the
    // host's values stay. (src/plan/network.rs, which the plan ran: it refused
    // a `sriov.network.vlan` or VFs that disagree with the host.)
    let host = crate::plan::network::host_vlan(net, &plan.resource_name, &plan.pfs)
        .ok()
        .flatten();
    match host {
        Some(h) => {
            spec.insert("vlan".into(), json!(h.vlan));
            if h.qos != 0 {
                spec.insert("vlanQoS".into(), json!(h.qos));
            }
            if h.proto == VlanProto::Dot1ad {
                spec.insert("vlanProto".into(), json!("802.1ad"));
            }
        }
        None => {
            if let Some(vlan) = net.vlan {
                spec.insert("vlan".into(), json!(vlan));
            }
        }
    }
    spec.insert("ipam".into(), json!("{}"));
    Some((
        format!("{MANIFEST_DIR}/{MANIFEST_PREFIX}network-{}.yaml", net.name),
        json!({
            "apiVersion": "sriovnetwork.openshift.io/v1",
            "kind": "SriovNetwork",
            "metadata": {"name": net.name, "namespace": plan.operator_namespace},
            "spec": Value::Object(spec),
        }),
    ))
}

/// Every hand-off file: (path, objects). Empty when there is nothing to hand over.
pub(crate) fn files(plan: &Plan) -> Vec<(PathBuf, Vec<Value>)> {
    if plan.pfs.is_empty() {
        return vec![];
    }
    match plan.operator {
        Operator::Pcidevices => {
            let objects: Vec<Value> = plan
                .pfs
                .iter()
                .filter_map(|p| Some(pcidevices_object(plan, p, p.interface.as_deref()?)))
                .collect();
            if objects.is_empty() {
                vec![]
            } else {
                vec![(PathBuf::from(node_file(&plan.node)), objects)]
            }
        }
        Operator::SriovNetworkOperator => {
            let mut out: Vec<(PathBuf, Vec<Value>)> = policies(plan)
                .into_iter()
                .map(|p| {
                    (
                        PathBuf::from(format!("{MANIFEST_DIR}/{MANIFEST_PREFIX}policy-{}.yaml", p.hash)),
                        vec![p.object],
                    )
                })
                .collect();
            if let Some((path, obj)) = network_object(plan) {
                out.push((PathBuf::from(path), vec![obj]));
            }
            out
        }
        Operator::None => vec![],
    }
}

/// What stays in the cluster after the files are gone, and the commands that
/// take it out (rke2 deletes nothing when a manifest file goes).
pub(crate) fn leftovers(plan: &Plan) -> Vec<String> {
    let mut out = vec![];
    for (path, objects) in files(plan) {
        let path = path.display().to_string();
        for o in &objects {
            let kind = o["kind"].as_str().unwrap_or_default();
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let ns = o["metadata"]["namespace"].as_str();
            let kind = kind.to_ascii_lowercase();
            let q = |w: &[&str]| crate::shell::command(w.iter().copied());
            match (kind.as_str(), ns) {
                ("sriovnetworkdevice", _) => out.push(format!(
                    "{}   # VFs off; the pcidevices controller keeps (and would re-create) the object",
                    q(&[
                        "kubectl",
                        "patch",
                        "sriovnetworkdevice",
                        name,
                        "--type",
                        "merge",
                        "-p",
                        r#"{"spec":{"numVFs":0}}"#
                    ])
                )),
                ("sriovnetworknodepolicy", Some(ns)) => out.push(format!(
                    "{}   # only when no other node has the label it selects",
                    q(&["kubectl", "-n", ns, "delete", "sriovnetworknodepolicy", name])
                )),
                (_, Some(ns)) => out.push(format!(
                    "{}   # only when no other node uses it",
                    q(&["kubectl", "-n", ns, "delete", &kind, name])
                )),
                (_, None) => out.push(q(&["kubectl", "delete", &kind, name])),
            }
        }
        out.push(format!(
            "{}   # rke2's record of {path}",
            crate::shell::command([
                "kubectl",
                "-n",
                "kube-system",
                "delete",
                "addon",
                addon_name(&path)
            ])
        ));
    }
    for (k, _) in node_labels(plan) {
        out.push(crate::shell::command([
            "kubectl",
            "label",
            "node",
            &plan.node,
            &format!("{k}-"),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_keys_never_collide_on_dots() {
        assert_eq!(node_key("node-1"), "node-1");
        let a = node_key("a.b");
        let b = node_key("a-b");
        let c = node_key("a.c");
        assert!(a != b && a != c && b != c, "{a} {b} {c}");
        assert!(!a.contains('.'));
        assert_eq!(addon_name(&node_file("a.b")), format!("harvester-sriov-node-{a}"));
        let long = "x".repeat(253);
        assert!(node_key(&long).len() <= 174);
        assert!(node_file(&long).rsplit('/').next().unwrap().len() <= 200);
    }

    #[test]
    fn the_policy_label_is_one_kubelet_may_set_on_itself() {
        let label = format!("{POLICY_LABEL_PREFIX}{}", "0123456789");
        assert_eq!(crate::intent::labels::check(&label, "true"), Ok(()));
    }

    #[test]
    fn pcidevices_names_are_the_generators() {
        assert_eq!(pcidevices_name("Node-D", "ENS1f0"), "node-d-ens1f0");
    }
}
