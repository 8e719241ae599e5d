package pipeline

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

var allVertices = []string{"in", "fn", "out"}

// running creates pipeline in → fn → out and has every Vertex report
// Running.
func (s *suite) running(name string) *v1alpha1.Pipeline {
	s.t.Helper()
	s.create(newPipeline(name, []v1alpha1.PipelineVertex{source("in"), inline("fn", "ghcr.io/example/fn:1"), logSink("out")},
		edge("in", "fn"), edge("fn", "out")))
	s.waitVertices(name, "the Vertices", func(*v1alpha1.Vertex) bool { return true }, allVertices...)
	s.report(name, v1alpha1.PhaseRunning, allVertices...)
	s.waitReady(name, v1alpha1.PhaseRunning, ReasonRunning)
	return s.pipeline(name)
}

func desiring(phase v1alpha1.Phase) func(*v1alpha1.Vertex) bool {
	return func(v *v1alpha1.Vertex) bool { return v.Spec.Lifecycle.DesiredPhase == phase }
}

// TestPauseResume: Paused reaches every Vertex's spec; the pipeline is
// Pausing until every Vertex reports Paused for its latest spec, then
// Paused; resuming keeps it Paused (Resuming) until every Vertex runs.
func TestPauseResume(t *testing.T) {
	s := start(t)
	p := s.running("etl")

	s.update(p, func() { p.Spec.Lifecycle.DesiredPhase = v1alpha1.PhasePaused })
	s.waitVertices("etl", "Paused in every Vertex's spec", desiring(v1alpha1.PhasePaused), allVertices...)
	if ready := s.waitReady("etl", v1alpha1.PhasePausing, ReasonPausing, "3 Vertices (etl-in, etl-fn, etl-out)"); ready.Status != metav1.ConditionFalse {
		t.Errorf("while pausing: %s", condString(ready))
	}
	s.report("etl", v1alpha1.PhasePaused, "in", "fn")
	s.waitReady("etl", v1alpha1.PhasePausing, ReasonPausing, "waiting for Vertex etl-out to pause")
	s.report("etl", v1alpha1.PhasePaused, "out")
	if ready := s.waitReady("etl", v1alpha1.PhasePaused, ReasonPaused); ready.Status != metav1.ConditionTrue {
		t.Errorf("paused: %s", condString(ready))
	}

	p = s.pipeline("etl")
	s.update(p, func() { p.Spec.Lifecycle.DesiredPhase = v1alpha1.PhaseRunning })
	s.waitVertices("etl", "Running in every Vertex's spec", desiring(v1alpha1.PhaseRunning), allVertices...)
	s.waitReady("etl", v1alpha1.PhasePaused, ReasonResuming)
	s.report("etl", v1alpha1.PhaseRunning, allVertices...)
	if ready := s.waitReady("etl", v1alpha1.PhaseRunning, ReasonRunning); ready.Status != metav1.ConditionTrue {
		t.Errorf("resumed: %s", condString(ready))
	}
}

// TestDeleteDrains: a deleted Pipeline pauses its Vertices and stays until
// every one reports Paused.
func TestDeleteDrains(t *testing.T) {
	s := start(t)
	p := s.running("etl")
	if err := s.c.Delete(s.ctx, p); err != nil {
		t.Fatal(err)
	}
	s.waitVertices("etl", "Paused in every Vertex's spec", desiring(v1alpha1.PhasePaused), allVertices...)
	s.waitReady("etl", v1alpha1.PhasePausing, ReasonDraining, "3 Vertices", "drain timeout 5m0s")
	s.report("etl", v1alpha1.PhasePaused, "in", "fn")
	s.waitReady("etl", v1alpha1.PhasePausing, ReasonDraining, "waiting for Vertex etl-out to pause")
	s.report("etl", v1alpha1.PhasePaused, "out")
	if e := s.waitGone("etl", EventDrained); e.Type != corev1.EventTypeNormal {
		t.Errorf("event type %s, want Normal", e.Type)
	}
}

// TestForceDelete: the force-delete annotation lets a draining Pipeline go
// at once, and an Event says so.
func TestForceDelete(t *testing.T) {
	s := start(t)
	p := s.running("etl")
	if err := s.c.Delete(s.ctx, p); err != nil {
		t.Fatal(err)
	}
	s.waitReady("etl", v1alpha1.PhasePausing, ReasonDraining)
	s.update(p, func() { metav1.SetMetaDataAnnotation(&p.ObjectMeta, ForceDeleteAnnotation, "true") })
	e := s.waitGone("etl", EventForceDeleted)
	if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Note, "without draining") {
		t.Errorf("event %s %q, want a Warning saying it did not drain", e.Type, e.Note)
	}
}

// TestDrainTimeout: a Pipeline whose Vertices never pause goes after its
// drain timeout, measured from its deletion, and an Event says so.
func TestDrainTimeout(t *testing.T) {
	s := start(t)
	p := s.running("etl")
	s.update(p, func() { metav1.SetMetaDataAnnotation(&p.ObjectMeta, DrainTimeoutAnnotation, "2s") })
	if err := s.c.Delete(s.ctx, p); err != nil {
		t.Fatal(err)
	}
	s.waitReady("etl", v1alpha1.PhasePausing, ReasonDraining)
	deleted := s.pipeline("etl").DeletionTimestamp.Time
	e := s.waitGone("etl", EventDrainTimeout)
	if e.Type != corev1.EventTypeWarning || !strings.Contains(e.Note, "gave up after the drain timeout of 2s") {
		t.Errorf("event %s %q, want a Warning about the timeout", e.Type, e.Note)
	}
	if took := e.EventTime.Sub(deleted); took < time.Second {
		t.Errorf("gave up %s after deletion, want about 2s", took)
	}
}
