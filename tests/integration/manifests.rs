//! Every object the hand-off file carries is checked against the real CRD
//! schemas (copied from the operators' repositories into
//! tests/fixtures/schemas), against the fields Kubernetes would prune
//! (a misspelt field passes JSON Schema but silently vanishes in the
//! cluster), and against the sriov-network-operator webhook's extra rules.

use std::path::Path;

use serde_json::Value;

use crate::support::{bin, repo, sample_sysfs};

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
    if obj["kind"] == "SriovNetworkNodePolicy" {
        let spec = &obj["spec"];
        let name = spec["resourceName"].as_str().unwrap_or("");
        let ok = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && name.as_bytes()[0].is_ascii_alphanumeric()
            && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
        if !ok {
            errs.push(format!("resourceName {name:?}"));
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
    let out = bin()
        .args(["plan", "--format", "json", "--config"])
        .arg(config)
        .arg("--sysfs")
        .arg(sample_sysfs())
        .arg("--target")
        .arg(target.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let Some(file) = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/var/lib/rancher/rke2/server/manifests/harvester-sriov.yaml")
    else {
        return vec![];
    };
    let text = file["contents"].as_str().unwrap();
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

#[test]
fn every_generated_object_validates_against_the_real_crds() {
    let schemas = schemas();
    let mut checked = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("config-samples")).unwrap() {
        let config = entry.unwrap().path();
        for obj in objects_for(&config) {
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
            // the shipped sample's igb reports 7 VFs
            let rules = webhook_rules(&obj, 7);
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
    assert!(checked >= 6, "only {checked} objects checked");
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "SRIOVNetworkDevice",
            "SriovNetworkNodePolicy",
            "SriovOperatorConfig"
        ]
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
