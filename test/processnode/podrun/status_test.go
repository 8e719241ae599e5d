package podrun

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Container status builders.
func waitingCS(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func runningCS(name string, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func exitedCS(name string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
}

func backoffCS(name string, lastCode int32) corev1.ContainerStatus {
	cs := waitingCS(name, reasonCrashLoopBackOff)
	cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: lastCode}
	return cs
}

func cs(s ...corev1.ContainerStatus) []corev1.ContainerStatus { return s }

func TestPodPhase(t *testing.T) {
	const (
		always    = corev1.RestartPolicyAlways
		onFailure = corev1.RestartPolicyOnFailure
		never     = corev1.RestartPolicyNever
	)
	for _, tc := range []struct {
		name       string
		policy     corev1.RestartPolicy
		init, apps []corev1.ContainerStatus
		stopped    bool
		want       corev1.PodPhase
	}{
		{"creating", always, nil, cs(waitingCS("a", reasonContainerCreating)), false, corev1.PodPending},
		{"one of two running", always, nil, cs(runningCS("a", true), waitingCS("b", reasonErrImagePull)), false, corev1.PodPending},
		{"running", always, nil, cs(runningCS("a", false)), false, corev1.PodRunning},
		{"init running", always, cs(runningCS("i", false)), cs(waitingCS("a", reasonPodInitializing)), false, corev1.PodPending},
		{"init failed, restarting", onFailure, cs(exitedCS("i", 1)), cs(waitingCS("a", reasonPodInitializing)), false, corev1.PodPending},
		{"init failed under Never", never, cs(exitedCS("i", 1)), cs(waitingCS("a", reasonPodInitializing)), false, corev1.PodFailed},
		{"init done", never, cs(exitedCS("i", 0)), cs(runningCS("a", true)), false, corev1.PodRunning},
		{"back-off counts as stopped", always, nil, cs(backoffCS("a", 1)), false, corev1.PodRunning},
		{"Never all succeeded", never, nil, cs(exitedCS("a", 0), exitedCS("b", 0)), false, corev1.PodSucceeded},
		{"Never one failed", never, nil, cs(exitedCS("a", 0), exitedCS("b", 2)), false, corev1.PodFailed},
		{"Never one still running", never, nil, cs(exitedCS("a", 2), runningCS("b", true)), false, corev1.PodRunning},
		{"OnFailure all succeeded", onFailure, nil, cs(exitedCS("a", 0)), false, corev1.PodSucceeded},
		{"OnFailure restarting", onFailure, nil, cs(exitedCS("a", 0), backoffCS("b", 1)), false, corev1.PodRunning},
		{"Always all exited 0", always, nil, cs(exitedCS("a", 0)), false, corev1.PodRunning},
		{"stopped, all 0", always, nil, cs(exitedCS("a", 0)), true, corev1.PodSucceeded},
		{"stopped, killed", always, nil, cs(exitedCS("a", 137)), true, corev1.PodFailed},
		{"stopped while initializing", always, cs(exitedCS("i", 137)), cs(exitedCS("a", 137)), true, corev1.PodFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, _ := initialized(tc.init)
			if got := podPhase(tc.policy, tc.init, tc.apps, ok, tc.stopped); got != tc.want {
				t.Errorf("phase %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMakeStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Generation: 3},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways},
		Status:     corev1.PodStatus{QOSClass: corev1.PodQOSBestEffort},
	}
	state := podState{
		pod: pod, podIP: "127.0.201.7", hostIP: "127.0.0.1", startTime: t0,
		init:       cs(exitedCS("init", 0)),
		containers: cs(runningCS("zeta", true), runningCS("alpha", false)),
	}
	st := makeStatus(state, nil, t0)
	c := func(ty corev1.PodConditionType, s corev1.ConditionStatus, reason, msg string, at metav1.Time) corev1.PodCondition {
		return corev1.PodCondition{Type: ty, Status: s, Reason: reason, Message: msg, LastTransitionTime: at, ObservedGeneration: 3}
	}
	want := corev1.PodStatus{
		ObservedGeneration: 3,
		Phase:              corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			c(corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "", t0),
			c(corev1.PodInitialized, corev1.ConditionTrue, "", "", t0),
			c(corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [alpha]", t0),
			c(corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", "containers with unready status: [alpha]", t0),
			c(corev1.PodScheduled, corev1.ConditionTrue, "", "", t0),
		},
		HostIP: "127.0.0.1", HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}},
		PodIP: "127.0.201.7", PodIPs: []corev1.PodIP{{IP: "127.0.201.7"}},
		StartTime:             &t0,
		QOSClass:              corev1.PodQOSBestEffort,
		InitContainerStatuses: cs(exitedCS("init", 0)),
		ContainerStatuses:     cs(runningCS("alpha", false), runningCS("zeta", true)), // sorted by name
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Fatalf("status (-want +got):\n%s", diff)
	}

	// alpha becomes ready later: Ready and ContainersReady transition at t1,
	// the others keep t0.
	state.containers[1].Ready = true
	st = makeStatus(state, st.Conditions, t1)
	for _, cond := range st.Conditions {
		wantAt := t0
		if cond.Type == corev1.PodReady || cond.Type == corev1.ContainersReady {
			wantAt = t1
		}
		if cond.Status != corev1.ConditionTrue || !cond.LastTransitionTime.Equal(&wantAt) {
			t.Errorf("condition %s: %s at %s, want True at %s", cond.Type, cond.Status, cond.LastTransitionTime, wantAt)
		}
	}

	// Pending initialization names the init containers.
	state.init = cs(runningCS("init", false))
	st = makeStatus(state, st.Conditions, t1)
	if got := st.Conditions[1]; got.Status != corev1.ConditionFalse || got.Message != "containers with incomplete status: [init]" {
		t.Errorf("Initialized %+v", got)
	}

	// A terminal Pod is not ready, with the kubelet's reason.
	state.init = nil
	state.containers = cs(exitedCS("a", 0))
	state.stopped = true
	st = makeStatus(state, st.Conditions, t1)
	if st.Phase != corev1.PodSucceeded || st.Conditions[2].Reason != "PodCompleted" || st.Conditions[0].Status != corev1.ConditionFalse {
		t.Errorf("stopped: phase %s conditions %+v", st.Phase, st.Conditions)
	}
}

func TestInitialState(t *testing.T) {
	pod := testPod("x", func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "img"}}
	})
	s := initialState(pod, "127.0.201.8", "127.0.0.1", metav1.Now())
	if r := s.init[0].State.Waiting.Reason; r != reasonPodInitializing {
		t.Errorf("init container waiting %q", r)
	}
	if r := s.containers[0].State.Waiting.Reason; r != reasonPodInitializing {
		t.Errorf("app container waiting %q", r)
	}
	s = initialState(testPod("y"), "127.0.201.8", "127.0.0.1", metav1.Now())
	if r := s.containers[0].State.Waiting.Reason; r != reasonContainerCreating || s.containers[0].Image != "example.com/testserver:v1" {
		t.Errorf("app container %+v", s.containers[0])
	}
}
