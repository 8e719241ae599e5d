package pipeline

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func TestDecideDrain(t *testing.T) {
	deleted := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	deleting := func(annotations map[string]string) *v1alpha1.Pipeline {
		return testPipeline(func(p *v1alpha1.Pipeline) {
			p.DeletionTimestamp = &metav1.Time{Time: deleted}
			p.Annotations = annotations
		})
	}
	paused, running := reporting(v1alpha1.PhasePaused), reporting(v1alpha1.PhaseRunning)
	tests := []struct {
		name     string
		pipeline *v1alpha1.Pipeline
		vertices []*v1alpha1.Vertex
		at       time.Duration // after deletion
		want     drain
	}{{
		name: "no vertices", pipeline: deleting(nil),
		want: drain{release: true, reason: EventDrained, message: "every Vertex paused; deleted"},
	}, {
		name: "all paused", pipeline: deleting(nil), vertices: vertices(testVertex("a", paused), testVertex("b", paused)),
		at:   time.Second,
		want: drain{release: true, reason: EventDrained, message: "every Vertex paused; deleted"},
	}, {
		name: "one still running", pipeline: deleting(nil), vertices: vertices(testVertex("a", paused), testVertex("b", running)),
		at: time.Minute,
		want: drain{reason: ReasonDraining, wait: drainPoll, message: `deleting: waiting for Vertex demo-b to pause, ` +
			`until 2026-03-01T12:05:00Z (drain timeout 5m0s; annotate freshet.dev/force-delete: "true" to delete now)`},
	}, {
		name: "told to pause, not yet observed", pipeline: deleting(nil), vertices: vertices(testVertex("a", paused, stale)),
		at: 4*time.Minute + 50*time.Second,
		want: drain{reason: ReasonDraining, wait: 10 * time.Second, message: `deleting: waiting for Vertex demo-a to pause, ` +
			`until 2026-03-01T12:05:00Z (drain timeout 5m0s; annotate freshet.dev/force-delete: "true" to delete now)`},
	}, {
		name: "default timeout passed", pipeline: deleting(nil), vertices: vertices(testVertex("a", running)),
		at:   5 * time.Minute,
		want: drain{release: true, reason: EventDrainTimeout, message: "gave up after the drain timeout of 5m0s waiting for Vertex demo-a to pause; deleted"},
	}, {
		name: "annotated timeout", pipeline: deleting(map[string]string{DrainTimeoutAnnotation: "30s"}),
		vertices: vertices(testVertex("a", running), testVertex("b", running)), at: 30 * time.Second,
		want: drain{release: true, reason: EventDrainTimeout,
			message: "gave up after the drain timeout of 30s waiting for 2 Vertices (demo-a, demo-b) to pause; deleted"},
	}, {
		name: "annotated timeout not yet passed", pipeline: deleting(map[string]string{DrainTimeoutAnnotation: "30s"}),
		vertices: vertices(testVertex("a", running)), at: 25 * time.Second,
		want: drain{reason: ReasonDraining, wait: 5 * time.Second, message: `deleting: waiting for Vertex demo-a to pause, ` +
			`until 2026-03-01T12:00:30Z (drain timeout 30s; annotate freshet.dev/force-delete: "true" to delete now)`},
	}, {
		name: "invalid timeout means the default", pipeline: deleting(map[string]string{DrainTimeoutAnnotation: "soon"}),
		vertices: vertices(testVertex("a", running)), at: 5 * time.Minute,
		want: drain{release: true, reason: EventDrainTimeout, message: `gave up after the drain timeout of 5m0s waiting for Vertex demo-a ` +
			`to pause; deleted; freshet.dev/drain-timeout "soon" is not a duration such as 90s, so the default 5m0s applies`},
	}, {
		name: "negative timeout means the default", pipeline: deleting(map[string]string{DrainTimeoutAnnotation: "-1s"}),
		vertices: vertices(testVertex("a", running)), at: time.Minute,
		want: drain{reason: ReasonDraining, wait: drainPoll, message: `deleting: waiting for Vertex demo-a to pause, ` +
			`until 2026-03-01T12:05:00Z (drain timeout 5m0s; annotate freshet.dev/force-delete: "true" to delete now); ` +
			`freshet.dev/drain-timeout "-1s" is not a duration such as 90s, so the default 5m0s applies`},
	}, {
		name: "force", pipeline: deleting(map[string]string{ForceDeleteAnnotation: "true"}),
		vertices: vertices(testVertex("a", running)),
		want: drain{release: true, reason: EventForceDeleted,
			message: `deleted without draining (freshet.dev/force-delete: "true"): events buffered or in flight may be lost`},
	}, {
		name: "force only when true", pipeline: deleting(map[string]string{ForceDeleteAnnotation: "yes"}),
		vertices: vertices(testVertex("a", running)), at: time.Minute,
		want: drain{reason: ReasonDraining, wait: drainPoll, message: `deleting: waiting for Vertex demo-a to pause, ` +
			`until 2026-03-01T12:05:00Z (drain timeout 5m0s; annotate freshet.dev/force-delete: "true" to delete now)`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decideDrain(deleted.Add(tc.at), tc.pipeline, tc.vertices)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(drain{})); diff != "" {
				t.Errorf("decideDrain (-want +got):\n%s", diff)
			}
		})
	}
}
