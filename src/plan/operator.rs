//! What sriov-network-operator accepts: the models its chart lists, and the
//! Helm value that makes it accept another. The plan decides from this which
//! PFs are handed over; render prints the same line.

/// The chart's `supported-nic-ids` (k8snetworkplumbingwg/sriov-network-operator
/// v1.6.0: deployment/sriov-network-operator-chart/templates/configmap.yaml):
/// (vendor, PF device). The webhook refuses a policy for any other model and
/// the config daemon skips it.
const OPERATOR_SUPPORTED: &[(&str, &str)] = &[
    ("8086", "158a"),
    ("8086", "158b"),
    ("8086", "1572"),
    ("8086", "1563"),
    ("8086", "10c9"),
    ("8086", "1589"),
    ("8086", "1581"),
    ("8086", "15ff"),
    ("8086", "0d58"),
    ("8086", "1583"),
    ("8086", "1592"),
    ("8086", "1593"),
    ("8086", "159b"),
    ("8086", "1599"),
    ("8086", "1591"),
    ("8086", "188a"),
    ("8086", "124d"),
    ("8086", "124c"),
    ("8086", "579c"),
    ("8086", "579d"),
    ("8086", "579e"),
    ("8086", "12d2"),
    ("8086", "12d3"),
    ("15b3", "1013"),
    ("15b3", "1015"),
    ("15b3", "1017"),
    ("15b3", "1019"),
    ("15b3", "101b"),
    ("15b3", "101d"),
    ("15b3", "101f"),
    ("15b3", "1021"),
    ("15b3", "1023"),
    ("15b3", "a2d6"),
    ("15b3", "a2dc"),
    ("14e4", "16d7"),
    ("14e4", "1750"),
    ("1077", "1654"),
    ("1af4", "1000"),
    ("1af4", "1041"),
    ("177d", "b200"),
    ("177d", "b100"),
    ("177d", "b600"),
    ("177d", "b900"),
    ("177d", "ba00"),
];

/// Whether the operator chart's default `supported-nic-ids` lists this model.
pub(crate) fn operator_supports(vendor: &str, device: &str) -> bool {
    OPERATOR_SUPPORTED.contains(&(vendor, device))
}

/// The exact Helm value that makes the operator accept a model.
pub(crate) fn supported_extra_nics_line(vendor: &str, device: &str, vf_device: &str) -> String {
    format!("supportedExtraNICs: ['harvester_sriov_{vendor}_{device}: \"{vendor} {device} {vf_device}\"']")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_list_and_extra_line() {
        assert!(operator_supports("8086", "10c9"));
        assert!(!operator_supports("8086", "1521"));
        assert!(!operator_supports("15b3", "1007"));
        assert_eq!(
            supported_extra_nics_line("8086", "1521", "1520"),
            "supportedExtraNICs: ['harvester_sriov_8086_1521: \"8086 1521 1520\"']"
        );
    }
}
