package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

const (
	devKind   = "SRIOVNetworkDevice"
	devAPI    = "devices.harvesterhci.io/v1beta1"
	nodeLabel = "nodename"                                    // v1beta1.NodeKeyName
	ifAnn     = "sriov.devices.harvesterhi.io/interface-name" // helper.go:35
	policy    = "SriovNetworkNodePolicy"
)

// Obj is one cluster object (or one document of a manifest file).
type Obj struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Namespace  string            `json:"namespace,omitempty"`
	Name       string            `json:"name"`
	Labels     map[string]string `json:"labels,omitempty"`
	Ann        map[string]string `json:"annotations,omitempty"`
	Spec       map[string]any    `json:"spec,omitempty"`
	Owner      string            `json:"owner,omitempty"`   // the Addon whose wrangler hash label it carries
	Creator    string            `json:"creator,omitempty"` // who created it
}

func (o Obj) Key() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

func readObjects(path string) ([]Obj, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Obj
	for i, doc := range docSep.Split(string(b), -1) {
		var m struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name        string            `json:"name"`
				Namespace   string            `json:"namespace"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec map[string]any `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("document %d: %v", i+1, err)
		}
		if m.Kind == "" {
			continue
		}
		out = append(out, Obj{APIVersion: m.APIVersion, Kind: m.Kind, Namespace: m.Metadata.Namespace, Name: m.Metadata.Name,
			Labels: m.Metadata.Labels, Ann: m.Metadata.Annotations, Spec: m.Spec})
	}
	return out, nil
}

// Event is something that happened in a step; Bad ones fail the story.
type Event struct {
	Text string `json:"text"`
	Bad  bool   `json:"bad,omitempty"`
}

// Cluster is the API server's objects plus the nodes.
type Cluster struct {
	Addon     bool
	Namespace string
	Nodes     map[string]*Node
	objs      map[string]*Obj
	addonGVKs map[string]map[string]bool // Addon -> kinds it applied (k3s GVKAnnotation)
	events    []Event
	// adminIntent: the admin asked for what happens now (a UI change)
	adminIntent bool
	writes      map[string][]string // object key -> spec writers this step (fight detection)
	renames     []*rename           // PFs renamed in this step (R1-R4)
	zeroWrites  map[string]int      // NODE/ADDR -> writes of 0 to its sriov_numvfs this step
}

// rename is one PF renamed at a reboot, judged at the end of its step (R3, R4).
type rename struct {
	Node, Address, From, To string
	Planned                 int
	Deleted                 []string // old-name objects deleted in the step: "NAME (numVFs N) by WHO"
}

func NewCluster(addon bool, ns string) *Cluster {
	return &Cluster{Addon: addon, Namespace: ns, Nodes: map[string]*Node{}, objs: map[string]*Obj{}, addonGVKs: map[string]map[string]bool{}}
}

func (c *Cluster) ev(bad bool, f string, a ...any) {
	e := Event{Text: fmt.Sprintf(f, a...), Bad: bad}
	for _, x := range c.events {
		if x == e {
			return // the same thing again on the next pass
		}
	}
	c.events = append(c.events, e)
}

func (c *Cluster) sortedNodes() []string {
	var out []string
	for n := range c.Nodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// StepReport is one line of output.
type StepReport struct {
	N       int                   `json:"step_no"`
	Step    string                `json:"step"`
	Events  []Event               `json:"events"`
	Nodes   map[string]NodeReport `json:"nodes"`
	Renames []RenameReport        `json:"renames,omitempty"`
}

// RenameReport is the judgement of one renamed PF (R3, R4).
type RenameReport struct {
	Node       string   `json:"node"`
	Address    string   `json:"address"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Planned    int      `json:"planned"`
	Landed     bool     `json:"landed"`
	Holder     string   `json:"holder"` // what carries the count now: the SRIOVNetworkDevice, or the policies selecting the PF
	Count      int      `json:"count"`  // its count; -1 when nothing carries one
	VFs        int      `json:"vfs"`    // the PF's VFs at the end of the step
	ZeroWrites int      `json:"zero_writes"`
	Deleted    []string `json:"deleted"`
	Stale      []string `json:"stale_policies"` // policies selecting the node that name the old name
	Why        []string `json:"why"`
}

type NodeReport struct {
	Role   string         `json:"role"`
	Member bool           `json:"member"`
	VFs    map[string]int `json:"vfs"`
	PFs    []PFStatus     `json:"planned"`
}

type PFStatus struct {
	Address string `json:"address"`
	Planned int    `json:"planned"`
	Usable  bool   `json:"usable"`
	Why     string `json:"why,omitempty"`
}

// Step runs one story step, then lets the controllers settle.
func (c *Cluster) Step(verb string, args []string) (StepReport, error) {
	c.events = nil
	c.writes = map[string][]string{}
	c.renames, c.zeroWrites = nil, map[string]int{}
	arg := args[0]
	name, uiArg, _ := strings.Cut(arg, "/")
	n := c.Nodes[name]
	restart := []string{}
	switch verb {
	case "create":
		n.Member, n.Role = true, "server"
		c.ev(false, "%s installs as the cluster-init rke2 server; its boot step ran before rke2", name)
		c.startLabels(n)
		restart = append(restart, name)
	case "join":
		n.Member, n.Role = true, "agent"
		c.ev(false, "%s installs as an rke2 agent (D5): nothing applies its manifests dir", name)
		c.startLabels(n)
	case "promote":
		if !n.Member {
			return StepReport{}, fmt.Errorf("%s is not in the cluster", name)
		}
		n.Role = "server"
		c.ev(false, "%s is promoted: rke2-server starts there and its deploy controller applies its manifests dir (D3, D5)", name)
		c.startLabels(n)
		restart = append(restart, name)
	case "restart":
		c.ev(false, "rke2 restarts on %s", name)
		c.startLabels(n)
		restart = append(restart, name)
	case "rename":
		// R1: an upgrade reboots the node and the kernel names the PF anew
		// (v1.6 -> v1.7: enp6s0f0 -> enp6s0f0np0); the tool's boot runs
		// before rke2, then rke2 starts (a server applies its files), then
		// the pcidevices agent's passes.
		if !n.Member {
			return StepReport{}, fmt.Errorf("%s is not in the cluster", name)
		}
		from, to, ok := strings.Cut(args[1], "=")
		if !ok || !ifname.MatchString(from) || !ifname.MatchString(to) || from == to {
			return StepReport{}, fmt.Errorf("rename: want NODE OLD=NEW (two interface names), got %q", args[1])
		}
		if err := c.reboot(n, from, to); err != nil {
			return StepReport{}, err
		}
		c.startLabels(n)
		if n.Role == "server" {
			c.ev(false, "rke2-server starts on %s: its deploy controller applies its manifests dir (D3)", name)
			restart = append(restart, name)
		} else {
			c.ev(false, "rke2-agent starts on %s: nothing applies its manifests dir (D5)", name)
		}
	case "handoff":
		c.ev(false, "the admin applies %s's hand-off objects once (kubectl apply: no Addon owner, no prune)", name)
		for _, f := range sortedFiles(n) {
			for _, o := range n.Files[f] {
				c.put(o, "", "kubectl("+name+")")
			}
		}
		n.HandedOff = true
	case "ui":
		// the admin changes a PF's count in Harvester's UI: disable (numVFs 0),
		// then enable with the new count, each followed by the agent's reconcile
		addr, count, ok := strings.Cut(uiArg, "=")
		m, err := strconv.Atoi(count)
		if !ok || err != nil {
			return StepReport{}, fmt.Errorf("ui: want NODE/ADDR=N, got %q", arg)
		}
		var dev *Obj
		for _, o := range c.sortedObjs() {
			if o.Kind == devKind && o.Spec["address"] == addr && o.Spec["nodeName"] == name {
				dev = o
			}
		}
		if dev == nil {
			return StepReport{}, fmt.Errorf("ui: no SRIOVNetworkDevice for %s on %s", addr, name)
		}
		c.ev(false, "the admin sets %s to %d VFs in the UI (disable, then enable with %d)", dev.Name, m, m)
		c.adminIntent = true
		for _, v := range []int{0, m} {
			upd := *dev
			upd.Spec = map[string]any{"numVFs": float64(v)}
			c.put(upd, "", "ui")
			c.pcidevicesPass(n)
		}
		c.adminIntent = false
		n.Expect[addr] = m
		c.writes = map[string][]string{}
	case "remove":
		n.Member, n.Role = false, ""
		c.ev(false, "%s leaves: its files are gone; nothing is deleted in the cluster (D4)", name)
		mine := map[string]bool{}
		for _, f := range n.Files {
			for _, o := range f {
				mine[o.Key()] = true
			}
		}
		for _, o := range c.sortedObjs() {
			if mine[o.Key()] || o.Spec["nodeName"] == name || o.Labels[nodeLabel] == name {
				c.ev(false, "stays in the cluster: %s (Addon owner %q, created by %s)", o.Key(), o.Owner, o.Creator)
			}
		}
	default:
		return StepReport{}, fmt.Errorf("unknown verb %q", verb)
	}
	for _, s := range restart {
		c.deployAll(c.Nodes[s])
	}
	// settle: every node's pcidevices pass (every 30 s), until nothing changes
	for round := 0; round < 4; round++ {
		before := c.snapshot()
		vfsBefore := c.vfsSnapshot()
		if c.Addon {
			for _, nn := range c.sortedNodes() {
				if c.Nodes[nn].Member {
					c.pcidevicesPass(c.Nodes[nn])
				}
			}
		}
		// servers' periodic passes re-apply only files changed on disk (D3):
		// none change within a step
		if reflect.DeepEqual(before, c.snapshot()) && reflect.DeepEqual(vfsBefore, c.vfsSnapshot()) {
			break
		}
		if round == 3 {
			c.ev(true, "the controllers never settle: objects or VF counts keep changing (fought over)")
		}
	}
	for key, ws := range c.writes {
		distinct := map[string]bool{}
		for _, w := range ws {
			distinct[w] = true
		}
		if len(distinct) > 1 {
			c.ev(true, "%s is written by %d owners in one step (%s): fought over", key, len(distinct), strings.Join(uniq(ws), ", "))
		}
	}
	renames := c.judgeRenames()
	rep := StepReport{Step: verb + " " + strings.Join(args, " "), Events: c.events, Nodes: map[string]NodeReport{}, Renames: renames}
	if rep.Events == nil {
		rep.Events = []Event{}
	}
	for _, nn := range c.sortedNodes() {
		node := c.Nodes[nn]
		if !node.Member && node.Role == "" && verb != "remove" {
			continue
		}
		r := NodeReport{Role: node.Role, Member: node.Member, VFs: node.VFs, PFs: c.Status(node)}
		rep.Nodes[nn] = r
	}
	return rep, nil
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func sortedFiles(n *Node) []string {
	var out []string
	for f := range n.Files {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func (c *Cluster) sortedObjs() []*Obj {
	var keys []string
	for k := range c.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*Obj
	for _, k := range keys {
		out = append(out, c.objs[k])
	}
	return out
}

func (c *Cluster) Objects() []Obj {
	out := []Obj{}
	for _, o := range c.sortedObjs() {
		out = append(out, *o)
	}
	return out
}

func (c *Cluster) snapshot() string {
	b, _ := json.Marshal(c.Objects())
	return string(b)
}

func (c *Cluster) vfsSnapshot() string {
	m := map[string]map[string]int{}
	for n, node := range c.Nodes {
		m[n] = node.VFs
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// addonName is D1: the file name up to its first period.
func addonName(file string) string {
	return strings.SplitN(file, ".", 2)[0]
}

// deployAll is one pass of a server's deploy controller over its files (D2-D4).
func (c *Cluster) deployAll(n *Node) {
	c.beforeStart(n)
	for _, f := range sortedFiles(n) {
		if _, err := os.Stat(filepath.Join(n.Dir, "manifests", f+".skip")); err == nil {
			c.ev(false, "%s: rke2 skips %s: %s.skip is beside it (D6)", n.Name, f, f)
			continue
		}
		c.apply(n, addonName(f), f, n.Files[f])
	}
}

// beforeStart runs the node's rke2-server ExecStartPre (DIR/rke2-server-exec-start-pre:
// the argv, one a line, taken by the test from the tool's own systemd drop-in): systemd
// runs it before every start of the unit; its "-" prefix means a failure does not stop
// rke2 (systemd.service(5), ExecStartPre=). It is run for real, no shell.
func (c *Cluster) beforeStart(n *Node) {
	argv := readLines(filepath.Join(n.Dir, "rke2-server-exec-start-pre"))
	if len(argv) == 0 {
		return
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		c.ev(true, "%s: rke2-server's ExecStartPre failed (%v): %s", n.Name, err, strings.TrimSpace(string(out)))
		return
	}
	c.ev(false, "%s: rke2-server's ExecStartPre: %s", n.Name, strings.TrimSpace(string(out)))
}

// apply is wrangler's owned apply (D2).
func (c *Cluster) apply(n *Node, addon, file string, objs []Obj) {
	writer := "Addon kube-system/" + addon + " (" + n.Name + ":" + file + ")"
	kinds := c.addonGVKs[addon]
	if kinds == nil {
		kinds = map[string]bool{}
		c.addonGVKs[addon] = kinds
	}
	want := map[string]bool{}
	for _, o := range objs {
		kinds[o.Kind] = true
		want[o.Key()] = true
	}
	before := c.snapshot()
	for _, o := range objs {
		c.put(o, addon, writer)
	}
	if c.snapshot() == before {
		c.ev(false, "%s applies %s as Addon %q: %d object(s), all already as in the file", n.Name, file, addon, len(objs))
	}
	// prune: existing objects with this owner's hash whose kind the Addon
	// applied, missing from this file (desiredset_process.go compareSets)
	for _, o := range c.sortedObjs() {
		if o.Owner == addon && kinds[o.Kind] && !want[o.Key()] {
			delete(c.objs, o.Key())
			if r := c.renamedFrom(o); r != nil {
				r.Deleted = append(r.Deleted, fmt.Sprintf("%s (numVFs %d) pruned by Addon %q", o.Name, num(o.Spec["numVFs"]), addon))
				c.ev(false, "%s applies %s: %s (applied earlier under the same Addon %q) is not in this file: pruned; its NIC %s is %s now (judged at the end of the step: R3)",
					n.Name, file, o.Key(), addon, r.From, r.To)
				continue
			}
			c.ev(true, "%s applies %s: %s (applied earlier under the same Addon %q) is not in this file: PRUNED", n.Name, file, o.Key(), addon)
		}
	}
}

// put creates or patches an object (a three-way patch: the file's fields win,
// labels and annotations merge), taking over an object of another owner.
func (c *Cluster) put(o Obj, owner, writer string) {
	k := o.Key()
	cur, ok := c.objs[k]
	if !ok {
		cp := o // the cluster's copy: later patches must not touch the file's object
		cp.Spec = map[string]any{}
		for f, v := range o.Spec {
			cp.Spec[f] = v
		}
		cp.Labels = merge(nil, o.Labels)
		cp.Ann = merge(nil, o.Ann)
		cp.Owner, cp.Creator = owner, writer
		c.objs[k] = &cp
		c.ev(false, "%s creates %s", writer, k)
		c.writes[k] = append(c.writes[k], writer)
		return
	}
	changed := false
	if owner != "" && cur.Owner != owner {
		if cur.Owner != "" {
			c.ev(true, "%s takes %s over from Addon %q: two Addons own one object (fought over)", writer, k, cur.Owner)
		} else {
			c.ev(false, "%s takes over %s (created by %s)", writer, k, cur.Creator)
		}
		cur.Owner = owner
		changed = true
	}
	for f, v := range o.Spec {
		if !reflect.DeepEqual(cur.Spec[f], v) {
			c.ev(false, "%s patches %s spec.%s %v -> %v", writer, k, f, js(cur.Spec[f]), js(v))
			if cur.Spec == nil {
				cur.Spec = map[string]any{}
			}
			cur.Spec[f] = v
			changed = true
		}
	}
	cur.Labels = merge(cur.Labels, o.Labels)
	cur.Ann = merge(cur.Ann, o.Ann)
	if changed {
		c.writes[k] = append(c.writes[k], writer)
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func merge(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

func num(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case int64:
		return int(x)
	}
	return -1
}

// pcidevicesPass is one discovery pass and reconcile of the pcidevices agent
// on node n (P1-P3).
func (c *Cluster) pcidevicesPass(n *Node) {
	who := "pcidevices(" + n.Name + ")"
	listed := map[string]*Obj{}
	for _, o := range c.sortedObjs() {
		if o.Kind == devKind && o.Labels[nodeLabel] == n.Name {
			listed[o.Name] = o
		}
	}
	generated := map[string]NIC{}
	for _, nic := range n.NICs {
		if !nic.SRIOV || contains(n.Skip, nic.Name) {
			continue
		}
		generated[strings.ToLower(n.Name+"-"+nic.Name)] = nic
	}
	names := make([]string, 0, len(generated))
	for g := range generated {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		if listed[g] != nil {
			continue
		}
		nic := generated[g]
		k := devKind + "//" + g
		if cur, ok := c.objs[k]; ok {
			c.ev(true, "%s: Create %s fails with AlreadyExists (the existing object, by %s, lacks label %s=%s): discovery stops there on every pass",
				who, g, cur.Creator, nodeLabel, n.Name)
			return
		}
		o := Obj{APIVersion: devAPI, Kind: devKind, Name: g, Labels: map[string]string{nodeLabel: n.Name},
			Ann: map[string]string{ifAnn: nic.Name}, Spec: map[string]any{"address": nic.Address, "nodeName": n.Name, "numVFs": float64(0)}}
		c.put(o, "", who)
	}
	for _, name := range sortedKeys(listed) {
		if _, ok := generated[name]; !ok {
			o := listed[name]
			delete(c.objs, o.Key())
			if r := c.renamedFrom(o); r != nil {
				r.Deleted = append(r.Deleted, fmt.Sprintf("%s (numVFs %d) deleted by %s", o.Name, num(o.Spec["numVFs"]), who))
				c.ev(false, "%s deletes %s: its NIC %s is %s now, so it generates no such name (P1; judged at the end of the step: R3)", who, o.Key(), r.From, r.To)
				continue
			}
			c.ev(true, "%s deletes %s: it generates no such name on %s (P1)", who, o.Key(), n.Name)
		}
	}
	// reconcile every object of this node (P3)
	for _, o := range c.sortedObjs() {
		if o.Kind != devKind || o.Spec["nodeName"] != n.Name {
			continue
		}
		addr, _ := o.Spec["address"].(string)
		want := num(o.Spec["numVFs"])
		now, ok := n.VFs[addr]
		if !ok || want < 0 {
			continue
		}
		switch {
		case want == 0 && now != 0:
			n.VFs[addr] = 0
			c.zeroWrites[n.Name+"/"+addr]++
			c.ev(now > 0 && !c.adminIntent, "%s: %s has numVFs 0: writes 0 to %s sriov_numvfs, tearing down %d VFs", who, o.Name, addr, now)
		case want != now && now != 0:
			c.ev(true, "%s: %s wants %d VFs on %s, which has %d: writing %d gives EBUSY (no 0 first), on every pass", who, o.Name, want, addr, now, want)
		case want != now:
			n.VFs[addr] = want
			c.ev(false, "%s: %s: writes %d to %s sriov_numvfs", who, o.Name, want, addr)
		}
	}
}

func sortedKeys(m map[string]*Obj) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Status says, for each planned PF of a node, whether VMs can use its VFs.
func (c *Cluster) Status(n *Node) []PFStatus {
	out := []PFStatus{}
	var addrs []string
	for a := range n.Expect {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		want := n.Expect[a]
		s := PFStatus{Address: a, Planned: want}
		have := n.VFs[a]
		if want == 0 {
			s.Usable = true
			out = append(out, s)
			continue
		}
		if c.Addon {
			var dev *Obj
			for _, o := range c.sortedObjs() {
				if o.Kind == devKind && o.Spec["address"] == a && o.Spec["nodeName"] == n.Name {
					dev = o
				}
			}
			switch {
			case dev == nil:
				s.Why = "no SRIOVNetworkDevice for it in the cluster"
			case dev.Labels[nodeLabel] != n.Name:
				s.Why = dev.Name + " lacks label nodename: the controller does not see it"
			case num(dev.Spec["numVFs"]) != want:
				s.Why = fmt.Sprintf("%s has numVFs %d in the cluster", dev.Name, num(dev.Spec["numVFs"]))
			case have != want:
				s.Why = fmt.Sprintf("the PF has %d VFs", have)
			default:
				s.Usable = true
			}
		} else {
			s.Usable, s.Why = c.operatorUsable(n, a, want, have)
		}
		out = append(out, s)
	}
	return out
}

func (c *Cluster) operatorUsable(n *Node, addr string, want, have int) (bool, string) {
	if have != want {
		return false, fmt.Sprintf("the PF has %d VFs", have)
	}
	var nic NIC
	for _, x := range n.NICs {
		if x.Address == addr {
			nic = x
		}
	}
	var sel []*Obj
	for _, o := range c.sortedObjs() {
		if o.Kind != policy || o.Namespace != c.Namespace {
			continue
		}
		if selectsNode(o, n) && selectsNIC(o, nic) {
			sel = append(sel, o)
		}
	}
	switch {
	case len(sel) == 0:
		return false, "no SriovNetworkNodePolicy in " + c.Namespace + " selects this node and PF"
	case len(sel) > 1 && num(sel[0].Spec["numVfs"]) != num(sel[1].Spec["numVfs"]):
		return false, fmt.Sprintf("policies %s and %s select it with different numVfs (fought over)", sel[0].Name, sel[1].Name)
	}
	p := sel[0]
	if em, _ := p.Spec["externallyManaged"].(bool); !em {
		return false, p.Name + " is not externallyManaged: the config daemon sets the count itself and resets it"
	}
	if num(p.Spec["numVfs"]) > have {
		return false, fmt.Sprintf("%s wants %d VFs, %d exist", p.Name, num(p.Spec["numVfs"]), have)
	}
	return true, ""
}

func selectsNode(p *Obj, n *Node) bool {
	sel, _ := p.Spec["nodeSelector"].(map[string]any)
	for k, v := range sel {
		if s, _ := v.(string); n.Labels[k] != s {
			return false
		}
	}
	return true
}

func selectsNIC(p *Obj, nic NIC) bool {
	sel, _ := p.Spec["nicSelector"].(map[string]any)
	if v, ok := sel["vendor"].(string); ok && v != nic.Vendor {
		return false
	}
	if v, ok := sel["deviceID"].(string); ok && v != nic.Device {
		return false
	}
	if names, ok := sel["pfNames"].([]any); ok && len(names) > 0 {
		found := false
		for _, x := range names {
			if s, _ := x.(string); strings.SplitN(s, "#", 2)[0] == nic.Name {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if roots, ok := sel["rootDevices"].([]any); ok && len(roots) > 0 {
		found := false
		for _, x := range roots {
			if s, _ := x.(string); s == nic.Address {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
