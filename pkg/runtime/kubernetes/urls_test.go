package kubernetes

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/workload"
)

// pod is a function pod at ip serving on port 8080, Running and Ready;
// edit adjusts it.
func pod(ip string, edit ...func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  workload.ContainerName,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			PodIP: ip,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			},
		},
	}
	for _, f := range edit {
		f(&p)
	}
	return p
}

func ready(s corev1.ConditionStatus) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.PodReady {
				p.Status.Conditions[i].Status = s
			}
		}
	}
}

func phase(ph corev1.PodPhase) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}

func ports(ps ...corev1.ContainerPort) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports = ps }
}

func TestURLs(t *testing.T) {
	now := metav1.Now()
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &now }
	noReadyCondition := func(p *corev1.Pod) { p.Status.Conditions = p.Status.Conditions[:1] }
	http := func(n int32) corev1.ContainerPort { return corev1.ContainerPort{Name: "http", ContainerPort: n} }
	tests := []struct {
		name string
		pods []corev1.Pod
		want []string
	}{
		{"no pods", nil, []string{}},
		{"ready", []corev1.Pod{pod("10.0.0.1")}, []string{"http://10.0.0.1:8080"}},
		{"loopback", []corev1.Pod{pod("127.0.3.7")}, []string{"http://127.0.3.7:8080"}},
		{"not ready", []corev1.Pod{pod("10.0.0.1", ready(corev1.ConditionFalse))}, []string{}},
		{"readiness unknown", []corev1.Pod{pod("10.0.0.1", ready(corev1.ConditionUnknown))}, []string{}},
		{"no Ready condition", []corev1.Pod{pod("10.0.0.1", noReadyCondition)}, []string{}},
		{"being deleted while ready", []corev1.Pod{pod("10.0.0.1", deleting)}, []string{}},
		{"no pod IP yet", []corev1.Pod{pod("")}, []string{}},
		{"pending", []corev1.Pod{pod("10.0.0.1", phase(corev1.PodPending))}, []string{}},
		{"succeeded", []corev1.Pod{pod("10.0.0.1", phase(corev1.PodSucceeded))}, []string{}},
		{"failed", []corev1.Pod{pod("10.0.0.1", phase(corev1.PodFailed))}, []string{}},
		{"mixed, sorted", []corev1.Pod{pod("10.0.0.3"), pod("10.0.0.2", ready(corev1.ConditionFalse)), pod("10.0.0.1")},
			[]string{"http://10.0.0.1:8080", "http://10.0.0.3:8080"}},
		{"deduplicated, ports per pod", []corev1.Pod{
			pod("10.0.0.2"), pod("10.0.0.1"), pod("10.0.0.1"), pod("10.0.0.9", ports(http(9090))),
		}, []string{"http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.9:9090"}},
		{"same IP, other ports", []corev1.Pod{pod("127.0.0.1", ports(http(9001))), pod("127.0.0.1", ports(http(9000)))},
			[]string{"http://127.0.0.1:9000", "http://127.0.0.1:9001"}},
		{"IPv6 bracketed", []corev1.Pod{pod("fd00::1")}, []string{"http://[fd00::1]:8080"}},
		{"no ports", []corev1.Pod{pod("10.0.0.1", ports())}, []string{}},
		{"other port name", []corev1.Pod{pod("10.0.0.1", ports(corev1.ContainerPort{Name: "metrics", ContainerPort: 9000}))}, []string{}},
		{"unnamed port", []corev1.Pod{pod("10.0.0.1", ports(corev1.ContainerPort{ContainerPort: 8080}))}, []string{}},
		{"port number unset", []corev1.Pod{pod("10.0.0.1", ports(http(0)))}, []string{}},
		{"http port among others", []corev1.Pod{pod("10.0.0.1", ports(corev1.ContainerPort{Name: "metrics", ContainerPort: 9000}, http(8081)))},
			[]string{"http://10.0.0.1:8081"}},
		{"http port of another container", []corev1.Pod{pod("10.0.0.1", func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{
				{Name: "sidecar", Ports: []corev1.ContainerPort{http(7000)}},
				{Name: workload.ContainerName, Ports: []corev1.ContainerPort{http(8080)}},
			}
		})}, []string{"http://10.0.0.1:8080"}},
		{"no function container", []corev1.Pod{pod("10.0.0.1", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "sidecar" })}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := URLs(tt.pods)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("URLs = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestObjectNames(t *testing.T) {
	for _, tt := range []struct {
		name, kind, ns, obj string
	}{
		{FunctionName("ns", "fn"), "Function", "ns", "fn"},
		{VertexName("ns", "p-v"), "Vertex", "ns", "p-v"},
		{"", "", "", ""},
		{"fn", "", "", ""},
		{"/fn", "", "", ""},
		{"ns/", "", "", ""},
		{"ns/a/b", "", "", ""},
		{"vertex:fn", "", "", ""},
	} {
		obj, err := object(tt.name)
		if tt.kind == "" {
			if err == nil {
				t.Errorf("object(%q): no error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("object(%q): %v", tt.name, err)
		}
		var kind string
		switch obj.(type) {
		case *v1alpha1.Function:
			kind = "Function"
		case *v1alpha1.Vertex:
			kind = "Vertex"
		}
		if kind != tt.kind {
			t.Errorf("object(%q) is a %s, want a %s", tt.name, kind, tt.kind)
		}
		if obj.GetNamespace() != tt.ns || obj.GetName() != tt.obj {
			t.Errorf("object(%q) = %s/%s, want %s/%s", tt.name, obj.GetNamespace(), obj.GetName(), tt.ns, tt.obj)
		}
	}
}
