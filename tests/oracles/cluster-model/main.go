// Command cluster-model is a test oracle: a small model of the two cluster
// controllers that decide whether the tool's hand-off survives a multi-node
// Harvester cluster, driven through a story of node events.
//
// Neither controller runs here: github.com/harvester/pcidevices is not served
// by the Go module proxy this project builds with (403), and k3s's deploy
// controller is unexported and needs a cluster (README.md). So every rule
// below is modelled, and cites the upstream file (and function or line) it
// rests on:
//
// rke2/k3s deploy controller (k3s-io/k3s:pkg/deploy/controller.go @0301210):
//   - D1 `basename`: each file is an Addon in kube-system named after the file
//     name up to its first period.
//   - D2 `deploy`: `w.apply.WithOwner(&addon).WithGVK(addonGVKs...).Apply(objects)`;
//     wrangler (rancher/wrangler/v3 v3.2.2 pkg/apply) labels every applied object
//     with a hash of the owner's GVK/namespace/name (desiredset_apply.go:215-228),
//     lists the existing objects by that label (desiredset_apply.go:194) and
//     deletes those the new set lacks (desiredset_process.go:260, compareSets
//     415-433): two servers with one file name share one Addon and prune each
//     other. An object that exists without the label is taken over
//     ("Taking over an object that wasn't previously managed by us",
//     desiredset_process.go:292-300) and patched to the file's fields: a
//     three-way patch with the live object (desiredset_compare.go applyPatch,
//     doPatch), so a live edit of a field the file sets is reverted.
//   - D3 `start`/`listFilesIn`: the first pass after every rke2 start applies
//     every file (force), so a start re-applies.
//   - D4 `listFilesIn`: only files present are processed; a removed file
//     deletes nothing (only `disables` call `delete`).
//   - D6 `listFilesIn`/`shouldSkipFile`: a file X with an X.skip beside it is
//     not applied at all, not even at a start.
//   - D5 only rke2 servers run it (the manifests dir is
//     /var/lib/rancher/rke2/server/manifests); Harvester join nodes are agents
//     until promoted (harvester/harvester:pkg/controller/master/node/promote_controller.go).
//
// pcidevices agent (harvester/pcidevices v1.8.1):
//   - P1 SetupSriovDevices (pkg/controller/sriovdevice/sriovdevice_controller.go:59-100):
//     list SRIOVNetworkDevices labelled nodename=<node>; generate one per
//     non-virtual NIC in /sys/class/net with sriov_totalvfs that is not skipped
//     (management bond members, VlanConfig uplinks: helper.go:237-271); Create
//     each generated name not listed (AlreadyExists when an unlabelled object
//     has the name: the pass fails there); Delete each listed name not generated.
//   - P2 generateSRIOVDev (helper.go:273-291): name lower(node-nic), label
//     nodename, annotation sriov.devices.harvesterhi.io/interface-name, numVFs 0.
//   - P3 reconcileSriovDevice (controller.go:111-172): an object of this node
//     with numVFs 0 gets 0 written when VFs exist; numVFs N gets N written when
//     the count differs, without writing 0 first (the kernel refuses a change
//     between two non-zero counts with EBUSY: drivers/pci/iov.c sriov_numvfs_store).
//
// sriov-network-operator (v1.6.0): a PF is usable when a policy in the
// operator's namespace selects the node (nodeSelector against its labels) and
// the PF (nicSelector vendor/deviceID/pfNames: pkg/webhook/validate.go
// validateNicModel), with externallyManaged (the daemon then never resets it:
// pkg/plugins/generic, pkg/host/internal/sriov) and numVfs <= the VFs present.
// Two admitted policies selecting one PF with different numVfs are a fight.
//
// The rename step (issue 17; rules R1-R4 and K1 with their sources: rename.go):
// `rename NODE OLD=NEW` reboots NODE with its PF OLD named NEW (no VFs after
// the reboot), runs the tool's boot for real (DIR/boot), starts rke2 (a
// server applies its files; k3s merges its config's node labels, never
// removing one), then the agents settle. The deletion or prune of the
// old-name SRIOVNetworkDevice is expected only when the count has landed on
// the new name's object and the PF's VFs were never reset to 0; a policy
// selecting the node under the old pfName is bad unless a policy selects the
// PF under its new name with the planned count.
//
// Usage:
//
//	cluster-model [--pcidevices-addon] [--operator-namespace NS] --node NAME=DIR...
//	    [--expect NAME:ADDR=N]... --story "create a; join b; join c; handoff c; promote b; remove c"
//	    (also: restart N, ui N/ADDR=COUNT, rename N OLD=NEW)
//
// DIR holds the node as the real tool left it: DIR/sysfs (its sysfs after the
// tool's boot step), DIR/manifests/ (the files the tool puts in the manifests
// dir), DIR/labels (the node labels from its rke2 config, one key=value a
// line), optionally DIR/skip-nics (its management NICs, one a line),
// DIR/rke2-server-exec-start-pre (the argv rke2-server's ExecStartPre runs before
// each start of rke2 on that node as a server, one a line: run for real),
// DIR/rke2-config (the node's /etc/rancher/rke2/config.yaml.d: its node labels
// are merged at each rke2 start) and DIR/boot (the argv of the tool's boot,
// one a line: run for real at a reboot, i.e. the rename step). A rename
// changes DIR/sysfs (the net/ directory name, every sriov_numvfs to 0).
//
// Output: one JSON object per step (events, node status, and for a rename
// its judgement under "renames") and a summary; exit 0 when no step prunes,
// resets or fights over anything, every rename lands, and every remaining
// node's planned VFs end usable; 1 otherwise (reasons); 2 usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func usage(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "cluster-model: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	var nodes, expects multi
	addon := flag.Bool("pcidevices-addon", false, "the pcidevices addon runs on every node")
	ns := flag.String("operator-namespace", "sriov-network-operator", "sriov-network-operator's namespace")
	story := flag.String("story", "", "steps separated by ';': create|join|promote|handoff|remove|restart NODE, ui NODE/ADDR=N, rename NODE OLD=NEW")
	flag.Var(&nodes, "node", "NAME=DIR (repeatable)")
	flag.Var(&expects, "expect", "NAME:ADDR=N planned VFs (repeatable)")
	flag.Parse()
	if len(nodes) == 0 || *story == "" {
		usage("need --node NAME=DIR and --story")
	}
	c := NewCluster(*addon, *ns)
	for _, n := range nodes {
		name, dir, ok := strings.Cut(n, "=")
		if !ok {
			usage("--node %q: want NAME=DIR", n)
		}
		node, err := LoadNode(name, dir)
		if err != nil {
			usage("--node %s: %v", name, err)
		}
		c.Nodes[name] = node
	}
	for _, e := range expects {
		name, rest, ok := strings.Cut(e, ":")
		addr, n, ok2 := strings.Cut(rest, "=")
		count, err := strconv.Atoi(n)
		if !ok || !ok2 || err != nil || c.Nodes[name] == nil {
			usage("--expect %q: want NAME:ADDR=N for a --node", e)
		}
		c.Nodes[name].Expect[addr] = count
	}
	out := json.NewEncoder(os.Stdout)
	var failures []string
	for i, raw := range strings.Split(*story, ";") {
		f := strings.Fields(raw)
		if len(f) == 0 {
			continue
		}
		want := 2
		if f[0] == "rename" {
			want = 3
		}
		if len(f) != want || c.Nodes[strings.SplitN(f[1], "/", 2)[0]] == nil {
			usage("story step %q: want VERB NODE (ui NODE/ADDR=N, rename NODE OLD=NEW) with a --node NODE", raw)
		}
		rep, err := c.Step(f[0], f[1:])
		if err != nil {
			usage("story step %q: %v", raw, err)
		}
		rep.N = i + 1
		for _, e := range rep.Events {
			if e.Bad {
				failures = append(failures, fmt.Sprintf("step %d (%s): %s", rep.N, rep.Step, e.Text))
			}
		}
		_ = out.Encode(rep)
	}
	for _, name := range c.sortedNodes() {
		n := c.Nodes[name]
		if !n.Member {
			continue
		}
		for _, s := range c.Status(n) {
			if !s.Usable {
				failures = append(failures, fmt.Sprintf("end: %s %s: planned %d VFs not usable: %s", name, s.Address, s.Planned, s.Why))
			}
		}
	}
	_ = out.Encode(map[string]any{"summary": true, "ok": len(failures) == 0, "reasons": nonNil(failures), "cluster": c.Objects()})
	if len(failures) > 0 {
		os.Exit(1)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Node is one machine.
type Node struct {
	Name      string
	Dir       string
	Role      string // "", "server", "agent"
	Member    bool
	Files     map[string][]Obj // manifests dir: file name -> objects
	Labels    map[string]string
	Skip      []string
	NICs      []NIC
	VFs       map[string]int // PF address -> sriov_numvfs
	Expect    map[string]int
	HandedOff bool
}

// NIC is a PF as the pcidevices generator and the operator see it.
type NIC struct {
	Name, Address, Vendor, Device string
	SRIOV                         bool
}

func readLines(p string) []string {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func trim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimPrefix(strings.TrimSpace(string(b)), "0x")
}

// LoadNode reads a node directory.
func LoadNode(name, dir string) (*Node, error) {
	n := &Node{Name: name, Dir: dir, Files: map[string][]Obj{}, Labels: map[string]string{"kubernetes.io/hostname": name},
		VFs: map[string]int{}, Expect: map[string]int{}}
	if err := n.loadSysfs(); err != nil {
		return nil, err
	}
	if err := n.loadFiles(); err != nil {
		return nil, err
	}
	for _, l := range readLines(filepath.Join(dir, "labels")) {
		k, v, _ := strings.Cut(l, "=")
		n.Labels[k] = v
	}
	n.Skip = readLines(filepath.Join(dir, "skip-nics"))
	return n, nil
}

// loadSysfs reads the node's NICs and VF counts from DIR/sysfs, as ghw (which
// pcidevices uses) and the operator's discovery see them.
func (n *Node) loadSysfs() error {
	n.NICs, n.VFs = nil, map[string]int{}
	sysfs := filepath.Join(n.Dir, "sysfs")
	ents, err := os.ReadDir(filepath.Join(sysfs, "class", "net"))
	if err != nil {
		return fmt.Errorf("%s/class/net: %v", sysfs, err)
	}
	for _, e := range ents {
		link := filepath.Join(sysfs, "class", "net", e.Name())
		dest, _ := os.Readlink(link)
		if e.Name() == "lo" || strings.Contains(dest, "devices/virtual/net") {
			continue // ghw: loopback and virtual NICs
		}
		dev, err := os.Readlink(filepath.Join(sysfs, "class", "net", e.Name(), "device"))
		if err != nil {
			continue // no PCI address: the generator skips it (helper.go:258)
		}
		addr := filepath.Base(dev)
		pf := filepath.Join(sysfs, "bus", "pci", "devices", addr)
		if sub, err := os.Readlink(filepath.Join(pf, "subsystem")); err != nil || !strings.HasSuffix(sub, "/bus/pci") {
			continue // ghw takes the PCI address only of a device on the pci bus
		}
		nic := NIC{Name: e.Name(), Address: addr, Vendor: trim(filepath.Join(pf, "vendor")), Device: trim(filepath.Join(pf, "device"))}
		if _, err := os.Stat(filepath.Join(pf, "sriov_totalvfs")); err == nil {
			nic.SRIOV = true
			v, _ := strconv.Atoi(trim(filepath.Join(pf, "sriov_numvfs")))
			n.VFs[addr] = v
		}
		n.NICs = append(n.NICs, nic)
	}
	sort.Slice(n.NICs, func(i, j int) bool { return n.NICs[i].Name < n.NICs[j].Name })
	return nil
}

// loadFiles reads the node's manifests dir (DIR/manifests) as it is now.
func (n *Node) loadFiles() error {
	n.Files = map[string][]Obj{}
	mdir := filepath.Join(n.Dir, "manifests")
	files, _ := os.ReadDir(mdir)
	for _, f := range files {
		if f.IsDir() || !strings.HasSuffix(f.Name(), ".yaml") {
			continue // D6: only manifests; an X.skip is read at each start
		}
		objs, err := readObjects(filepath.Join(mdir, f.Name()))
		if err != nil {
			return fmt.Errorf("%s: %v", f.Name(), err)
		}
		n.Files[f.Name()] = objs
	}
	return nil
}
