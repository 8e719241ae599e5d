package install

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// built is config/default as kustomize builds it: each object's kind and
// name, the namespaced objects' namespaces, and the typed Deployments and
// Services.
type built struct {
	namespaces  map[string]string // "<kind>/<name>" → namespace
	deployments map[string]appsv1.Deployment
	services    map[string]corev1.Service
}

func build(t *testing.T) built {
	t.Helper()
	env := apiServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := env.Kubectl(ctx, "kustomize", repoPath("config/default"))
	if err != nil {
		t.Fatal(err)
	}
	b := built{namespaces: map[string]string{}, deployments: map[string]appsv1.Deployment{}, services: map[string]corev1.Service{}}
	for _, doc := range strings.Split(out, "\n---\n") {
		var meta struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		b.namespaces[meta.Kind+"/"+meta.Metadata.Name] = meta.Metadata.Namespace
		switch meta.Kind {
		case "Deployment":
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
				t.Fatal(err)
			}
			b.deployments[d.Name] = d
		case "Service":
			var s corev1.Service
			if err := yaml.UnmarshalStrict([]byte(doc), &s); err != nil {
				t.Fatal(err)
			}
			b.services[s.Name] = s
		}
	}
	return b
}

// TestDefaultManifests checks what config/default installs against what
// the components and docs/kubernetes.md expect.
func TestDefaultManifests(t *testing.T) {
	b := build(t)
	clusterScoped := []string{"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
	for key, ns := range b.namespaces {
		kind, _, _ := strings.Cut(key, "/")
		if want := "freshet-system"; !slices.Contains(clusterScoped, kind) && ns != want {
			t.Errorf("%s is in namespace %q, want %q", key, ns, want)
		}
	}
	for _, want := range []string{
		"Namespace/freshet-system",
		"CustomResourceDefinition/functions.freshet.dev", "CustomResourceDefinition/pipelines.freshet.dev", "CustomResourceDefinition/vertices.freshet.dev",
		"ServiceAccount/freshet-controller", "ServiceAccount/freshet-activator",
		"ClusterRole/freshet-controller", "ClusterRoleBinding/freshet-controller",
		"Role/freshet-controller-leader-election", "RoleBinding/freshet-controller-leader-election",
		"ClusterRole/freshet-activator", "ClusterRoleBinding/freshet-activator",
		"Deployment/freshet-controller", "Deployment/freshet-activator", "Service/freshet-activator",
	} {
		if _, ok := b.namespaces[want]; !ok {
			t.Errorf("config/default lacks %s", want)
		}
	}

	for name, image := range map[string]string{
		"freshet-controller": "ghcr.io/freshetproj/freshet-controller:dev",
		"freshet-activator":  "ghcr.io/freshetproj/freshet-activator:dev",
	} {
		d, ok := b.deployments[name]
		if !ok {
			continue // reported above
		}
		pod := d.Spec.Template.Spec
		if pod.ServiceAccountName != name {
			t.Errorf("%s runs as ServiceAccount %q, want %q", name, pod.ServiceAccountName, name)
		}
		if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
			psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod security context %+v, want runAsNonRoot and the RuntimeDefault seccomp profile", name, psc)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%s has %d containers, want 1", name, len(pod.Containers))
		}
		c := pod.Containers[0]
		if c.Image != image {
			t.Errorf("%s image = %q, want %q", name, c.Image, image)
		}
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s: container security context %+v, want no privilege escalation, a read-only root and every capability dropped", name, sc)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: resources %+v, want CPU and memory requests and a memory limit", name, c.Resources)
		}
		for probe, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s: no HTTP %s probe", name, probe)
				continue
			}
			if !hasPort(c, p.HTTPGet.Port) {
				t.Errorf("%s: %s probe on port %s, which the container does not declare", name, probe, p.HTTPGet.Port.String())
			}
		}
	}

	if d, ok := b.deployments["freshet-controller"]; ok {
		c := d.Spec.Template.Spec.Containers[0]
		// The probes go to the port the controller serves them on.
		if !slices.Contains(c.Args, "--health-probe-bind-address=:8081") || port(c, "health") != 8081 ||
			c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("controller: args %v and ports %v do not put /healthz and /readyz on the health port 8081", c.Args, c.Ports)
		}
		if env := envVar(c, "POD_NAMESPACE"); env == nil || env.ValueFrom == nil || env.ValueFrom.FieldRef == nil || env.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
			t.Errorf("controller: POD_NAMESPACE = %+v, want the pod's namespace (for the leader-election Lease)", env)
		}
	}
	if d, ok := b.deployments["freshet-activator"]; ok {
		c := d.Spec.Template.Spec.Containers[0]
		if env := envVar(c, "NATS_URL"); env == nil || env.Value != "nats://nats.freshet-system.svc.cluster.local:4222" {
			t.Errorf("activator: NATS_URL = %+v, want nats://nats.freshet-system.svc.cluster.local:4222", env)
		}
		svc := b.services["freshet-activator"]
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || port(c, svc.Spec.Ports[0].TargetPort.String()) != 8080 {
			t.Errorf("activator Service ports %+v, want 80 → the container's 8080", svc.Spec.Ports)
		}
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("activator Service selects %s=%s, which its pods do not carry", k, v)
			}
		}
	}
}

func hasPort(c corev1.Container, p intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return true
		}
	}
	return false
}

// port is the number of the container's port with that name, or 0.
func port(c corev1.Container, name string) int32 {
	for _, cp := range c.Ports {
		if cp.Name == name {
			return cp.ContainerPort
		}
	}
	return 0
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}
