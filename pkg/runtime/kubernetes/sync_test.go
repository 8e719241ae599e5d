package kubernetes

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// TestVertexChanged: the data plane is re-applied on spec and phase
// changes of a Vertex, not on the backlog the activator itself writes.
func TestVertexChanged(t *testing.T) {
	base := &v1alpha1.Vertex{}
	base.Generation = 3
	base.Status.Phase = v1alpha1.PhaseRunning
	edit := func(f func(v *v1alpha1.Vertex)) *v1alpha1.Vertex {
		v := base.DeepCopy()
		f(v)
		return v
	}
	for _, tc := range []struct {
		name string
		new  *v1alpha1.Vertex
		want bool
	}{
		{"backlog only", edit(func(v *v1alpha1.Vertex) { v.Status.Backlog = 7 }), false},
		{"spec", edit(func(v *v1alpha1.Vertex) { v.Generation++ }), true},
		{"phase", edit(func(v *v1alpha1.Vertex) { v.Status.Phase = v1alpha1.PhasePaused }), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := vertexChanged.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: tc.new}); got != tc.want {
				t.Fatalf("vertexChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
