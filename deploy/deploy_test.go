// Package deploy holds avo's Kubernetes and OpenShift manifests; its test
// checks them offline: every object strictly against its API type (an
// unknown or mistyped field is an error), the ServiceMonitor against the
// schema shipped in schemas/, and what the objects say of each other.
package deploy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// strict decodes JSON into v as the API server does, case-sensitively,
// refusing fields v does not have and fields given twice.
func strict(b []byte, v any) error {
	problems, err := kjson.UnmarshalStrict(b, v)
	return errors.Join(append(problems, err)...)
}

// documents reads every YAML document of the manifests, as JSON.
func documents(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			j, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(j, &head); err != nil || head.Kind == "" {
				t.Fatalf("%s document %d has no kind: %v", f, i+1, err)
			}
			name := head.Kind + "/" + head.Metadata.Name
			if head.Kind == "Kustomization" {
				name = head.Kind
			}
			out[name] = j
		}
	}
	return out
}

func TestManifestsValidate(t *testing.T) {
	docs := documents(t)
	var deployments []appsv1.Deployment
	var services []corev1.Service
	var jobs []batchv1.Job
	var configMaps = map[string]corev1.ConfigMap{}
	var monitors []map[string]any
	var kustomization struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Labels     []any    `json:"labels"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name    string `json:"name"`
			NewName string `json:"newName"`
			NewTag  string `json:"newTag"`
		} `json:"images"`
	}
	schemaFile := filepath.Join("schemas", "servicemonitor.schema.json")
	c := jsonschema.NewCompiler()
	monitorSchema, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, j := range docs {
		var err error
		switch strings.SplitN(name, "/", 2)[0] {
		case "Deployment":
			var d appsv1.Deployment
			err = strict(j, &d)
			deployments = append(deployments, d)
		case "Service":
			var s corev1.Service
			err = strict(j, &s)
			services = append(services, s)
		case "Job":
			var jb batchv1.Job
			err = strict(j, &jb)
			jobs = append(jobs, jb)
		case "ConfigMap":
			var cm corev1.ConfigMap
			err = strict(j, &cm)
			configMaps[cm.Name] = cm
		case "ServiceMonitor":
			var v any
			if err = json.Unmarshal(j, &v); err == nil {
				err = monitorSchema.Validate(v)
			}
			var m map[string]any
			_ = json.Unmarshal(j, &m)
			monitors = append(monitors, m)
		case "Kustomization":
			err = strict(j, &kustomization)
		default:
			err = errors.New("a kind this test does not check")
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(deployments) != 2 || len(jobs) != 1 || len(monitors) != 1 || len(configMaps) != 1 {
		t.Fatalf("want the worker and serve Deployments, the setup Job, a ServiceMonitor and a ConfigMap: %d, %d, %d, %d",
			len(deployments), len(jobs), len(monitors), len(configMaps))
	}

	// The kustomization names every file, and the image every container uses.
	files, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(kustomization.Resources, base) {
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	if len(kustomization.Images) != 1 || kustomization.Images[0].Name != "avo" {
		t.Errorf("kustomization images: %+v", kustomization.Images)
	}

	// Pods: the avo image, non-root, read-only, the config and the
	// credentials mounted, probes on the ports they declare.
	pods := map[string]corev1.PodTemplateSpec{}
	for _, d := range deployments {
		pods[d.Name] = d.Spec.Template
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("%s: the selector's %s=%s is not on its pods", d.Name, k, v)
			}
		}
	}
	pods[jobs[0].Name] = jobs[0].Spec.Template
	for name, pod := range pods {
		if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: pods are not held to a non-root user", name)
		}
		for _, ctr := range pod.Spec.Containers {
			where := name + "/" + ctr.Name
			if ctr.Image != "avo" || len(ctr.Args) != 1 {
				t.Errorf("%s: image %q args %v", where, ctr.Image, ctr.Args)
			}
			if sc := ctr.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: not read-only or may escalate", where)
			}
			if len(ctr.EnvFrom) == 0 || ctr.EnvFrom[0].SecretRef == nil || ctr.EnvFrom[0].SecretRef.Name != "avo-credentials" {
				t.Errorf("%s: credentials do not come from the Secret avo-credentials", where)
			}
			mounted := false
			for _, m := range ctr.VolumeMounts {
				for _, v := range pod.Spec.Volumes {
					if v.Name == m.Name && v.ConfigMap != nil && m.MountPath == "/etc/avo" {
						_, mounted = configMaps[v.ConfigMap.Name]
					}
				}
			}
			if !mounted {
				t.Errorf("%s: the ConfigMap is not mounted at /etc/avo", where)
			}
			if ctr.Args[0] == "setup" {
				continue
			}
			ports := map[string]bool{}
			for _, p := range ctr.Ports {
				ports[p.Name] = true
			}
			for probe, path := range map[*corev1.Probe]string{ctr.ReadinessProbe: "/readyz", ctr.LivenessProbe: "/healthz"} {
				if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || !ports[probe.HTTPGet.Port.String()] {
					t.Errorf("%s: want a probe on %s at a declared port", where, path)
				}
			}
		}
	}

	// Services select pods that exist and name ports they declare; the
	// ServiceMonitor scrapes ports its Services have.
	servicePorts := map[string]bool{}
	for _, s := range services {
		matched := false
		for _, pod := range pods {
			all := true
			for k, v := range s.Spec.Selector {
				all = all && pod.Labels[k] == v
			}
			if all {
				matched = true
				for _, p := range s.Spec.Ports {
					found := false
					for _, ctr := range pod.Spec.Containers {
						for _, cp := range ctr.Ports {
							found = found || cp.Name == p.TargetPort.String()
						}
					}
					if !found {
						t.Errorf("service %s: target port %s is no container's", s.Name, p.TargetPort.String())
					}
				}
			}
		}
		if !matched {
			t.Errorf("service %s selects no pods", s.Name)
		}
		if s.Labels["app.kubernetes.io/name"] == "avo" {
			for _, p := range s.Spec.Ports {
				servicePorts[p.Name] = true
			}
		}
	}
	endpoints, _ := monitors[0]["spec"].(map[string]any)["endpoints"].([]any)
	for _, e := range endpoints {
		if port := e.(map[string]any)["port"].(string); !servicePorts[port] {
			t.Errorf("the ServiceMonitor scrapes port %s, which no selected Service has", port)
		}
	}

	// The config and the sources in the ConfigMap are what avo reads.
	cm := configMaps["avo-config"]
	dir := t.TempDir()
	for _, key := range []string{"avo.yaml", "sources.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, key), []byte(cm.Data[key]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _, err := config.Load(nil, func(k string) (string, bool) {
		if k == "AVO_CONFIG" {
			return filepath.Join(dir, "avo.yaml"), true
		}
		return "", false
	})
	if err != nil {
		t.Fatalf("avo.yaml of the ConfigMap: %v", err)
	}
	if cfg.Worker.Listen != "0.0.0.0:9464" || cfg.Serve.Listen != "0.0.0.0:8080" || cfg.Sources != "/etc/avo/sources.yaml" {
		t.Errorf("the ConfigMap's config: worker %s, serve %s, sources %s", cfg.Worker.Listen, cfg.Serve.Listen, cfg.Sources)
	}
	if _, err := sources.Parse([]byte(cm.Data["sources.yaml"]), os.LookupEnv, mappings.Known); err != nil {
		t.Errorf("sources.yaml of the ConfigMap: %v", err)
	}
}
