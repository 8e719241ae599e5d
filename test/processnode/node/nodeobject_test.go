package node

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestMakeNode(t *testing.T) {
	n := makeNode(nodeSpec{
		Name: "pn", IP: "127.0.0.1", MaxPods: 7,
		Labels:  map[string]string{"zone": "a", LabelType: "custom"},
		Taints:  []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}},
		Machine: machine{OS: "linux", Arch: "amd64", CPUs: 2, MemoryBytes: 4 << 30},
	})
	wantLabels := map[string]string{
		"kubernetes.io/hostname": "pn", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
		"type": "custom", "freshet.dev/process-node": "true", "zone": "a",
	}
	if d := cmp.Diff(wantLabels, n.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	wantAddrs := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "pn"}}
	if d := cmp.Diff(wantAddrs, n.Status.Addresses); d != "" {
		t.Errorf("addresses (-want +got):\n%s", d)
	}
	for name, rl := range map[string]corev1.ResourceList{"capacity": n.Status.Capacity, "allocatable": n.Status.Allocatable} {
		if rl.Cpu().Value() != 2 || rl.Memory().Value() != 4<<30 || rl.Pods().Value() != 7 {
			t.Errorf("%s: cpu %v memory %v pods %v, want 2, 4Gi, 7", name, rl.Cpu(), rl.Memory(), rl.Pods())
		}
	}
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		} else if c.Status != corev1.ConditionFalse {
			t.Errorf("condition %s is %s, want False", c.Type, c.Status)
		}
	}
	if !ready {
		t.Error("no Ready=True condition")
	}
	if n.Status.NodeInfo.OperatingSystem != "linux" || n.Status.NodeInfo.Architecture != "amd64" || !strings.HasPrefix(n.Status.NodeInfo.KubeletVersion, "process-node/") {
		t.Errorf("node info %+v", n.Status.NodeInfo)
	}
	if len(n.Spec.Taints) != 1 {
		t.Errorf("taints %v, want the one given", n.Spec.Taints)
	}
	if n2 := makeNode(nodeSpec{Name: "pn", Machine: machine{OS: "linux"}}); len(n2.Spec.Taints) != 0 {
		t.Errorf("taints %v by default, want none", n2.Spec.Taints)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"https://127.0.0.1:6443":       "127.0.0.1:6443",
		"127.0.0.1:6443":               "127.0.0.1:6443",
		"https://api.example.com":      "api.example.com:443",
		"http://localhost":             "localhost:80",
		"https://[::1]:6443/some/path": "[::1]:6443",
	} {
		if got, err := hostPort(in); err != nil || got != want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, err := hostPort(""); err == nil {
		t.Errorf("hostPort(\"\") = %q, want an error", got)
	}
}
