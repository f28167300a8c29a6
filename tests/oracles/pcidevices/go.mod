module harvester-sriov/oracles/pcidevices

go 1.23.0

// github.com/jaypipes/ghw at the version github.com/harvester/pcidevices v1.8.1
// requires (its go.mod): the library pcidevices discovers NICs with.
require github.com/jaypipes/ghw v0.9.0

require github.com/ghodss/yaml v1.0.0

require (
	github.com/StackExchange/wmi v1.2.1 // indirect
	github.com/go-ole/go-ole v1.2.6 // indirect
	github.com/jaypipes/pcidb v1.0.0 // indirect
	github.com/mitchellh/go-homedir v1.1.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/sys v0.0.0-20220319134239-a9b59b0215f8 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
	howett.net/plist v1.0.0 // indirect
)
