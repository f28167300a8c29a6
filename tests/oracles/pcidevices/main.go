// Command pcidevices is a test oracle for the hand-off to Harvester's
// pcidevices controller (github.com/harvester/pcidevices, tag v1.8.1).
//
// github.com/harvester/pcidevices is not served by the Go module proxy this
// project builds with (every version answers 403), so it cannot be a
// dependency. What can be is the library it discovers NICs with: ghw, pinned
// here to the version pcidevices v1.8.1's go.mod requires (v0.9.0). This
// oracle runs ghw.Network on the fake sysfs tree exactly as the controller
// does (pkg/controller/sriovdevice/sriovdevice_controller.go:69
// `nics, err := ghw.Network()`; its tests point ghw at a mock root through
// GHW_CHROOT, here through ghw's /sys path override), then applies the
// generator's rules, each citing its line in pkg/util/nichelper/helper.go at
// v1.8.1, and the discovery loop's rules (SetupSriovDevices,
// sriovdevice_controller.go:59-100) to the tool's SRIOVNetworkDevice objects.
//
// Usage:
//
//	pcidevices --node NAME --sysfs DIR [--skip-nic IFNAME]... [MANIFEST...]
//
// --skip-nic names the NICs IdentifyManagementNics (slaves of mgmt-br/mgmt-bo,
// helper.go:90-133) and identifyClusterNetworks (VlanConfig uplinks,
// helper.go:136-158) would return on that node: they need a live netns and a
// cluster, so the caller states them.
//
// Output (stdout, one JSON object): the objects the controller would generate
// for NAME, the tool's objects for NAME, and what the controller's next
// discovery pass would do with them. Exit 0: the controller adopts every tool
// object and creates, deletes and collides with nothing; 1: it would not
// (reasons listed); 2: usage or input error.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ghodss/yaml"
	"github.com/jaypipes/ghw"
)

// The label key and annotation the generator sets: v1beta1.NodeKeyName
// (pkg/apis/devices.harvesterhci.io/v1beta1/node.go:23) and
// interfaceAnnotation (pkg/util/nichelper/helper.go:35, "harvesterhi" sic).
const (
	nodeKeyName         = "nodename"
	interfaceAnnotation = "sriov.devices.harvesterhi.io/interface-name"
	apiVersion          = "devices.harvesterhci.io/v1beta1"
	kind                = "SRIOVNetworkDevice"
)

// Device has the JSON shape of v1beta1.SRIOVNetworkDevice
// (pkg/apis/devices.harvesterhci.io/v1beta1/sriovnetworkdevice.go).
type Device struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace,omitempty"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Address  string `json:"address"`
		NodeName string `json:"nodeName"`
		NumVFs   int    `json:"numVFs"`
	} `json:"spec"`
	File string `json:"file,omitempty"`
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func usage(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "pcidevices oracle: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	var skip multi
	node := flag.String("node", "", "the node name (NODE_NAME of the controller's pod)")
	sysfs := flag.String("sysfs", "", "the node's fake sysfs tree (its /sys)")
	flag.Var(&skip, "skip-nic", "a management or VlanConfig uplink NIC (repeatable)")
	flag.Parse()
	if *node == "" || *sysfs == "" {
		usage("need --node NAME and --sysfs DIR")
	}
	if st, err := os.Stat(filepath.Join(*sysfs, "class", "net")); err != nil || !st.IsDir() {
		usage("%s: no class/net directory: ghw lists NICs from /sys/class/net", *sysfs)
	}
	generated, err := Generate(*node, *sysfs, skip)
	if err != nil {
		usage("%v", err)
	}
	var tool []Device
	for _, f := range flag.Args() {
		ds, err := readDevices(f)
		if err != nil {
			usage("%s: %v", f, err)
		}
		tool = append(tool, ds...)
	}
	res := Judge(*node, generated, tool, numVFs(*sysfs, generated))
	res.Generated = generated
	res.Tool = tool
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	_ = out.Encode(res)
	if flag.NArg() > 0 && !res.Adopted {
		os.Exit(1)
	}
}

// Generate returns what GenerateSRIOVNics (helper.go:237-252) returns for the
// node: generateSRIOVDeviceObjects (helper.go:254-271) over ghw's NICs.
func Generate(node, sysfs string, skip []string) ([]Device, error) {
	abs, err := filepath.Abs(sysfs)
	if err != nil {
		return nil, err
	}
	nics, err := ghw.Network(ghw.WithPathOverrides(ghw.PathOverrides{"/sys": abs}), ghw.WithDisableTools(), ghw.WithDisableWarnings())
	if err != nil {
		return nil, fmt.Errorf("ghw.Network: %v", err)
	}
	// the controller's defaultDevicePath, overridden as its tests do
	// (helper.go:39 and OverrideDefaultSysPath, helper.go:294)
	devicePath := filepath.Join(abs, "bus", "pci", "devices")
	out := []Device{}
	for _, nic := range nics.NICs {
		// helper.go:258: !slice.ContainsString(skipNics, nic.Name) && !nic.IsVirtual && nic.PCIAddress != nil
		if contains(skip, nic.Name) || nic.IsVirtual || nic.PCIAddress == nil {
			continue
		}
		// helper.go:259 IsNICSRIOVCapable (helper.go:175-185): os.Stat of sriov_totalvfs;
		// an error other than not-exist fails the whole pass (helper.go:260-263)
		if _, err := os.Stat(filepath.Join(devicePath, *nic.PCIAddress, "sriov_totalvfs")); err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("error checking if device %s is sriov capable: %v", nic.Name, err)
		}
		// generateSRIOVDev, helper.go:273-291
		var d Device
		d.APIVersion, d.Kind = apiVersion, kind
		d.Metadata.Name = strings.ToLower(fmt.Sprintf("%s-%s", node, nic.Name))
		d.Metadata.Labels = map[string]string{nodeKeyName: node}
		d.Metadata.Annotations = map[string]string{interfaceAnnotation: nic.Name}
		d.Spec.Address = *nic.PCIAddress
		d.Spec.NodeName = node
		d.Spec.NumVFs = 0
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metadata.Name < out[j].Metadata.Name })
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Result is the oracle's verdict.
type Result struct {
	Node      string   `json:"node"`
	Adopted   bool     `json:"adopted"`
	Reasons   []string `json:"reasons"`
	Creates   []string `json:"creates"`
	Deletes   []string `json:"deletes"`
	Collides  []string `json:"collides"`
	Generated []Device `json:"generated"`
	Tool      []Device `json:"tool"`
}

// Judge runs one discovery pass of SetupSriovDevices
// (sriovdevice_controller.go:59-100) against a cluster that holds the tool's
// objects, and compares the objects field by field.
func Judge(node string, generated, tool []Device, vfs map[string]int) Result {
	r := Result{Node: node, Reasons: []string{}, Creates: []string{}, Deletes: []string{}, Collides: []string{}}
	byName := map[string]Device{}
	for _, t := range tool {
		if prev, dup := byName[t.Metadata.Name]; dup {
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s: two objects named %s (%s and %s): the second apply overwrites the first", t.Metadata.Name, t.Metadata.Name, prev.File, t.File))
		}
		byName[t.Metadata.Name] = t
	}
	// sriovCache.List(labels.SelectorFromSet({nodename: node})), controller.go:60-67
	listed := []Device{}
	for _, t := range tool {
		if t.Metadata.Labels[nodeKeyName] == node {
			listed = append(listed, t)
		}
	}
	inList := func(name string, list []Device) bool {
		for _, d := range list {
			if d.Metadata.Name == name {
				return true
			}
		}
		return false
	}
	// create if not present, matched by name (containsSRIOVDevice, controller.go:102-109)
	for _, g := range generated {
		if inList(g.Metadata.Name, listed) {
			continue
		}
		if _, exists := byName[g.Metadata.Name]; exists {
			r.Collides = append(r.Collides, g.Metadata.Name)
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s: the tool's object has no label %s=%s, so the controller does not list it and its Create fails with AlreadyExists on every pass (controller.go:79-86): discovery for node %s stops there", g.Metadata.Name, nodeKeyName, node, node))
			continue
		}
		r.Creates = append(r.Creates, g.Metadata.Name)
		// harmless for a NIC without VFs; a reset for one that has them
		if n := vfs[g.Spec.Address]; n > 0 {
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s: no tool object for NIC %s (%s) although it has %d VFs: the controller creates one with numVFs 0 and its reconcile writes 0 to sriov_numvfs (controller.go:111-122,124-145)", g.Metadata.Name, g.Metadata.Annotations[interfaceAnnotation], g.Spec.Address, n))
		}
	}
	// delete objects no longer present (controller.go:89-97)
	for _, l := range listed {
		if !inList(l.Metadata.Name, generated) {
			r.Deletes = append(r.Deletes, l.Metadata.Name)
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s: the controller generates no object of that name on node %s, so it deletes the tool's object (controller.go:89-97)", l.Metadata.Name, node))
		}
	}
	// field by field, for the tool's objects of this node
	gen := map[string]Device{}
	for _, g := range generated {
		gen[g.Metadata.Name] = g
	}
	for _, t := range tool {
		if t.Spec.NodeName != node && t.Metadata.Labels[nodeKeyName] != node {
			continue
		}
		g, ok := gen[t.Metadata.Name]
		if !ok {
			if t.Metadata.Labels[nodeKeyName] != node {
				r.Reasons = append(r.Reasons, fmt.Sprintf("%s (%s): the controller generates no object of that name for node %s", t.Metadata.Name, t.File, node))
			}
			continue
		}
		diff := func(field, got, want string) {
			if got != want {
				r.Reasons = append(r.Reasons, fmt.Sprintf("%s: %s is %q, the controller's generator makes %q", t.Metadata.Name, field, got, want))
			}
		}
		diff("apiVersion", t.APIVersion, apiVersion)
		diff("metadata.labels."+nodeKeyName, t.Metadata.Labels[nodeKeyName], node)
		diff("metadata.annotations."+interfaceAnnotation, t.Metadata.Annotations[interfaceAnnotation], g.Metadata.Annotations[interfaceAnnotation])
		diff("metadata.namespace", t.Metadata.Namespace, "")
		diff("spec.address", t.Spec.Address, g.Spec.Address)
		diff("spec.nodeName", t.Spec.NodeName, g.Spec.NodeName)
		if t.Spec.NumVFs < 0 {
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s: spec.numVFs %d is negative", t.Metadata.Name, t.Spec.NumVFs))
		}
	}
	r.Adopted = len(r.Reasons) == 0
	return r
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// readDevices returns the SRIOVNetworkDevice objects of a manifest file.
func readDevices(path string) ([]Device, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Device
	for i, doc := range docSep.Split(string(data), -1) {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i+1, err)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		var probe struct{ Kind string }
		if err := json.Unmarshal(j, &probe); err != nil {
			return nil, fmt.Errorf("document %d: %v", i+1, err)
		}
		if probe.Kind != kind {
			continue
		}
		var d Device
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("document %d: not a SRIOVNetworkDevice the CRD accepts: %v", i+1, err)
		}
		d.File = filepath.Base(path)
		out = append(out, d)
	}
	return out, nil
}

// numVFs reads sriov_numvfs of each generated object's PF (what the kernel
// has now, e.g. after the tool's boot step).
func numVFs(sysfs string, generated []Device) map[string]int {
	out := map[string]int{}
	for _, g := range generated {
		b, err := os.ReadFile(filepath.Join(sysfs, "bus", "pci", "devices", g.Spec.Address, "sriov_numvfs"))
		if err != nil {
			continue
		}
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &n); err == nil {
			out[g.Spec.Address] = n
		}
	}
	return out
}
