package workload

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func spec(mod func(*v1alpha1.FunctionSpec)) *v1alpha1.FunctionSpec {
	s := &v1alpha1.FunctionSpec{Container: v1alpha1.Container{Image: "ghcr.io/example/scorer:1", Args: []string{"--model", "small"}}}
	if mod != nil {
		mod(s)
	}
	s.SetDefaults()
	return s
}

func workload(s *v1alpha1.FunctionSpec) Workload {
	yes := true
	return Workload{
		Name: "scorer", Namespace: "ml", Replicas: 2, Spec: s,
		Labels: map[string]string{"freshet.dev/pipeline": "reviews"},
		Owner:  metav1.OwnerReference{APIVersion: "freshet.dev/v1alpha1", Kind: "Function", Name: "scorer", UID: "u1", Controller: &yes},
	}
}

func TestMakeDeployment(t *testing.T) {
	gpu := corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}}
	user := &corev1.SecurityContext{RunAsNonRoot: new(bool)}
	cases := []struct {
		name  string
		spec  *v1alpha1.FunctionSpec
		check func(t *testing.T, got corev1.PodSpec)
	}{{
		name: "defaults",
		spec: spec(nil),
		check: func(t *testing.T, got corev1.PodSpec) {
			c := got.Containers[0]
			if diff := cmp.Diff([]corev1.EnvVar{{Name: "PORT", Value: "8080"}}, c.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			want := &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
				PeriodSeconds: 1, FailureThreshold: 3,
			}
			if diff := cmp.Diff(want, c.ReadinessProbe); diff != "" {
				t.Errorf("readiness probe (-want +got):\n%s", diff)
			}
			if sc := c.SecurityContext; sc == nil || *sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
				t.Errorf("container security context %+v, want no escalation and ALL dropped", sc)
			}
			if !*got.SecurityContext.RunAsNonRoot {
				t.Error("pod may run as root by default")
			}
			if *got.TerminationGracePeriodSeconds != 35 {
				t.Errorf("grace %d, want the delivery timeout 30s + 5s", *got.TerminationGracePeriodSeconds)
			}
			if diff := cmp.Diff([]string{"--model", "small"}, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "user's port, health path, env, resources and security context",
		spec: spec(func(s *v1alpha1.FunctionSpec) {
			s.Container.Port = 9000
			s.Container.HealthPath = "/ready"
			s.Container.Env = []corev1.EnvVar{{Name: "MODEL", Value: "large"}}
			s.Container.Resources = gpu
			s.Container.SecurityContext = user
		}),
		check: func(t *testing.T, got corev1.PodSpec) {
			c := got.Containers[0]
			if diff := cmp.Diff([]corev1.EnvVar{{Name: "PORT", Value: "9000"}, {Name: "MODEL", Value: "large"}}, c.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if c.ReadinessProbe.HTTPGet.Path != "/ready" || c.ReadinessProbe.HTTPGet.Port.IntVal != 9000 || c.Ports[0].ContainerPort != 9000 {
				t.Errorf("probe %+v, ports %+v: want /ready on 9000", c.ReadinessProbe.HTTPGet, c.Ports)
			}
			if diff := cmp.Diff(gpu, c.Resources); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(user, c.SecurityContext); diff != "" {
				t.Errorf("security context (-want +got):\n%s", diff)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := workload(tc.spec)
			d := MakeDeployment(w)
			if d.Name != "scorer" || d.Namespace != "ml" || *d.Spec.Replicas != 2 {
				t.Fatalf("deployment %s/%s with %d replicas", d.Namespace, d.Name, *d.Spec.Replicas)
			}
			if diff := cmp.Diff([]metav1.OwnerReference{w.Owner}, d.OwnerReferences); diff != "" {
				t.Errorf("owner (-want +got):\n%s", diff)
			}
			wantLabels := map[string]string{FunctionLabelKey: "scorer", ComponentLabelKey: "function", "freshet.dev/pipeline": "reviews"}
			if diff := cmp.Diff(wantLabels, d.Spec.Template.Labels); diff != "" {
				t.Errorf("pod labels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]string{FunctionLabelKey: "scorer"}, d.Spec.Selector.MatchLabels); diff != "" {
				t.Errorf("selector (-want +got):\n%s", diff)
			}
			if d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntVal != 0 {
				t.Error("a rollout may take replicas away before new ones are ready")
			}
			tc.check(t, d.Spec.Template.Spec)
		})
	}
}

func TestMakeService(t *testing.T) {
	w := workload(spec(func(s *v1alpha1.FunctionSpec) { s.Container.Port = 9000 }))
	svc := MakeService(w)
	if diff := cmp.Diff(w.Selector(), svc.Spec.Selector); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	want := []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(9000), Protocol: corev1.ProtocolTCP}}
	if diff := cmp.Diff(want, svc.Spec.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}
