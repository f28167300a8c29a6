package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	sriovnetworkv1 "github.com/k8snetworkplumbingwg/sriov-network-operator/api/v1"
)

// Cluster is the little API server state the webhook reads.
type Cluster struct {
	Namespace                 string
	NicIDs                    NicIDs
	ChartAdmissionControllers bool

	mu       sync.Mutex
	nodes    []*corev1.Node
	states   []*sriovnetworkv1.SriovNetworkNodeState
	policies []sriovnetworkv1.SriovNetworkNodePolicy
	requests []string
}

func (c *Cluster) AddNode(name string, st *sriovnetworkv1.SriovNetworkNodeState) {
	c.nodes = append(c.nodes, &corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
	})
	c.states = append(c.states, st)
}

func (c *Cluster) Label(node, k, v string) bool {
	for _, n := range c.nodes {
		if n.Name == node {
			n.Labels[k] = v
			return true
		}
	}
	return false
}

func (c *Cluster) NodeNames() []string {
	out := []string{}
	for _, n := range c.nodes {
		out = append(out, n.Name)
	}
	return out
}

func (c *Cluster) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{}, c.requests...)
}

func (c *Cluster) AddPolicy(raw []byte) {
	var p sriovnetworkv1.SriovNetworkNodePolicy
	if json.Unmarshal(raw, &p) == nil {
		c.mu.Lock()
		c.policies = append(c.policies, p)
		c.mu.Unlock()
	}
}

func (c *Cluster) HasResource(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.policies {
		if p.Spec.ResourceName == name && p.Namespace == c.Namespace {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, what string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: 404,
		Message: what + " not found",
	})
}

func (c *Cluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.requests = append(c.requests, r.Method+" "+r.URL.RequestURI())
	c.mu.Unlock()
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	ns := "/namespaces/" + c.Namespace + "/"
	p := r.URL.Path
	sriov := "/apis/" + group + "/v1"
	switch {
	case p == "/api":
		writeJSON(w, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
	case p == "/apis":
		gv := metav1.GroupVersionForDiscovery{GroupVersion: group + "/v1", Version: "v1"}
		writeJSON(w, metav1.APIGroupList{
			TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
			Groups:   []metav1.APIGroup{{Name: group, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}},
		})
	case p == "/api/v1":
		writeJSON(w, metav1.APIResourceList{
			TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1",
			APIResources: []metav1.APIResource{
				{Name: "nodes", Kind: "Node", Verbs: []string{"get", "list"}},
				{Name: "configmaps", Namespaced: true, Kind: "ConfigMap", Verbs: []string{"get", "list"}},
			},
		})
	case p == sriov:
		res := func(name, kind string) metav1.APIResource {
			return metav1.APIResource{Name: name, Namespaced: true, Kind: kind, Verbs: []string{"get", "list"}}
		}
		writeJSON(w, metav1.APIResourceList{
			TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: group + "/v1",
			APIResources: []metav1.APIResource{
				res("sriovnetworknodestates", "SriovNetworkNodeState"),
				res("sriovnetworknodepolicies", "SriovNetworkNodePolicy"),
				res("sriovoperatorconfigs", "SriovOperatorConfig"),
				res("sriovnetworks", "SriovNetwork"),
				res("sriovnetworkpoolconfigs", "SriovNetworkPoolConfig"),
			},
		})
	case p == "/api/v1/nodes":
		sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		list := corev1.NodeList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NodeList"}}
		for _, n := range c.nodes {
			if sel.Matches(labels.Set(n.Labels)) {
				list.Items = append(list.Items, *n)
			}
		}
		writeJSON(w, list)
	case p == "/api/v1"+ns+"configmaps/"+sriovnetworkv1.SupportedNicIDConfigmap:
		cm := corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: sriovnetworkv1.SupportedNicIDConfigmap, Namespace: c.Namespace},
			Data:       map[string]string(c.NicIDs),
		}
		writeJSON(w, cm)
	case p == sriov+ns+"sriovnetworknodestates":
		list := sriovnetworkv1.SriovNetworkNodeStateList{TypeMeta: metav1.TypeMeta{APIVersion: group + "/v1", Kind: "SriovNetworkNodeStateList"}}
		for _, s := range c.states {
			list.Items = append(list.Items, *s)
		}
		writeJSON(w, list)
	case p == sriov+ns+"sriovnetworknodepolicies":
		c.mu.Lock()
		list := sriovnetworkv1.SriovNetworkNodePolicyList{TypeMeta: metav1.TypeMeta{APIVersion: group + "/v1", Kind: "SriovNetworkNodePolicyList"}}
		for _, p := range c.policies {
			if p.Namespace == c.Namespace {
				list.Items = append(list.Items, p)
			}
		}
		c.mu.Unlock()
		writeJSON(w, list)
	default:
		notFound(w, p)
	}
}

// Serve starts the fake API server and writes a kubeconfig pointing at it.
func (c *Cluster) Serve() (*httptest.Server, string, error) {
	srv := httptest.NewServer(c)
	f, err := os.CreateTemp("", "oracle-kubeconfig-*.yaml")
	if err != nil {
		srv.Close()
		return nil, "", err
	}
	defer f.Close()
	fmt.Fprintf(f, `apiVersion: v1
kind: Config
clusters:
- name: oracle
  cluster: {server: %q}
users:
- name: oracle
  user: {}
contexts:
- name: oracle
  context: {cluster: oracle, user: oracle}
current-context: oracle
`, srv.URL)
	return srv, f.Name(), nil
}
