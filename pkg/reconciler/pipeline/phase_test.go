package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func TestSummarize(t *testing.T) {
	const (
		running = v1alpha1.PhaseRunning
		paused  = v1alpha1.PhasePaused
		pausing = v1alpha1.PhasePausing
	)
	tests := []struct {
		name              string
		desired, previous v1alpha1.Phase
		vertices          []*v1alpha1.Vertex
		want              summary
	}{{
		name: "new pipeline, nothing reported", desired: running,
		vertices: vertices(testVertex("a"), testVertex("b")),
		want:     summary{phase: running, reason: ReasonStarting, message: "waiting for 2 Vertices (demo-a, demo-b) to run"},
	}, {
		name: "desired unset means Running", desired: "",
		vertices: vertices(testVertex("a", reporting(running))),
		want:     summary{phase: running, ready: true, reason: ReasonRunning},
	}, {
		name: "all running", desired: running, previous: running,
		vertices: vertices(testVertex("a", reporting(running)), testVertex("b", reporting(running))),
		want:     summary{phase: running, ready: true, reason: ReasonRunning},
	}, {
		name: "running but a vertex not ready", desired: running, previous: running,
		vertices: vertices(testVertex("a", reporting(running)), testVertex("b", reporting(running), notReady("ImagePull"))),
		want:     summary{phase: running, reason: ReasonVertexNotReady, message: "Vertex demo-b is not Ready: ImagePull: oops"},
	}, {
		name: "a changed vertex has not reported its new generation", desired: running, previous: running,
		vertices: vertices(testVertex("a", reporting(running)), testVertex("b", reporting(running), stale)),
		want:     summary{phase: running, reason: ReasonStarting, message: "waiting for Vertex demo-b to run"},
	}, {
		name: "pausing: one still running", desired: paused, previous: running,
		vertices: vertices(testVertex("a", reporting(paused)), testVertex("b", reporting(running))),
		want:     summary{phase: pausing, reason: ReasonPausing, message: "waiting for Vertex demo-b to pause"},
	}, {
		name: "pausing: one says Pausing", desired: paused, previous: pausing,
		vertices: vertices(testVertex("a", reporting(paused)), testVertex("b", reporting(pausing))),
		want:     summary{phase: pausing, reason: ReasonPausing, message: "waiting for Vertex demo-b to pause"},
	}, {
		name: "pausing: Paused from before the latest spec does not count", desired: paused, previous: pausing,
		vertices: vertices(testVertex("a", reporting(paused)), testVertex("b", reporting(paused), stale)),
		want:     summary{phase: pausing, reason: ReasonPausing, message: "waiting for Vertex demo-b to pause"},
	}, {
		name: "paused", desired: paused, previous: pausing,
		vertices: vertices(testVertex("a", reporting(paused)), testVertex("b", reporting(paused))),
		want:     summary{phase: paused, ready: true, reason: ReasonPaused},
	}, {
		name: "paused with a vertex not ready is still paused", desired: paused, previous: paused,
		vertices: vertices(testVertex("a", reporting(paused), notReady("ScaledToZero"))),
		want:     summary{phase: paused, ready: true, reason: ReasonPaused},
	}, {
		name: "resuming from Paused stays Paused until every vertex runs", desired: running, previous: paused,
		vertices: vertices(testVertex("a", reporting(running)), testVertex("b", reporting(paused))),
		want:     summary{phase: paused, reason: ReasonResuming, message: "waiting for Vertex demo-b to run"},
	}, {
		name: "resuming in the middle of a pause", desired: running, previous: pausing,
		vertices: vertices(testVertex("a", reporting(pausing)), testVertex("b", reporting(running))),
		want:     summary{phase: running, reason: ReasonResuming, message: "waiting for Vertex demo-a to run"},
	}, {
		name: "a vertex still paused means resuming whatever the previous phase", desired: running, previous: "",
		vertices: vertices(testVertex("a", reporting(paused))),
		want:     summary{phase: running, reason: ReasonResuming, message: "waiting for Vertex demo-a to run"},
	}, {
		name: "resumed", desired: running, previous: paused,
		vertices: vertices(testVertex("a", reporting(running)), testVertex("b", reporting(running))),
		want:     summary{phase: running, ready: true, reason: ReasonRunning},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(tc.desired, tc.previous, tc.vertices)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(summary{})); diff != "" {
				t.Errorf("summarize (-want +got):\n%s", diff)
			}
		})
	}
}
