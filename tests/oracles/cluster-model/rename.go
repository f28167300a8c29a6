package main

// The rename step of issue 17: an upgrade reboots a node and its PF comes back
// under another name (Harvester v1.6 -> v1.7 renamed Intel ports, enp6s0f0 ->
// enp6s0f0np0). Rules, each citing what it rests on:
//
//   - R1 the reboot: the kernel starts with no VFs (sriov_numvfs reads 0 until
//     a driver's sriov_configure is called through it: torvalds/linux
//     drivers/pci/iov.c sriov_numvfs_store) and udev names the PF anew; the
//     model renames DIR/sysfs's net/OLD directory and class/net link, as the
//     kernel's sysfs shows a renamed netdev (net/core/dev.c dev_change_name ->
//     device_rename), and sets every PF's sriov_numvfs to 0.
//   - R2 the tool's boot runs before rke2 (its unit is ordered
//     Before=rke2-server.service rke2-agent.service: src/render/mod.rs): the model runs it for
//     real, no shell, from DIR/boot (its argv, one a line), then reads the
//     node's sysfs and manifests dir again.
//   - K1 at every rke2 start k3s merges the node-label entries of its config
//     (config.yaml.d/*.yaml|*.yml in name order: k3s-io/k3s
//     pkg/configfilearg/parser.go dotDFiles; `key+` appends) into the Node's
//     labels and never removes one (pkg/agent/run.go configureNode,
//     updateMutableLabels: labels.Merge(nodeLabels, config)). So a label an
//     earlier plan gave the node stays after the tool's files stop naming it.
//   - R3 pcidevices: deleting an SRIOVNetworkDevice does nothing to the VFs
//     (harvester/pcidevices pkg/controller/sriovdevice/sriovdevice_controller.go:
//     Register registers OnChange only; reconcileSriovDevice returns at once
//     for a nil or deleting object). So the agent's deletion of the old-name
//     object (SetupSriovDevices: its NIC is gone) and the Addon's prune of it
//     (D2: the file names the new one) are expected when the count has landed
//     on the new name's object (pkg/util/nichelper/helper.go generateSRIOVDev:
//     lower(node-nic)) and the PF's VFs were never reset to 0 in the step.
//     Otherwise the rename is bad, and its reasons are named: a write of 0
//     to the PF's sriov_numvfs (ensureDeviceIsDisabled: VFs torn down), the
//     new object missing or with numVFs other than planned (the count lost),
//     the PF without its planned VFs, the old-name object still there (a
//     stale object keeps a count).
//   - R4 sriov-network-operator: a policy selects a PF by its name now
//     (k8snetworkplumbingwg/sriov-network-operator v1.6.0 api/v1/helper.go
//     (*SriovNetworkNicSelector).Selected: pfNames against the interface
//     name). The rename has landed when a policy selecting the node names
//     the new name, with the planned numVfs, externallyManaged, and the PF
//     has those VFs. A policy that still selects the node (K1: its label
//     stays) and names the old name selects nothing there by that name; it
//     is a note when the rename has landed (two policies of one resourceName
//     on one PF with the same numVfs merge to the same result:
//     api/v1/helper.go (Interface).mergeConfigs), and bad otherwise: the PF
//     is then selected by no policy under the name it has.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// ifname is a Linux interface name (IFNAMSIZ: at most 15 bytes; no '/', no
// white space).
var ifname = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$`)

// reboot is R1 and R2 for node n whose PF interface `from` is named `to` after it.
func (c *Cluster) reboot(n *Node, from, to string) error {
	addr := ""
	for _, nic := range n.NICs {
		if nic.Name == from && nic.SRIOV && !contains(n.Skip, from) {
			addr = nic.Address
		}
	}
	if addr == "" {
		return fmt.Errorf("rename: %s has no SR-IOV PF named %s outside its skip-nics (the model judges the renames of those only)", n.Name, from)
	}
	classNet := filepath.Join(n.Dir, "sysfs", "class", "net")
	if _, err := os.Lstat(filepath.Join(classNet, to)); err == nil {
		return fmt.Errorf("rename: %s already has an interface named %s", n.Name, to)
	}
	dest, err := os.Readlink(filepath.Join(classNet, from))
	if err != nil {
		return fmt.Errorf("rename: %v", err)
	}
	planned, ok := n.Expect[addr]
	if !ok {
		planned = n.VFs[addr] // no --expect: the count the PF carried
	}
	netDir := filepath.Join(classNet, dest)
	if err := os.Rename(netDir, filepath.Join(filepath.Dir(netDir), to)); err != nil {
		return fmt.Errorf("rename: %v", err)
	}
	if err := os.Remove(filepath.Join(classNet, from)); err != nil {
		return fmt.Errorf("rename: %v", err)
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(dest), to), filepath.Join(classNet, to)); err != nil {
		return fmt.Errorf("rename: %v", err)
	}
	for a := range n.VFs {
		p := filepath.Join(n.Dir, "sysfs", "bus", "pci", "devices", a, "sriov_numvfs")
		if err := os.WriteFile(p, []byte("0\n"), 0o644); err != nil {
			return fmt.Errorf("rename: %v", err)
		}
	}
	c.ev(false, "%s reboots (an upgrade): the kernel starts with no VFs on any PF and names %s %s, which was %s (R1)", n.Name, addr, to, from)
	c.runBoot(n)
	if err := n.loadSysfs(); err != nil {
		return err
	}
	if err := n.loadFiles(); err != nil {
		return err
	}
	c.renames = append(c.renames, &rename{Node: n.Name, Address: addr, From: from, To: to, Planned: planned})
	return nil
}

// runBoot is R2: the tool's boot, for real, before rke2.
func (c *Cluster) runBoot(n *Node) {
	argv := readLines(filepath.Join(n.Dir, "boot"))
	if len(argv) == 0 {
		c.ev(false, "%s: no boot step (DIR/boot is absent): nothing runs before rke2", n.Name)
		return
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	text := strings.TrimSpace(string(out))
	if err != nil {
		c.ev(true, "%s: the tool's boot failed before rke2 (%v): %s", n.Name, err, text)
		return
	}
	c.ev(false, "%s: the tool's boot before rke2 (R2): %s", n.Name, text)
}

// startLabels is K1: the node labels of the node's rke2 config (DIR/rke2-config,
// its config.yaml.d) merged into the Node's labels at an rke2 start.
func (c *Cluster) startLabels(n *Node) {
	dir := filepath.Join(n.Dir, "rke2-config")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var labels []string
	for _, e := range ents {
		lower := strings.ToLower(e.Name())
		if e.IsDir() || (!strings.HasSuffix(lower, ".yaml") && !strings.HasSuffix(lower, ".yml")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var m map[string]any
		if yaml.Unmarshal(b, &m) != nil {
			c.ev(true, "%s: %s is not YAML: rke2 does not start", n.Name, e.Name())
			continue
		}
		if v, ok := m["node-label"]; ok {
			labels = strs(v)
		}
		if v, ok := m["node-label+"]; ok {
			labels = append(labels, strs(v)...)
		}
	}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if old, ok := n.Labels[k]; !ok || old != v {
			n.Labels[k] = v
			c.ev(false, "%s: rke2 starts with node label %s=%s (K1: merged, no label removed)", n.Name, k, v)
		}
	}
}

func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// renamedFrom is the rename of this step whose old-name pcidevices object o is.
func (c *Cluster) renamedFrom(o *Obj) *rename {
	for _, r := range c.renames {
		if o.Kind == devKind && o.Labels[nodeLabel] == r.Node && o.Name == strings.ToLower(r.Node+"-"+r.From) {
			return r
		}
	}
	return nil
}

// judgeRenames is R3 (pcidevices) and R4 (sriov-network-operator), at the end
// of the step, once the controllers have settled.
func (c *Cluster) judgeRenames() []RenameReport {
	var out []RenameReport
	for _, r := range c.renames {
		n := c.Nodes[r.Node]
		rep := RenameReport{Node: r.Node, Address: r.Address, From: r.From, To: r.To, Planned: r.Planned, Count: -1,
			VFs: n.VFs[r.Address], ZeroWrites: c.zeroWrites[r.Node+"/"+r.Address], Deleted: nonNil(r.Deleted), Stale: []string{}, Why: []string{}}
		what := fmt.Sprintf("%s %s renamed %s -> %s", r.Node, r.Address, r.From, r.To)
		if c.Addon {
			c.judgePcidevices(r, &rep)
		} else {
			c.judgeOperator(n, r, &rep)
		}
		if rep.ZeroWrites > 0 {
			rep.Why = append(rep.Why, fmt.Sprintf("%d write(s) of 0 to its sriov_numvfs: its VFs were torn down", rep.ZeroWrites))
		}
		if rep.VFs != r.Planned {
			rep.Why = append(rep.Why, fmt.Sprintf("the PF has %d VFs, %d planned", rep.VFs, r.Planned))
		}
		rep.Landed = len(rep.Why) == 0
		if rep.Landed {
			c.ev(false, "%s: the count %d landed on %s and the VFs were never reset to 0 (R3, R4)", what, r.Planned, rep.Holder)
			for _, d := range r.Deleted {
				c.ev(false, "%s: expected: %s (its NIC is gone; the count is on %s)", what, d, rep.Holder)
			}
		} else {
			c.ev(true, "%s: %s", what, strings.Join(rep.Why, "; "))
			for _, d := range r.Deleted {
				c.ev(true, "%s: %s, and the count did not land on the new name", what, d)
			}
		}
		out = append(out, rep)
	}
	return out
}

func (c *Cluster) judgePcidevices(r *rename, rep *RenameReport) {
	name := strings.ToLower(r.Node + "-" + r.To)
	rep.Holder = name
	switch o := c.objs[devKind+"//"+name]; {
	case o == nil:
		rep.Why = append(rep.Why, "no SRIOVNetworkDevice "+name+" in the cluster: the count was lost")
	case o.Labels[nodeLabel] != r.Node:
		rep.Why = append(rep.Why, name+" lacks label nodename: the agent does not see it")
	default:
		rep.Count = num(o.Spec["numVFs"])
		if rep.Count != r.Planned {
			rep.Why = append(rep.Why, fmt.Sprintf("%s has numVFs %d, %d planned: the count was lost", name, rep.Count, r.Planned))
		}
	}
	old := strings.ToLower(r.Node + "-" + r.From)
	if o := c.objs[devKind+"//"+old]; o != nil {
		rep.Why = append(rep.Why, fmt.Sprintf("%s, whose NIC is gone, is still in the cluster with numVFs %d: a stale object keeps a count", old, num(o.Spec["numVFs"])))
	}
}

func (c *Cluster) judgeOperator(n *Node, r *rename, rep *RenameReport) {
	var nic NIC
	for _, x := range n.NICs {
		if x.Address == r.Address {
			nic = x
		}
	}
	var sel []string
	counts := map[int]bool{}
	managed := true
	for _, o := range c.sortedObjs() {
		if o.Kind != policy || o.Namespace != c.Namespace || !selectsNode(o, n) {
			continue
		}
		if selectsNIC(o, nic) {
			sel = append(sel, o.Name)
			counts[num(o.Spec["numVfs"])] = true
			rep.Count = num(o.Spec["numVfs"])
			if em, _ := o.Spec["externallyManaged"].(bool); !em {
				managed = false
			}
		}
		old := nic
		old.Name = r.From
		if namesPF(o, r.From) && selectsNIC(o, old) {
			rep.Stale = append(rep.Stale, o.Name)
		}
	}
	rep.Holder = strings.Join(sel, ", ")
	switch {
	case len(sel) == 0:
		rep.Why = append(rep.Why, fmt.Sprintf("no SriovNetworkNodePolicy in %s selects it by the name it has now (%s)", c.Namespace, r.To))
	case len(counts) > 1:
		rep.Count = -1
		rep.Why = append(rep.Why, fmt.Sprintf("policies %s select it with different numVfs (fought over)", rep.Holder))
	case rep.Count != r.Planned:
		rep.Why = append(rep.Why, fmt.Sprintf("%s selects it with numVfs %d, %d planned", rep.Holder, rep.Count, r.Planned))
	case !managed:
		rep.Why = append(rep.Why, rep.Holder+" is not externallyManaged: the config daemon sets the count itself")
	}
	landed := len(rep.Why) == 0 && n.VFs[r.Address] == r.Planned
	for _, p := range rep.Stale {
		if landed {
			c.ev(false, "%s %s: policy %s still selects %s (K1: its label stays) and names %s, which %s no longer has: it selects nothing there by that name (R4)",
				r.Node, r.Address, p, r.Node, r.From, r.Node)
		} else {
			rep.Why = append(rep.Why, fmt.Sprintf("policy %s selects pfName %s, which no longer exists on %s", p, r.From, r.Node))
		}
	}
}

// namesPF: the policy's nicSelector.pfNames lists name (a "#" range cut off).
func namesPF(p *Obj, name string) bool {
	sel, _ := p.Spec["nicSelector"].(map[string]any)
	names, _ := sel["pfNames"].([]any)
	for _, x := range names {
		if s, _ := x.(string); strings.SplitN(s, "#", 2)[0] == name {
			return true
		}
	}
	return false
}
