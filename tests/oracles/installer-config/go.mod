module harvester-sriov/oracles/installer-config

go 1.23.0

require (
	github.com/rancher/mapper v0.0.0-20190814232720-058a8b7feb99
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/docker/go-units v0.3.3 // indirect
	github.com/ghodss/yaml v1.0.0 // indirect
	github.com/mattn/go-shellwords v1.0.5 // indirect
	github.com/rancher/wrangler v0.0.0-20190426050201-5946f0eaed19 // indirect
	github.com/sirupsen/logrus v1.8.1 // indirect
	golang.org/x/sys v0.26.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)

// as harvester/harvester-installer v1.8.1 go.mod pins them (mapper's own
// requirement of client-go is not in the checksum database)
replace (
	github.com/rancher/wrangler => github.com/rancher/wrangler v1.1.1
	k8s.io/api => k8s.io/api v0.32.6
	k8s.io/apimachinery => k8s.io/apimachinery v0.32.6
	k8s.io/client-go => k8s.io/client-go v0.32.6
)
