// Command sriov-network-operator is a test oracle: it runs the admission
// webhook of k8snetworkplumbingwg/sriov-network-operator (the pinned release in
// go.mod) on every object of the given manifest files, the way the API server
// would when rke2's deploy controller applies them.
//
// The webhook's own entry points are used unchanged: webhook.RetriveSupportedNics,
// webhook.MutateCustomResource and webhook.ValidateCustomResource
// (pkg/webhook/webhook.go). Its dynamic checks list Nodes, SriovNetworkNodeStates
// and SriovNetworkNodePolicies through a real client (pkg/webhook/client.go,
// KUBECONFIG); this oracle serves those lists from an in-process fake API server
// (fakeapi.go) holding:
//   - one Node per --node NAME=SYSFS (labels: kubernetes.io/hostname=NAME and --label),
//   - one SriovNetworkNodeState per node, built from that fake sysfs tree the way
//     the config daemon discovers PFs (nodestate.go),
//   - the chart's supported-nic-ids ConfigMap (--nic-ids, plus --extra-nic lines,
//     as the chart's supportedExtraNICs value adds them),
//   - the policies admitted so far (objects are applied in file order).
//
// Usage:
//
//	sriov-network-operator [--namespace NS] [--nic-ids FILE] [--extra-nic 'Name: "vvvv dddd ffff"']...
//	    --node NAME=SYSFS... [--label NAME:key=value]... MANIFEST...
//
// Output: one JSON object per line per manifest object, then a summary line.
// Exit 0 when every object is admitted, 1 when any is refused (the webhook's
// own message is in "reason"), 2 on usage or input errors.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	sriovnetworkv1 "github.com/k8snetworkplumbingwg/sriov-network-operator/api/v1"
)

const defaultNamespace = "sriov-network-operator" // the chart's namespace (deployment/sriov-network-operator-chart)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Verdict is one line of output.
type Verdict struct {
	File      string   `json:"file"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	Namespace string   `json:"namespace,omitempty"`
	Admitted  bool     `json:"admitted"`
	Reason    string   `json:"reason,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Checked   string   `json:"checked"`
	// NetAttachDef: for a SriovNetwork, what the operator renders from it.
	NetAttachDef *NetAttachDef `json:"netAttachDef,omitempty"`
}

func usage(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "sriov-network-operator oracle: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	var nodes, labels, extra multi
	ns := flag.String("namespace", defaultNamespace, "the operator's namespace (env NAMESPACE of the webhook)")
	nicIDs := flag.String("nic-ids", "", "the chart's templates/configmap.yaml (default: next to this binary, copied by scripts/oracles.sh)")
	cniConfig := flag.String("cni-config", "", "the operator's bindata/manifests/cni-config dir (default: next to this binary, copied by scripts/oracles.sh)")
	flag.Var(&nodes, "node", "NAME=SYSFS: a node and its fake sysfs tree (repeatable)")
	flag.Var(&labels, "label", "NAME:key=value: an extra label of a node (repeatable)")
	flag.Var(&extra, "extra-nic", `a supportedExtraNICs line, e.g. 'MyNIC: "8086 1521 1520"' (repeatable)`)
	flag.Parse()
	if len(nodes) == 0 || flag.NArg() == 0 {
		usage("need --node NAME=SYSFS and at least one manifest file")
	}

	// The webhook package reads NAMESPACE in package initialisers (pkg/vars/vars.go
	// init, pkg/webhook/webhook.go `namespace`): set it, then run again.
	if os.Getenv("NAMESPACE") != *ns || os.Getenv("ORACLE_REEXEC") != "1" {
		self, err := os.Executable()
		if err != nil {
			usage("cannot find own executable: %v", err)
		}
		env := []string{}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "NAMESPACE=") && !strings.HasPrefix(kv, "ORACLE_REEXEC=") {
				env = append(env, kv)
			}
		}
		env = append(env, "NAMESPACE="+*ns, "ORACLE_REEXEC=1")
		if err := syscall.Exec(self, os.Args, env); err != nil {
			usage("re-exec: %v", err)
		}
	}

	if *nicIDs == "" {
		self, _ := os.Executable()
		*nicIDs = self + ".supported-nic-ids.yaml"
	}
	if *cniConfig == "" {
		self, _ := os.Executable()
		*cniConfig = self + ".cni-config"
	}
	sriovnetworkv1.ManifestsPath = *cniConfig
	cm, err := loadNicIDs(*nicIDs, extra)
	if err != nil {
		usage("%v", err)
	}

	cluster := &Cluster{Namespace: *ns, NicIDs: cm}
	for _, n := range nodes {
		name, dir, ok := strings.Cut(n, "=")
		if !ok || name == "" || dir == "" {
			usage("--node %q: want NAME=SYSFS", n)
		}
		state, err := NodeState(name, *ns, dir, cm)
		if err != nil {
			usage("--node %s: %v", n, err)
		}
		cluster.AddNode(name, state)
	}
	for _, l := range labels {
		name, kv, ok := strings.Cut(l, ":")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 {
			usage("--label %q: want NAME:key=value", l)
		}
		if !cluster.Label(name, k, v) {
			usage("--label %q: no such --node", l)
		}
	}

	var objects []Object
	for _, f := range flag.Args() {
		objs, err := readManifests(f)
		if err != nil {
			usage("%s: %v", f, err)
		}
		objects = append(objects, objs...)
	}

	srv, kubeconfig, err := cluster.Serve()
	if err != nil {
		usage("fake API server: %v", err)
	}
	defer srv.Close()
	defer os.Remove(kubeconfig)

	out := json.NewEncoder(os.Stdout)
	refused, err := admitAll(cluster, kubeconfig, objects, func(v Verdict) { _ = out.Encode(v) })
	if err != nil {
		usage("%v", err)
	}
	_ = out.Encode(map[string]any{
		"summary":   true,
		"objects":   len(objects),
		"refused":   refused,
		"namespace": *ns,
		"nodes":     cluster.NodeNames(),
		"requests":  cluster.Requests(),
	})
	if refused > 0 {
		os.Exit(1)
	}
}

// Object is one document of a manifest file.
type Object struct {
	File       string
	Raw        []byte // JSON
	Kind       string
	APIVersion string
	Name       string
	Namespace  string
}

func base(p string) string { return filepath.Base(p) }
