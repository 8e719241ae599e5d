package pipeline

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
)

// TestPipelineBecomesVertices: a Pipeline gets the drain finalizer and one
// Vertex per vertex, controlled by it and labelled, with the referenced
// Function's spec copied in; a change to the Function or the Pipeline
// reaches the Vertices without undoing the scaler's replicas or the Vertex
// reconciler's annotations; a vertex removed from the spec loses its Vertex.
func TestPipelineBecomesVertices(t *testing.T) {
	s := start(t)
	fn := newFunction("scorer", "ghcr.io/example/scorer:1")
	fn.Spec.Replicas = ptr.To[int32](7) // the Function's own scaler: not the Vertex's business
	s.create(fn)
	s.create(newPipeline("demo", []v1alpha1.PipelineVertex{source("in"), functionRef("score", "scorer"), logSink("out"), logSink("audit")},
		edge("in", "score"), edge("score", "out"), edge("score", "audit")))

	vs := s.waitVertices("demo", "the Vertices", func(*v1alpha1.Vertex) bool { return true }, "in", "score", "out", "audit")
	p := s.pipeline("demo")
	if !controllerutil.ContainsFinalizer(p, DrainFinalizer) {
		t.Errorf("finalizers %v, want %s", p.Finalizers, DrainFinalizer)
	}
	for name, v := range vs {
		if !metav1.IsControlledBy(v, p) {
			t.Errorf("vertex %s: owners %+v do not name the pipeline as controller", name, v.OwnerReferences)
		}
		want := map[string]string{resources.PipelineLabelKey: "demo", resources.VertexLabelKey: name}
		if diff := cmp.Diff(want, v.Labels); diff != "" {
			t.Errorf("vertex %s labels (-want +got):\n%s", name, diff)
		}
		if v.Spec.Lifecycle.DesiredPhase != v1alpha1.PhaseRunning {
			t.Errorf("vertex %s desired phase %q, want Running", name, v.Spec.Lifecycle.DesiredPhase)
		}
	}
	want := fn.Spec.DeepCopy()
	want.SetDefaults()
	want.Replicas = nil
	if diff := cmp.Diff(want, vs["score"].Spec.Function); diff != "" {
		t.Errorf("score vertex function (-want +got):\n%s", diff)
	}
	if vs["score"].Spec.FunctionName != "scorer" {
		t.Errorf("score vertex functionName %q, want scorer", vs["score"].Spec.FunctionName)
	}
	ready := s.waitReady("demo", v1alpha1.PhaseRunning, ReasonStarting)
	if p := s.pipeline("demo"); p.Status.Vertices != 4 || ready.Status != metav1.ConditionFalse {
		t.Errorf("status vertices %d, %s; want 4 and not Ready", p.Status.Vertices, condString(ready))
	}
	s.report("demo", v1alpha1.PhaseRunning, "in", "score", "out", "audit")
	s.waitReady("demo", v1alpha1.PhaseRunning, ReasonRunning)

	// The scaler and the Vertex reconciler write to the score Vertex.
	score := vs["score"]
	s.update(score, func() {
		score.Spec.Replicas = ptr.To[int32](3)
		metav1.SetMetaDataAnnotation(&score.ObjectMeta, "freshet.dev/observed", "yes")
	})
	// The user ships a new image.
	s.update(fn, func() { fn.Spec.Container.Image = "ghcr.io/example/scorer:2" })
	vs = s.waitVertices("demo", "the new image in the score Vertex", func(v *v1alpha1.Vertex) bool {
		return v.Spec.Name != "score" || v.Spec.Function.Container.Image == "ghcr.io/example/scorer:2"
	}, "in", "score", "out", "audit")
	if r := vs["score"].Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("score vertex replicas %v after the update, want the scaler's 3", r)
	}
	if a := vs["score"].Annotations["freshet.dev/observed"]; a != "yes" {
		t.Errorf("score vertex annotation %q after the update, want yes", a)
	}
	s.waitReady("demo", v1alpha1.PhaseRunning, ReasonStarting) // the changed Vertex has not reported its new generation

	// The user drops the audit sink.
	p = s.pipeline("demo")
	s.update(p, func() {
		p.Spec.Vertices = p.Spec.Vertices[:3]
		p.Spec.Edges = p.Spec.Edges[:2]
	})
	s.waitVertices("demo", "the audit Vertex to go", func(*v1alpha1.Vertex) bool { return true }, "in", "score", "out")
	s.report("demo", v1alpha1.PhaseRunning, "score")
	s.waitReady("demo", v1alpha1.PhaseRunning, ReasonRunning)
	if p := s.pipeline("demo"); p.Status.Vertices != 3 {
		t.Errorf("status vertices %d, want 3", p.Status.Vertices)
	}
}

// TestMissingFunction: a Pipeline naming a Function that does not exist
// says so, and builds its Vertices once the Function appears.
func TestMissingFunction(t *testing.T) {
	s := start(t)
	s.create(newPipeline("late", []v1alpha1.PipelineVertex{source("in"), functionRef("fn", "tokenizer"), logSink("out")},
		edge("in", "fn"), edge("fn", "out")))
	ready := s.waitReady("late", "", ReasonFunctionNotFound)
	if !strings.Contains(ready.Message, "tokenizer") {
		t.Errorf("message %q does not name the Function", ready.Message)
	}
	if vs := s.vertices("late"); len(vs) != 0 {
		t.Errorf("%d vertices without the Function, want none", len(vs))
	}
	s.create(newFunction("tokenizer", "ghcr.io/example/tok:1"))
	s.waitVertices("late", "the Vertices", func(v *v1alpha1.Vertex) bool {
		return v.Spec.Name != "fn" || v.Spec.Function.Container.Image == "ghcr.io/example/tok:1"
	}, "in", "fn", "out")
	s.waitReady("late", v1alpha1.PhaseRunning, ReasonStarting)

	// The Function goes away while the pipeline runs: its Vertices keep
	// what they run, and still follow a pause.
	s.report("late", v1alpha1.PhaseRunning, "in", "fn", "out")
	if err := s.c.Delete(s.ctx, &v1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "tokenizer"}}); err != nil {
		t.Fatal(err)
	}
	s.waitReady("late", v1alpha1.PhaseRunning, ReasonFunctionNotFound)
	p := s.pipeline("late")
	s.update(p, func() { p.Spec.Lifecycle.DesiredPhase = v1alpha1.PhasePaused })
	s.waitVertices("late", "Paused in every Vertex's spec", func(v *v1alpha1.Vertex) bool {
		return v.Spec.Lifecycle.DesiredPhase == v1alpha1.PhasePaused
	}, "in", "fn", "out")
	s.report("late", v1alpha1.PhasePaused, "in", "fn", "out")
	s.waitReady("late", v1alpha1.PhasePaused, ReasonFunctionNotFound)
}

// TestVertexNotOwned: a Vertex of the name a pipeline needs that another
// owner holds is left alone and reported.
func TestVertexNotOwned(t *testing.T) {
	s := start(t)
	s.create(&v1alpha1.Vertex{
		ObjectMeta: metav1.ObjectMeta{Name: resources.VertexName("etl", "out")},
		Spec:       v1alpha1.VertexSpec{PipelineName: "other", Name: "out", Sink: &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}},
	})
	s.create(newPipeline("etl", []v1alpha1.PipelineVertex{source("in"), logSink("out")}, edge("in", "out")))
	s.waitReady("etl", v1alpha1.PhaseRunning, ReasonVertexNotOwned, "another controller owns Vertex etl-out")
	if vs := s.vertices("etl"); len(vs) != 1 || vs["in"] == nil {
		t.Errorf("labelled vertices %v, want only in", vs)
	}
}

// TestSinkRef: an http sink naming an Addressable (here a Function, whose
// status.address.url the test sets) waits for its address, then its Vertex
// carries the resolved URL; a ref to a kind the API server does not serve
// does not resolve.
func TestSinkRef(t *testing.T) {
	s := start(t)
	store := newFunction("store", "ghcr.io/example/store:1")
	s.create(store)
	ref := &v1alpha1.KReference{APIVersion: "freshet.dev/v1alpha1", Kind: "Function", Name: "store"}
	s.create(newPipeline("out", []v1alpha1.PipelineVertex{source("in"), httpSink("store", v1alpha1.Destination{Ref: ref, URI: "?mode=append"})},
		edge("in", "store")))
	ready := s.waitReady("out", "", ReasonDestinationNotResolved)
	if want := "has no address (status.address.url) yet"; !strings.Contains(ready.Message, want) {
		t.Errorf("message %q, want it to contain %q", ready.Message, want)
	}

	s.status(store, func() {
		store.Status.Address = &v1alpha1.Addressable{URL: "http://activator.freshet/functions/x/store"}
	})
	s.waitVertices("out", "the resolved URL in the sink Vertex", func(v *v1alpha1.Vertex) bool {
		return v.Spec.Sink == nil ||
			cmp.Equal(v.Spec.Sink.HTTP, &v1alpha1.Destination{URI: "http://activator.freshet/functions/x/store?mode=append"})
	}, "in", "store")

	// The Function moves: the watch carries the new address.
	s.status(store, func() { store.Status.Address.URL = "http://other.freshet/functions/x/store" })
	s.waitVertices("out", "the new URL in the sink Vertex", func(v *v1alpha1.Vertex) bool {
		return v.Spec.Sink == nil || v.Spec.Sink.HTTP.URI == "http://other.freshet/functions/x/store?mode=append"
	}, "in", "store")

	s.create(newPipeline("nowhere", []v1alpha1.PipelineVertex{source("in"),
		httpSink("svc", v1alpha1.Destination{Ref: &v1alpha1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "x"}})},
		edge("in", "svc")))
	ready = s.waitReady("nowhere", "", ReasonDestinationNotResolved)
	if want := "the API server serves no kind Service in serving.knative.dev/v1"; !strings.Contains(ready.Message, want) {
		t.Errorf("message %q, want it to contain %q", ready.Message, want)
	}
}

// TestInvalidSpec: a rule the CRD cannot check (a cycle) is a terminal
// condition, and no Vertex is made.
func TestInvalidSpec(t *testing.T) {
	s := start(t)
	s.create(newPipeline("loop", []v1alpha1.PipelineVertex{source("in"), inline("a", "x:1"), inline("b", "x:1"), logSink("out")},
		edge("in", "a"), edge("a", "b"), edge("b", "a"), edge("b", "out")))
	ready := s.waitReady("loop", "", ReasonInvalidSpec)
	if !strings.Contains(ready.Message, "closes the cycle a -> b -> a") {
		t.Errorf("message %q does not name the cycle", ready.Message)
	}
	if vs := s.vertices("loop"); len(vs) != 0 {
		t.Errorf("%d vertices for an invalid pipeline, want none", len(vs))
	}
}
