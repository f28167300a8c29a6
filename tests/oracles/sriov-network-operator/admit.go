package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	sriovnetworkv1 "github.com/k8snetworkplumbingwg/sriov-network-operator/api/v1"
	"github.com/k8snetworkplumbingwg/sriov-network-operator/pkg/webhook"
)

const group = "sriovnetwork.openshift.io"

// admitAll sends every object through the operator's webhook as a Create, in
// order; an admitted policy joins the cluster's policy list, so later policies
// are checked against it (validatePolicyForNodePolicy in pkg/webhook/validate.go).
func admitAll(c *Cluster, kubeconfig string, objects []Object, emit func(Verdict)) (int, error) {
	if err := os.Setenv("KUBECONFIG", kubeconfig); err != nil {
		return 0, err
	}
	if err := webhook.SetupInClusterClient(); err != nil {
		return 0, fmt.Errorf("webhook.SetupInClusterClient: %w", err)
	}
	// the webhook server does this at start (cmd/webhook/start.go)
	if err := webhook.RetriveSupportedNics(); err != nil {
		return 0, fmt.Errorf("webhook.RetriveSupportedNics: %w", err)
	}
	verdicts := make([]Verdict, len(objects))
	for i, o := range objects {
		verdicts[i] = judge(c, i, o)
	}
	// a SriovNetwork needs a policy with its resourceName, wherever in the
	// apply order that policy comes (its controller reconciles again)
	for i, o := range objects {
		if o.Kind != "SriovNetwork" || verdicts[i].Reason != "" {
			continue
		}
		var n sriovnetworkv1.SriovNetwork
		_ = json.Unmarshal(o.Raw, &n)
		if !c.HasResource(n.Spec.ResourceName) {
			verdicts[i].Reason = fmt.Sprintf("admitted but useless: no admitted SriovNetworkNodePolicy has resourceName %q", n.Spec.ResourceName)
		}
	}
	refused := 0
	for _, v := range verdicts {
		if !v.Admitted || strings.HasPrefix(v.Reason, "admitted but") {
			refused++
		}
		emit(v)
	}
	return refused, nil
}

func judge(c *Cluster, i int, o Object) Verdict {
	v := Verdict{File: base(o.File), Kind: o.Kind, Name: o.Name, Namespace: o.Namespace}
	if !strings.HasPrefix(o.APIVersion, group+"/") {
		v.Admitted = true
		v.Checked = "not an sriov-network-operator object: not judged here"
		return v
	}
	if o.APIVersion != group+"/v1" {
		v.Checked = "api version"
		v.Reason = fmt.Sprintf("apiVersion %s: the CRDs of this release serve only v1", o.APIVersion)
		return v
	}
	// The CRD's structural schema drops unknown fields silently: refuse them
	// here, they would not mean what the tool intended.
	if err := strictDecode(o); err != nil {
		v.Checked = "schema (api/v1 types)"
		v.Reason = err.Error()
		return v
	}
	raw := o.Raw
	switch o.Kind {
	case "SriovNetworkNodePolicy":
		// the API server runs the mutating webhook first (pkg/webhook/mutate.go)
		resp := webhook.MutateCustomResource(review(i, o, raw))
		if resp.Result != nil && !resp.Allowed {
			v.Checked = "webhook.MutateCustomResource"
			v.Reason = statusText(resp.Result)
			return v
		}
		if len(resp.Patch) > 0 {
			patch, err := jsonpatch.DecodePatch(resp.Patch)
			if err == nil {
				raw, err = patch.Apply(raw)
			}
			if err != nil {
				v.Checked = "webhook.MutateCustomResource"
				v.Reason = "mutating webhook patch does not apply: " + err.Error()
				return v
			}
		}
		fallthrough
	case "SriovOperatorConfig", "SriovNetworkPoolConfig":
		if v.Checked == "" {
			v.Checked = "webhook.ValidateCustomResource"
		} else {
			v.Checked += "+webhook.ValidateCustomResource"
		}
		if o.Kind == "SriovNetworkNodePolicy" {
			v.Checked = "webhook.MutateCustomResource+webhook.ValidateCustomResource"
		}
		resp := webhook.ValidateCustomResource(review(i, o, raw))
		v.Admitted = resp.Allowed
		v.Warnings = resp.Warnings
		if resp.Result != nil {
			v.Reason = statusText(resp.Result)
		}
		if !v.Admitted && v.Reason == "" {
			v.Reason = "refused without a message"
		}
		if v.Admitted {
			for _, w := range resp.Warnings {
				if strings.Contains(w, "not used") {
					v.Reason = "admitted but ignored by the operator: " + w
				}
			}
		}
		if v.Admitted && o.Kind == "SriovNetworkNodePolicy" {
			c.AddPolicy(raw)
		}
		if v.Admitted && o.Kind == "SriovOperatorConfig" {
			checkOperatorConfig(c, raw, &v)
		}
	case "SriovNetwork":
		// pkg/webhook/webhook.go has no case for SriovNetwork in this release:
		// the API server admits it. Its controller renders a
		// NetworkAttachmentDefinition in spec.networkNamespace whose resource
		// is openshift.io/<resourceName> (controllers/sriovnetwork_controller.go):
		// a resourceName no admitted policy provides gives VMs nothing.
		v.Checked = "no webhook for this kind; resourceName against the admitted policies; (*SriovNetwork).RenderNetAttDef"
		v.Admitted = true
		if o.Namespace != c.Namespace {
			v.Reason = fmt.Sprintf("admitted but ignored by the operator: SriovNetwork %s is in namespace %q, the operator watches %q", o.Name, o.Namespace, c.Namespace)
		}
		// What the controller then creates: the operator's own renderer
		// (api/v1/helper.go) on its own template (bindata/manifests/cni-config).
		nad, err := renderNAD(o.Raw)
		if err != nil {
			v.Admitted = false
			v.Reason = "the operator cannot render its NetworkAttachmentDefinition: " + err.Error()
		}
		v.NetAttachDef = nad
	default:
		v.Admitted = true
		v.Checked = "kind not validated by this release's webhook"
	}
	return v
}

// checkOperatorConfig: the chart's values.yaml (deployment/sriov-network-operator-chart,
// operator.admissionControllers.enabled: false by default) deploys no webhook
// certificates; controllers/sriovoperatorconfig_controller.go then still
// registers the operator webhook when spec.enableOperatorWebhook is true, with
// failurePolicy Fail (bindata/manifests/operator-webhook): every later policy write fails.
func checkOperatorConfig(c *Cluster, raw []byte, v *Verdict) {
	var cfg sriovnetworkv1.SriovOperatorConfig
	_ = json.Unmarshal(raw, &cfg)
	if cfg.Spec.EnableOperatorWebhook && !c.ChartAdmissionControllers {
		v.Reason = "admitted but breaks the operator: spec.enableOperatorWebhook is true while the chart's operator.admissionControllers.enabled is false (no webhook certificates): every later SriovNetworkNodePolicy write is refused"
	}
}

func review(i int, o Object, raw []byte) admissionv1.AdmissionReview {
	return admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(fmt.Sprintf("oracle-%d", i)),
			Kind:      metav1.GroupVersionKind{Group: group, Version: "v1", Kind: o.Kind},
			Resource:  metav1.GroupVersionResource{Group: group, Version: "v1", Resource: strings.ToLower(o.Kind) + "s"},
			Name:      o.Name,
			Namespace: o.Namespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
}

func statusText(s *metav1.Status) string {
	parts := []string{}
	if s.Reason != "" {
		parts = append(parts, string(s.Reason))
	}
	if s.Message != "" {
		parts = append(parts, s.Message)
	}
	return strings.Join(parts, ": ")
}

func strictDecode(o Object) error {
	var target any
	switch o.Kind {
	case "SriovNetworkNodePolicy":
		target = &sriovnetworkv1.SriovNetworkNodePolicy{}
	case "SriovOperatorConfig":
		target = &sriovnetworkv1.SriovOperatorConfig{}
	case "SriovNetwork":
		target = &sriovnetworkv1.SriovNetwork{}
	case "SriovNetworkPoolConfig":
		target = &sriovnetworkv1.SriovNetworkPoolConfig{}
	default:
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(o.Raw))
	d.DisallowUnknownFields()
	if err := d.Decode(target); err != nil {
		return fmt.Errorf("%s %s does not decode into the operator's api/v1 type: %v", o.Kind, o.Name, err)
	}
	return nil
}

// NetAttachDef is the NetworkAttachmentDefinition the operator's controller
// would create for a SriovNetwork, its CNI config decoded (what sriov-cni reads).
type NetAttachDef struct {
	Name         string         `json:"name"`
	Namespace    string         `json:"namespace"`
	ResourceName string         `json:"resourceName"`
	Config       map[string]any `json:"config"`
}

// renderNAD runs (*SriovNetwork).RenderNetAttDef (api/v1/helper.go), as
// controllers/sriovnetwork_controller.go does, with the chart's RESOURCE_PREFIX
// (deployment/sriov-network-operator-chart: values.yaml operator.resourcePrefix,
// templates/operator.yaml) and the template dir copied by scripts/oracles.sh.
func renderNAD(raw []byte) (*NetAttachDef, error) {
	var n sriovnetworkv1.SriovNetwork
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	if os.Getenv("RESOURCE_PREFIX") == "" {
		if err := os.Setenv("RESOURCE_PREFIX", "openshift.io"); err != nil {
			return nil, err
		}
	}
	obj, err := n.RenderNetAttDef()
	if err != nil {
		return nil, fmt.Errorf("RenderNetAttDef: %w", err)
	}
	cfg, found, err := unstructured.NestedString(obj.Object, "spec", "config")
	if err != nil || !found {
		return nil, fmt.Errorf("rendered object has no spec.config (%v)", err)
	}
	nad := &NetAttachDef{Name: obj.GetName(), Namespace: obj.GetNamespace(), ResourceName: obj.GetAnnotations()["k8s.v1.cni.cncf.io/resourceName"]}
	if err := json.Unmarshal([]byte(cfg), &nad.Config); err != nil {
		return nil, fmt.Errorf("rendered CNI config is not JSON: %w: %s", err, cfg)
	}
	return nad, nil
}
