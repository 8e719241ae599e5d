package node

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestStopGrace(t *testing.T) {
	now := metav1.Now()
	for _, tc := range []struct {
		name string
		pod  corev1.Pod
		want time.Duration
	}{
		{"deleting: the deletion's grace", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now, DeletionGracePeriodSeconds: ptr.To[int64](7)},
			Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](60)},
		}, 7 * time.Second},
		{"deleting without a grace: the spec's", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now},
			Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](60)},
		}, time.Minute},
		{"deleting, nothing set: Kubernetes' default", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now},
		}, 30 * time.Second},
		{"object gone: short", corev1.Pod{
			Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](60)},
		}, goneGrace},
	} {
		if got := stopGrace(&tc.pod); got != tc.want {
			t.Errorf("%s: stopGrace = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func terminated(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
}

func TestTerminalStatus(t *testing.T) {
	running := corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		},
	}
	for _, tc := range []struct {
		name      string
		states    []corev1.ContainerState
		wantPhase corev1.PodPhase
	}{
		{"all exited 0", []corev1.ContainerState{terminated(0), terminated(0)}, corev1.PodSucceeded},
		{"one killed", []corev1.ContainerState{terminated(0), terminated(143)}, corev1.PodFailed},
		{"one still running", []corev1.ContainerState{terminated(0), {Running: &corev1.ContainerStateRunning{}}}, corev1.PodFailed},
	} {
		in := *running.DeepCopy()
		for i, st := range tc.states {
			in.ContainerStatuses = append(in.ContainerStatuses, corev1.ContainerStatus{Name: string(rune('a' + i)), State: st, Ready: true})
		}
		got := terminalStatus(in)
		if got.Phase != tc.wantPhase {
			t.Errorf("%s: phase %s, want %s", tc.name, got.Phase, tc.wantPhase)
		}
		for _, cs := range got.ContainerStatuses {
			if cs.State.Terminated == nil || cs.Ready {
				t.Errorf("%s: container %s: state %+v ready %v, want terminated and not ready", tc.name, cs.Name, cs.State, cs.Ready)
			}
		}
		conds := map[corev1.PodConditionType]corev1.ConditionStatus{}
		for _, c := range got.Conditions {
			conds[c.Type] = c.Status
		}
		want := map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.PodReady: corev1.ConditionFalse, corev1.ContainersReady: corev1.ConditionFalse, corev1.PodScheduled: corev1.ConditionTrue,
		}
		if d := cmp.Diff(want, conds); d != "" {
			t.Errorf("%s: conditions (-want +got):\n%s", tc.name, d)
		}
		if in.Phase != corev1.PodRunning || in.ContainerStatuses[0].Ready != true {
			t.Errorf("%s: terminalStatus modified its argument", tc.name)
		}
	}

	// A pod that already finished keeps its status.
	done := corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "a", State: terminated(0)}}}
	if d := cmp.Diff(done, terminalStatus(done)); d != "" {
		t.Errorf("finished pod's status changed (-want +got):\n%s", d)
	}
}

func TestWithAddresses(t *testing.T) {
	got := withAddresses(corev1.PodStatus{}, "127.0.202.5", "127.0.0.1")
	want := corev1.PodStatus{
		PodIP: "127.0.202.5", PodIPs: []corev1.PodIP{{IP: "127.0.202.5"}},
		HostIP: "127.0.0.1", HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// podrun's own addresses win.
	set := corev1.PodStatus{PodIP: "127.0.0.9", HostIP: "127.0.0.8"}
	if got := withAddresses(set, "127.0.202.5", "127.0.0.1"); got.PodIP != "127.0.0.9" || got.HostIP != "127.0.0.8" {
		t.Errorf("overwrote podrun's addresses: %+v", got)
	}
}

func TestWithoutEnv(t *testing.T) {
	env := []corev1.EnvVar{{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}
	from := []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "i", Image: "x", Env: env, EnvFrom: from}},
		Containers:     []corev1.Container{{Name: "c", Image: "y", Env: env, EnvFrom: from, Command: []string{"run"}}},
	}}
	got, err := withoutEnv(pod)
	if err != nil {
		t.Fatal(err)
	}
	want := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "i", Image: "x"}},
		Containers:     []corev1.Container{{Name: "c", Image: "y", Command: []string{"run"}}},
	}
	if d := cmp.Diff(want, got.(*corev1.Pod).Spec); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if other, _ := withoutEnv("tombstone"); other != "tombstone" {
		t.Errorf("a non-pod came back as %v", other)
	}
}
