//! Every object the hand-off file carries is checked against the real CRD
//! schemas (copied from the operators' repositories into
//! tests/fixtures/schemas), against the fields Kubernetes would prune
//! (a misspelt field passes JSON Schema but silently vanishes in the
//! cluster), and against the sriov-network-operator webhook's extra rules.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{plan_json, repo, sample_sysfs};

/// (group/version, kind) -> openAPIV3Schema, from the CRD files.
fn schemas() -> Vec<(String, String, Value)> {
    let mut out = vec![];
    let dir = repo().join("tests/fixtures/schemas");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let crd: Value = serde::Deserialize::deserialize(doc).unwrap();
            if crd["kind"] != "CustomResourceDefinition" {
                continue;
            }
            let group = crd["spec"]["group"].as_str().unwrap().to_owned();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_owned();
            for v in crd["spec"]["versions"].as_array().unwrap() {
                let api = format!("{group}/{}", v["name"].as_str().unwrap());
                out.push((api, kind.clone(), v["schema"]["openAPIV3Schema"].clone()));
            }
        }
    }
    assert!(out.len() >= 4, "CRD schemas not found in {}", dir.display());
    out
}

/// Fields of `obj` that the structural schema does not know (Kubernetes
/// would prune them).
fn unknown_fields(schema: &Value, obj: &Value, at: &str, out: &mut Vec<String>) {
    match obj {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            let additional = schema.get("additionalProperties");
            for (k, v) in map {
                let path = format!("{at}.{k}");
                if let Some(sub) = props.and_then(|p| p.get(k)) {
                    unknown_fields(sub, v, &path, out);
                } else if let Some(sub) = additional.filter(|a| a.is_object()) {
                    unknown_fields(sub, v, &path, out);
                } else if props.is_some() && !preserve && additional.is_none() {
                    out.push(path);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    unknown_fields(sub, v, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The webhook rules the CRD does not carry.
fn webhook_rules(obj: &Value, total_vfs: u64) -> Vec<String> {
    let mut errs = vec![];
    if obj["kind"] == "SriovOperatorConfig" {
        errs.push(
            "a SriovOperatorConfig: the chart's `default` is the one (sriovOperatorConfig.deploy)".into(),
        );
    }
    if obj["kind"] == "SRIOVNetworkDevice" {
        // pcidevices' own generator (pkg/util/nichelper/helper.go generateSRIOVDev)
        let node = obj["spec"]["nodeName"].as_str().unwrap_or("");
        let nic = obj["metadata"]["annotations"]["sriov.devices.harvesterhi.io/interface-name"]
            .as_str()
            .unwrap_or("");
        if obj["metadata"]["labels"]["nodename"] != node {
            errs.push("label nodename is not spec.nodeName".into());
        }
        if nic.is_empty() || obj["metadata"]["name"] != format!("{node}-{nic}").to_lowercase() {
            errs.push("name is not strings.ToLower(node-nic)".into());
        }
    }
    if obj["kind"] == "SriovNetworkNodePolicy" {
        let spec = &obj["spec"];
        // every release v1.3-v1.6 (pkg/webhook/validate.go): ^[a-zA-Z0-9_]+$
        let name = spec["resourceName"].as_str().unwrap_or("");
        let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            errs.push(format!("resourceName {name:?}"));
        }
        // selects nodes by a label the node sets on itself, never nothing
        let sel = spec["nodeSelector"].as_object().map_or(0, |m| m.len());
        if sel == 0 {
            errs.push("empty nodeSelector".into());
        }
        let nic = &spec["nicSelector"];
        if nic["rootDevices"].is_array() {
            errs.push("rootDevices: the daemon skips PFs without a netdev".into());
        }
        if nic["pfNames"].as_array().is_none_or(|a| a.is_empty()) {
            errs.push("no pfNames".into());
        }
        if spec["externallyManaged"] != true {
            errs.push("not externallyManaged: the daemon would reset the VFs boot made".into());
        }
        let n = spec["numVfs"].as_u64().unwrap_or(0);
        if n == 0 || n > total_vfs {
            errs.push(format!("numVfs {n} not in 1..={total_vfs}"));
        }
        if spec["deviceType"] == "vfio-pci" && spec["isRdma"] == true {
            errs.push("vfio-pci with isRdma".into());
        }
    }
    errs
}

/// The hand-off objects `plan --format json` shows for a config.
fn objects_for(config: &Path) -> Vec<Value> {
    let target = tempfile::tempdir().unwrap();
    let out = plan_json(config, &sample_sysfs(), target.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut objects = vec![];
    for file in doc["files"].as_array().unwrap().iter().filter(|f| {
        f["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/var/lib/rancher/rke2/server/manifests/harvester-sriov-"))
    }) {
        objects.extend(parse_docs(file["contents"].as_str().unwrap()));
    }
    objects
}

fn parse_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// The hand-off objects of every in/out case, as the cases' trees hold them.
fn case_objects() -> Vec<(PathBuf, Value)> {
    let mut out = vec![];
    for case in crate::support::cases::all() {
        let dir = case.join("out/var/lib/rancher/rke2/server/manifests");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            for obj in parse_docs(&std::fs::read_to_string(&path).unwrap()) {
                out.push((path.clone(), obj));
            }
        }
    }
    out
}

#[test]
fn every_generated_object_validates_against_the_real_crds() {
    let schemas = schemas();
    let mut checked = 0;
    let mut kinds = std::collections::BTreeSet::new();
    // (where from, object, VFs the card allows: the shipped sample's igb 7, the cases' cards up to 64)
    let mut all: Vec<(PathBuf, Value, u64)> = vec![];
    for entry in std::fs::read_dir(repo().join("config-samples")).unwrap() {
        let config = entry.unwrap().path();
        all.extend(objects_for(&config).into_iter().map(|o| (config.clone(), o, 7)));
    }
    all.extend(case_objects().into_iter().map(|(p, o)| (p, o, 64)));
    {
        for (config, obj, total) in all {
            let api = obj["apiVersion"].as_str().unwrap();
            let kind = obj["kind"].as_str().unwrap();
            let (_, _, schema) = schemas
                .iter()
                .find(|(a, k, _)| a == api && k == kind)
                .unwrap_or_else(|| panic!("{}: no CRD for {api} {kind}", config.display()));
            let validator = jsonschema::validator_for(schema).unwrap();
            let errors: Vec<String> = validator.iter_errors(&obj).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "{}: {kind}: {errors:?}\n{obj:#}",
                config.display()
            );
            let mut unknown = vec![];
            unknown_fields(&schema["properties"]["spec"], &obj["spec"], "spec", &mut unknown);
            assert!(
                unknown.is_empty(),
                "{}: {kind}: fields the CRD would prune: {unknown:?}",
                config.display()
            );
            let rules = webhook_rules(&obj, total);
            assert!(
                rules.is_empty(),
                "{}: {kind}: webhook would refuse: {rules:?}",
                config.display()
            );
            let name = obj["metadata"]["name"].as_str().unwrap();
            assert!(
                dns_subdomain(name),
                "{}: metadata.name {name:?}",
                config.display()
            );
            kinds.insert(kind.to_owned());
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} objects checked");
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["SRIOVNetworkDevice", "SriovNetwork", "SriovNetworkNodePolicy"]
    );
}

#[test]
fn the_validator_catches_a_wrong_object() {
    let schemas = schemas();
    let (_, _, schema) = schemas
        .iter()
        .find(|(_, k, _)| k == "SriovNetworkNodePolicy")
        .unwrap();
    let bad = serde_json::json!({
        "apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodePolicy",
        "metadata": {"name": "x"},
        "spec": {"resourceName": "r", "nodeSelector": {}, "numVfs": -1, "nicSelector": {}, "deviceType": "vfio", "externalyManaged": true}
    });
    let v = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&bad).map(|e| e.to_string()).collect();
    assert!(errors.iter().any(|e| e.contains("vfio")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("-1")), "{errors:?}");
    let mut unknown = vec![];
    unknown_fields(&schema["properties"]["spec"], &bad["spec"], "spec", &mut unknown);
    assert_eq!(unknown, ["spec.externalyManaged"]);
}
