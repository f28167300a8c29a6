//! Node labels: Kubernetes' syntax rules and kubelet's self-labelling rule
//! (`IsKubeletLabel`), checked before any label is written — kubelet refuses
//! to start with a label it may not set on itself.

/// The label that marks a node with a usable SR-IOV NIC (node-feature-discovery's name).
pub(crate) const CAPABLE: &str = "feature.node.kubernetes.io/network-sriov.capable";

fn name_ok(s: &str) -> bool {
    // ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$, at most 63
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

/// A DNS-1123 label: lower-case letters, digits and `-`, alphanumeric at
/// both ends, at most 63.
pub(crate) fn dns_label_ok(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A DNS-1123 subdomain: lower-case labels joined by dots, at most 253.
pub(crate) fn dns_subdomain_ok(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(dns_label_ok)
}

/// kubelet may set on itself only labels outside the Kubernetes
/// namespaces, or under `kubelet.kubernetes.io` / `node.kubernetes.io`
/// (subdomains included), or a few well-known keys.
fn kubelet_may_set(prefix: Option<&str>, key: &str) -> bool {
    const WELL_KNOWN: &[&str] = &[
        "kubernetes.io/hostname",
        "kubernetes.io/instance-type",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "node.kubernetes.io/instance-type",
    ];
    let Some(ns) = prefix else { return true };
    if WELL_KNOWN.contains(&key) {
        return true;
    }
    let under = |d: &str| ns == d || ns.ends_with(&format!(".{d}"));
    if under("kubelet.kubernetes.io") || under("node.kubernetes.io") {
        return true;
    }
    !(under("kubernetes.io") || under("k8s.io"))
}

/// Check one label. The error says what is wrong, in words.
pub(crate) fn check(key: &str, value: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && !dns_subdomain_ok(p)
    {
        return Err(format!(
            "label prefix {p:?} is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253)"
        ));
    }
    if !name_ok(name) {
        return Err(format!(
            "label name {name:?} is invalid: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    if !value.is_empty() && !name_ok(value) {
        return Err(format!(
            "label value {value:?} is invalid: empty, or 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    if !kubelet_may_set(prefix, key) {
        return Err(format!(
            "kubelet may not set {key:?} on its own node (only keys outside kubernetes.io/k8s.io, or under \
             node.kubernetes.io / kubelet.kubernetes.io): kubelet would refuse to start"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn kubernetes_and_kubelet_rules() {
        assert!(check(super::CAPABLE, "true").is_ok());
        assert!(check("example.com/fast-nics", "").is_ok());
        assert!(check("node.kubernetes.io/sriov", "yes").is_ok());
        assert!(check("sub.node.kubernetes.io/x", "1").is_ok());
        assert!(
            check("node-role.kubernetes.io/worker", "true")
                .unwrap_err()
                .contains("kubelet may not set")
        );
        assert!(check("k8s.io/x", "a").is_err());
        assert!(
            check("Example.com/x", "a")
                .unwrap_err()
                .contains("not a DNS subdomain")
        );
        assert!(check("example.com/-x", "a").unwrap_err().contains("label name"));
        assert!(check("x", "a b").unwrap_err().contains("label value"));
        assert!(check("x", &"v".repeat(64)).is_err());
    }
}
