package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// planSummary names what a vertexPlan does to each Vertex.
type planSummary struct {
	Create, Update, Keep, Remove, NotOwned []string
}

func summarizePlan(plan vertexPlan) planSummary {
	var s planSummary
	for _, c := range plan.changes {
		switch {
		case c.create():
			s.Create = append(s.Create, c.want.Name)
		case c.changed():
			s.Update = append(s.Update, c.want.Name)
		default:
			s.Keep = append(s.Keep, c.want.Name)
		}
	}
	for _, v := range plan.remove {
		s.Remove = append(s.Remove, v.Name)
	}
	s.NotOwned = plan.notOwned
	return s
}

func TestPlanVertices(t *testing.T) {
	paused := withDesired(v1alpha1.PhasePaused)
	tests := []struct {
		name     string
		want     []*v1alpha1.Vertex
		existing []*v1alpha1.Vertex
		plan     planSummary
	}{{
		name: "nothing yet",
		want: vertices(testVertex("a"), testVertex("b")),
		plan: planSummary{Create: []string{"demo-a", "demo-b"}},
	}, {
		name:     "unchanged, whatever the scaler, the status and the annotations say",
		want:     vertices(testVertex("a")),
		existing: vertices(testVertex("a", withReplicas(3), withAnnotation("freshet.dev/x", "y"), reporting(v1alpha1.PhaseRunning))),
		plan:     planSummary{Keep: []string{"demo-a"}},
	}, {
		name:     "changed spec",
		want:     vertices(testVertex("a", paused), testVertex("b")),
		existing: vertices(testVertex("a"), testVertex("b")),
		plan:     planSummary{Update: []string{"demo-a"}, Keep: []string{"demo-b"}},
	}, {
		name:     "label lost",
		want:     vertices(testVertex("a")),
		existing: vertices(testVertex("a", func(v *v1alpha1.Vertex) { delete(v.Labels, "freshet.dev/vertex") })),
		plan:     planSummary{Update: []string{"demo-a"}},
	}, {
		name:     "removed vertex",
		want:     vertices(testVertex("a")),
		existing: vertices(testVertex("a"), testVertex("gone")),
		plan:     planSummary{Keep: []string{"demo-a"}, Remove: []string{"demo-gone"}},
	}, {
		name:     "removed vertex already being deleted",
		want:     vertices(testVertex("a")),
		existing: vertices(testVertex("a"), testVertex("gone", terminating)),
		plan:     planSummary{Keep: []string{"demo-a"}},
	}, {
		name:     "another pipeline's vertex: neither updated nor removed",
		want:     vertices(testVertex("a"), testVertex("b")),
		existing: vertices(testVertex("a", ownedBy("other"), paused), testVertex("c", ownedBy("other"))),
		plan:     planSummary{Create: []string{"demo-b"}, NotOwned: []string{"demo-a"}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summarizePlan(planVertices(testPipeline(), tc.want, tc.existing))
			if diff := cmp.Diff(tc.plan, got); diff != "" {
				t.Errorf("planVertices (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeVertex: an update takes the wanted spec and labels but keeps the
// scaler's replicas, the Vertex reconciler's annotations, other labels and
// the status.
func TestMergeVertex(t *testing.T) {
	current := testVertex("a", withReplicas(4), withAnnotation("freshet.dev/drained", "true"), reporting(v1alpha1.PhaseRunning),
		func(v *v1alpha1.Vertex) {
			v.Labels["team"] = "ml"
			v.Labels["freshet.dev/vertex"] = "old"
		})
	want := testVertex("a", withDesired(v1alpha1.PhasePaused), func(v *v1alpha1.Vertex) {
		v.Spec.Sink = &v1alpha1.Sink{HTTP: &v1alpha1.Destination{URI: "http://x"}}
	})
	before := current.DeepCopy()

	got := mergeVertex(current, want)

	expected := before.DeepCopy()
	expected.Spec = want.Spec
	expected.Spec.Replicas = before.Spec.Replicas
	expected.Labels = map[string]string{"freshet.dev/pipeline": "demo", "freshet.dev/vertex": "a", "team": "ml"}
	if diff := cmp.Diff(expected, got); diff != "" {
		t.Errorf("mergeVertex (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, current); diff != "" {
		t.Errorf("mergeVertex modified current (-before +after):\n%s", diff)
	}
	got.Spec.Sink.HTTP.URI = "changed"
	if want.Spec.Sink.HTTP.URI != "http://x" {
		t.Error("mergeVertex shares the wanted spec's memory")
	}
}
