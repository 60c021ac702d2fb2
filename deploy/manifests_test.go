// Package deploy holds Sputnik's container build and Kubernetes manifests;
// its test decodes every manifest strictly against the Kubernetes API types
// (unknown or duplicate fields are errors) and checks that the pieces fit
// together: labels, ports, probes, serve flags and metric names.
//
// It is a module of its own so that k8s.io/api and the inference
// extension's types stay out of the main module's dependencies.
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	inferencev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// newObject returns an empty object of the Go type for apiVersion/kind.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Pod":
		return &corev1.Pod{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "rbac.authorization.k8s.io/v1/Role":
		return &rbacv1.Role{}, true
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return &rbacv1.RoleBinding{}, true
	case "inference.networking.k8s.io/v1/InferencePool":
		return &inferencev1.InferencePool{}, true
	case "gateway.networking.k8s.io/v1/HTTPRoute":
		return &gatewayv1.HTTPRoute{}, true
	}
	return nil, false
}

// object is one decoded manifest document.
type object struct {
	file string
	kind string
	name string
	obj  any
}

// loadManifests decodes every document of every k8s/*.yaml file strictly.
func loadManifests(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var objs []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Errorf("%s document %d: %v", f, i, err)
				continue
			}
			obj, ok := newObject(tm.APIVersion, tm.Kind)
			if !ok {
				t.Errorf("%s document %d: no Go type for %s %s", f, i, tm.APIVersion, tm.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s document %d (%s): %v", f, i, tm.Kind, err)
				continue
			}
			name := obj.(metav1.Object).GetName()
			if name == "" {
				t.Errorf("%s document %d (%s): no metadata.name", f, i, tm.Kind)
			}
			objs = append(objs, object{f, tm.Kind, name, obj})
		}
	}
	return objs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// find returns the one object of kind and name.
func find[T any](t *testing.T, objs []object, kind, name string) T {
	t.Helper()
	for _, o := range objs {
		if o.kind == kind && o.name == name {
			return o.obj.(T)
		}
	}
	t.Fatalf("no %s %q in the manifests", kind, name)
	var zero T
	return zero
}

// TestStrictDecoding: an unknown field anywhere is an error, so a typo
// in a manifest (or a field the API does not have) fails here.
func TestStrictDecoding(t *testing.T) {
	objs := loadManifests(t)
	if len(objs) < 10 {
		t.Errorf("decoded %d objects, want the whole set", len(objs))
	}
	bad := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 2\n"
	if err := yaml.UnmarshalStrict([]byte(bad), &appsv1.Deployment{}); err == nil {
		t.Error("strict decoding accepted an unknown field")
	}
	badPool := "apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata:\n  name: x\nspec:\n  targetPortNumber: 8080\n"
	if err := yaml.UnmarshalStrict([]byte(badPool), &inferencev1.InferencePool{}); err == nil {
		t.Error("strict decoding accepted v1alpha2's targetPortNumber in a v1 InferencePool")
	}
}

// TestServerDeployment checks the model servers: probes on /health, memory
// sized, the volume mounted, and only flags that sputnik serve has.
func TestServerDeployment(t *testing.T) {
	objs := loadManifests(t)
	d := find[*appsv1.Deployment](t, objs, "Deployment", "sputnik")
	pod := d.Spec.Template
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("the Deployment's selector does not select its pods: %v", err)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/health" || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe: want GET /health on port http, got %+v", name, p)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports %+v, want http 8080", c.Ports)
	}
	mem := c.Resources.Requests[corev1.ResourceMemory]
	if mem.IsZero() || !mem.Equal(c.Resources.Limits[corev1.ResourceMemory]) {
		t.Errorf("memory request %v and limit %v: want both set, equal", mem.String(), c.Resources.Limits.Memory())
	}
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].PersistentVolumeClaim == nil {
		t.Fatalf("volumes %+v: want the model store's claim", pod.Spec.Volumes)
	}
	claim := pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName
	pvc := find[*corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", claim)
	if pvc.Spec.Resources.Requests.Storage().IsZero() {
		t.Error("the model store's claim requests no storage")
	}
	if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod may run as root")
	}

	// Every flag in args is one sputnik serve has: its name appears as a
	// flag definition in cmd/sputnik.
	src := readSources(t, "../cmd/sputnik")
	for _, a := range c.Args {
		name, ok := strings.CutPrefix(a, "-")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(strings.TrimPrefix(name, "-"), "=")
		if !strings.Contains(src, `"`+name+`"`) {
			t.Errorf("arg %s: sputnik serve has no flag %q", a, name)
		}
	}
	if !slices.Contains(c.Args, "-m") {
		t.Error("args do not name the model with -m")
	}
	var apiKey bool
	for _, e := range c.Env {
		apiKey = apiKey || e.Name == "SPUTNIK_API_KEY"
	}
	if !apiKey || !strings.Contains(src, `"SPUTNIK_API_KEY"`) {
		t.Error("SPUTNIK_API_KEY is not passed, or sputnik no longer reads it")
	}

	svc := find[*corev1.Service](t, objs, "Service", "sputnik")
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
		t.Error("the Service does not select the model servers")
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("service ports %+v", svc.Spec.Ports)
	}
}

// TestInferencePool checks that the pool selects the model servers on
// their port and points at the endpoint picker, whose flags select
// Sputnik's metric names (which the server exports).
func TestInferencePool(t *testing.T) {
	objs := loadManifests(t)
	pool := find[*inferencev1.InferencePool](t, objs, "InferencePool", "sputnik")
	d := find[*appsv1.Deployment](t, objs, "Deployment", "sputnik")
	set := labels.Set{}
	for k, v := range pool.Spec.Selector.MatchLabels {
		set[string(k)] = string(v)
	}
	if len(set) == 0 || !labels.SelectorFromSet(set).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the pool's selector %v does not select the model servers %v", set, d.Spec.Template.Labels)
	}
	if len(pool.Spec.TargetPorts) != 1 || pool.Spec.TargetPorts[0].Number != 8080 {
		t.Errorf("target ports %+v, want 8080", pool.Spec.TargetPorts)
	}
	ref := pool.Spec.EndpointPickerRef
	if ref == nil || ref.Port == nil {
		t.Fatal("no endpointPickerRef with a port")
	}
	eppSvc := find[*corev1.Service](t, objs, "Service", string(ref.Name))
	var grpcPort bool
	for _, p := range eppSvc.Spec.Ports {
		grpcPort = grpcPort || p.Port == int32(ref.Port.Number)
	}
	if !grpcPort {
		t.Errorf("the EPP service has no port %d", ref.Port.Number)
	}

	epp := find[*appsv1.Deployment](t, objs, "Deployment", "sputnik-epp")
	if !labels.SelectorFromSet(eppSvc.Spec.Selector).Matches(labels.Set(epp.Spec.Template.Labels)) {
		t.Error("the EPP service does not select the EPP pods")
	}
	args := strings.Join(epp.Spec.Template.Spec.Containers[0].Args, " ")
	metrics := readSources(t, "../internal/server")
	for _, flag := range []string{
		"--pool-name=" + pool.Name,
		"--total-queued-requests-metric=sputnik_num_requests_waiting",
		"--total-running-requests-metric=sputnik_num_requests_running",
		"--kv-cache-usage-percentage-metric=sputnik_kv_cache_usage_perc",
		"--cache-info-metric=sputnik_cache_config_info",
	} {
		if !strings.Contains(args, flag) {
			t.Errorf("EPP args lack %s", flag)
		}
		if _, metric, ok := strings.Cut(flag, "=sputnik_"); ok && !strings.Contains(metrics, `"sputnik_`+metric+`"`) &&
			!strings.Contains(metrics, `"`+metric+`"`) {
			t.Errorf("the server exports no metric sputnik_%s", metric)
		}
	}

	// The EndpointPickerConfig in the ConfigMap the EPP mounts.
	cm := find[*corev1.ConfigMap](t, objs, "ConfigMap", "sputnik-epp")
	var cfg endpointPickerConfig
	if err := yaml.UnmarshalStrict([]byte(cm.Data["epp-config.yaml"]), &cfg); err != nil {
		t.Fatalf("epp-config.yaml: %v", err)
	}
	if cfg.APIVersion != "inference.networking.x-k8s.io/v1alpha1" || cfg.Kind != "EndpointPickerConfig" {
		t.Errorf("epp-config.yaml is %s %s", cfg.APIVersion, cfg.Kind)
	}
	declared := map[string]bool{}
	for _, p := range cfg.Plugins {
		name := p.Name
		if name == "" {
			name = p.Type
		}
		declared[name] = true
	}
	for _, want := range []string{"queue-scorer", "kv-cache-utilization-scorer"} {
		if !declared[want] {
			t.Errorf("epp-config.yaml does not declare %s", want)
		}
	}
	if len(cfg.SchedulingProfiles) == 0 {
		t.Fatal("epp-config.yaml has no scheduling profile")
	}
	for _, sp := range cfg.SchedulingProfiles {
		for _, r := range sp.Plugins {
			if !declared[r.PluginRef] {
				t.Errorf("profile %s refers to undeclared plugin %s", sp.Name, r.PluginRef)
			}
		}
	}
	route := find[*gatewayv1.HTTPRoute](t, objs, "HTTPRoute", "sputnik")
	var toPool bool
	for _, r := range route.Spec.Rules {
		for _, b := range r.BackendRefs {
			toPool = toPool || (b.Group != nil && string(*b.Group) == inferencev1.GroupName &&
				b.Kind != nil && *b.Kind == "InferencePool" && string(b.Name) == pool.Name)
		}
	}
	if !toPool {
		t.Error("the HTTPRoute does not send requests to the InferencePool")
	}
	if !strings.Contains(args, "--config-file=/config/epp-config.yaml") {
		t.Error("the EPP is not given the config file")
	}
}

// endpointPickerConfig is the EPP's configuration file, written by hand:
// its Go types (EndpointPickerConfig, apiVersion
// inference.networking.x-k8s.io/v1alpha1) left the inference extension's
// module for llm-d/llm-d-router and are not in
// sigs.k8s.io/gateway-api-inference-extension v1.6.2. The fields are those
// of its plugins and schedulingProfiles sections.
type endpointPickerConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Plugins    []struct {
		Type       string         `json:"type"`
		Name       string         `json:"name,omitempty"`
		Parameters map[string]any `json:"parameters,omitempty"`
	} `json:"plugins"`
	SchedulingProfiles []struct {
		Name    string `json:"name"`
		Plugins []struct {
			PluginRef string   `json:"pluginRef"`
			Weight    *float64 `json:"weight,omitempty"`
		} `json:"plugins"`
	} `json:"schedulingProfiles"`
}

// TestDockerfile checks the image build: a static binary (CGO_ENABLED=0)
// from the Go version go.mod asks for, a non-root user, port 8080, and
// serve on every interface as the entrypoint.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVersion == nil {
		t.Fatal("no go directive in ../go.mod")
	}
	for _, want := range []string{
		fmt.Sprintf("FROM golang:%s AS build", goVersion[1]),
		"CGO_ENABLED=0 go build",
		"FROM gcr.io/distroless/static",
		"USER 65532:65532",
		"EXPOSE 8080",
		`ENTRYPOINT ["/usr/local/bin/sputnik", "serve", "--addr", "0.0.0.0:8080"]`,
	} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// readSources returns the non-test Go files of dir, concatenated.
func readSources(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}
