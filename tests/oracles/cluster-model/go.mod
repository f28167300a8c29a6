module harvester-sriov/oracles/cluster-model

go 1.23.0

require sigs.k8s.io/yaml v1.4.0
