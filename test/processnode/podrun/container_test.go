package podrun

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestRestartDelay(t *testing.T) {
	base, max := time.Second, 30*time.Second
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, restartDelay(n, base, max))
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	if d := restartDelay(1000, base, max); d != max {
		t.Errorf("many restarts: %v", d)
	}
}

func TestShouldRestart(t *testing.T) {
	for _, tc := range []struct {
		policy corev1.RestartPolicy
		init   bool
		code   int32
		want   bool
	}{
		{corev1.RestartPolicyAlways, false, 0, true},
		{corev1.RestartPolicyAlways, false, 1, true},
		{corev1.RestartPolicyOnFailure, false, 0, false},
		{corev1.RestartPolicyOnFailure, false, 1, true},
		{corev1.RestartPolicyNever, false, 1, false},
		{corev1.RestartPolicyAlways, true, 0, false},
		{corev1.RestartPolicyAlways, true, 1, true},
		{corev1.RestartPolicyOnFailure, true, 1, true},
		{corev1.RestartPolicyNever, true, 1, false},
	} {
		if got := shouldRestart(tc.policy, tc.init, tc.code); got != tc.want {
			t.Errorf("shouldRestart(%s, init=%v, %d) = %v", tc.policy, tc.init, tc.code, got)
		}
	}
}

func TestThresholds(t *testing.T) {
	// successThreshold 2, failureThreshold 3: the state follows a result
	// only once it repeated that often in a row.
	th := newThresholds(&corev1.Probe{SuccessThreshold: 2, FailureThreshold: 3})
	results := []bool{true, true, false, false, true, false, false, false, false, true, true}
	want := []bool{false, true, false, false, false, false, false, true, true, false, true}
	for i, ok := range results {
		if got := th.observe(ok); got != want[i] {
			t.Errorf("step %d (%v): decides %v, want %v", i, ok, got, want[i])
		}
	}
	// Defaults: 1 and 3.
	th = newThresholds(&corev1.Probe{})
	if !th.observe(true) || th.observe(false) || th.observe(false) || !th.observe(false) {
		t.Error("default thresholds")
	}
}

func TestPodPorts(t *testing.T) {
	pod := testPod("ports", func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {ContainerPort: 9090, Protocol: corev1.ProtocolTCP}}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(7000)}}}
		c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		p.Spec.InitContainers = []corev1.Container{{Name: "i", Ports: []corev1.ContainerPort{{ContainerPort: 9090}}}}
	})
	if got, want := podPorts(pod), []int{7000, 8080, 9090}; !slices.Equal(got, want) {
		t.Errorf("ports %v, want %v", got, want)
	}
}

func TestProbePort(t *testing.T) {
	c := &corev1.Container{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	for _, tc := range []struct {
		port intstr.IntOrString
		want int
		ok   bool
	}{
		{intstr.FromInt32(81), 81, true},
		{intstr.FromString("http"), 8080, true},
		{intstr.FromString("82"), 82, true},
		{intstr.FromString("grpc"), 0, false},
		{intstr.FromInt32(0), 0, false},
	} {
		got, err := probePort(tc.port, c)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("probePort(%v) = %d, %v", tc.port.String(), got, err)
		}
	}
}
