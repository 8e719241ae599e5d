package pipeline

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func TestVertexChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(*v1alpha1.Vertex)
		want   bool
	}{
		{"backlog", func(v *v1alpha1.Vertex) { v.Status.Backlog, v.Status.BacklogTime = 40, &metav1.Time{} }, false},
		{"replicas in status", func(v *v1alpha1.Vertex) { v.Status.Replicas, v.Status.ReadyReplicas = 2, 1 }, false},
		{"spec", stale, true},
		{"phase", reporting(v1alpha1.PhasePaused), true},
		{"observed generation", func(v *v1alpha1.Vertex) { v.Status.ObservedGeneration++ }, true},
		{"condition", notReady("Crash"), true},
		{"label", func(v *v1alpha1.Vertex) { v.Labels["freshet.dev/vertex"] = "x" }, true},
		{"owner", ownedBy("other"), true},
		{"deletion", terminating, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := testVertex("a", reporting(v1alpha1.PhaseRunning))
			cur := old.DeepCopy()
			tc.change(cur)
			if got := vertexChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: cur}); got != tc.want {
				t.Errorf("vertexChanged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFunctionChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(*v1alpha1.Function)
		want   bool
	}{
		{"backlog and replicas", func(f *v1alpha1.Function) { f.Status.Backlog, f.Status.Replicas = 9, 2 }, false},
		{"spec", func(f *v1alpha1.Function) { f.Generation++ }, true},
		{"address", func(f *v1alpha1.Function) { f.Status.Address = &v1alpha1.Addressable{URL: "http://b"} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := &v1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
			old.Status.Address = &v1alpha1.Addressable{URL: "http://a"}
			cur := old.DeepCopy()
			tc.change(cur)
			if got := functionChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: cur}); got != tc.want {
				t.Errorf("functionChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
