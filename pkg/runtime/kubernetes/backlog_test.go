package kubernetes

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/dataplane"
)

func TestReportDue(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(-ago)} }
	vertex := func(backlog int64, reported *metav1.Time, desired, phase v1alpha1.Phase) *v1alpha1.Vertex {
		v := &v1alpha1.Vertex{}
		v.Spec.Lifecycle.DesiredPhase = desired
		v.Status = v1alpha1.VertexStatus{Backlog: backlog, BacklogTime: reported, Phase: phase}
		return v
	}
	running, paused, pausing := v1alpha1.PhaseRunning, v1alpha1.PhasePaused, v1alpha1.PhasePausing
	for _, tc := range []struct {
		name    string
		v       *v1alpha1.Vertex
		pending int64
		want    bool
	}{
		{"never reported", vertex(0, nil, running, running), 0, true},
		{"changed", vertex(3, at(0), running, running), 4, true},
		{"unchanged and fresh", vertex(3, at(5*time.Second), running, running), 3, false},
		{"unchanged but stale", vertex(3, at(Refresh), running, running), 3, true},
		{"pausing, reported this second", vertex(0, at(500*time.Millisecond), paused, pausing), 0, false},
		{"pausing, reported a second ago", vertex(0, at(time.Second), paused, pausing), 0, true},
		{"paused, drained: no need to hurry", vertex(0, at(time.Second), paused, paused), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReportDue(tc.v, tc.pending, now); got != tc.want {
				t.Fatalf("ReportDue = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRunnerNames: the runner scales a Function's key through the Function
// and a vertex's key through its Vertex, and forgets a stopped key.
func TestRunnerNames(t *testing.T) {
	r := &Runner{}
	if err := r.Run(dataplane.Function{Key: "ns/fn", Namespace: "ns", Name: "fn"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(dataplane.Function{Key: "ns/p-v", Namespace: "ns", Name: "p-v", Vertex: true}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"ns/fn": FunctionName("ns", "fn"), "ns/p-v": VertexName("ns", "p-v")} {
		if got, ok := r.name(key); !ok || got != want {
			t.Errorf("name(%s) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if err := r.Stop("ns/fn"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReplicas("ns/fn", 1); err == nil {
		t.Error("SetReplicas of a stopped function succeeded")
	}
	if d, ready := r.Status("ns/fn"); d != 0 || ready != 0 {
		t.Errorf("Status of a stopped function = %d, %d; want zeros", d, ready)
	}
}
