package resources

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Builders for small pipelines: in (http source) → fn → out (log sink).

type pipelineOption func(*v1alpha1.Pipeline)

func pipeline(name string, opts ...pipelineOption) *v1alpha1.Pipeline {
	p := &v1alpha1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml"}}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

func withSource(name string) pipelineOption {
	return func(p *v1alpha1.Pipeline) {
		p.Spec.Vertices = append(p.Spec.Vertices, v1alpha1.PipelineVertex{Name: name, Source: &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}}})
	}
}

func withFunctionRef(name, function string) pipelineOption {
	return func(p *v1alpha1.Pipeline) {
		p.Spec.Vertices = append(p.Spec.Vertices, v1alpha1.PipelineVertex{Name: name,
			Function: &v1alpha1.FunctionVertex{Ref: &v1alpha1.LocalObjectReference{Name: function}}})
	}
}

func withInlineFunction(name string, spec v1alpha1.FunctionSpec) pipelineOption {
	return func(p *v1alpha1.Pipeline) {
		p.Spec.Vertices = append(p.Spec.Vertices, v1alpha1.PipelineVertex{Name: name, Function: &v1alpha1.FunctionVertex{Spec: &spec}})
	}
}

func withLogSink(name string) pipelineOption {
	return func(p *v1alpha1.Pipeline) {
		p.Spec.Vertices = append(p.Spec.Vertices, v1alpha1.PipelineVertex{Name: name, Sink: &v1alpha1.Sink{Log: &v1alpha1.LogSink{}}})
	}
}

func withEdge(from, to string, filter *v1alpha1.Filter) pipelineOption {
	return func(p *v1alpha1.Pipeline) {
		p.Spec.Edges = append(p.Spec.Edges, v1alpha1.Edge{From: from, To: to, Filter: filter})
	}
}

func withPhase(phase v1alpha1.Phase) pipelineOption {
	return func(p *v1alpha1.Pipeline) { p.Spec.Lifecycle.DesiredPhase = phase }
}

func withUID(uid types.UID) pipelineOption {
	return func(p *v1alpha1.Pipeline) { p.UID = uid }
}

func function(name string, command ...string) *v1alpha1.Function {
	return &v1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml"},
		Spec:       v1alpha1.FunctionSpec{Container: v1alpha1.Container{Command: command}},
	}
}

func defaulted(spec v1alpha1.FunctionSpec) *v1alpha1.FunctionSpec {
	spec.SetDefaults()
	return &spec
}

func defaultedSink(s v1alpha1.Sink) *v1alpha1.Sink {
	s.SetDefaults()
	return &s
}

// vertex is the Vertex MakeVertices should build for pipeline "demo" in ml.
func vertex(name string, uid types.UID, spec v1alpha1.VertexSpec) *v1alpha1.Vertex {
	yes := true
	spec.PipelineName, spec.Name = "demo", name
	if spec.Lifecycle.DesiredPhase == "" {
		spec.Lifecycle.DesiredPhase = v1alpha1.PhaseRunning
	}
	return &v1alpha1.Vertex{
		TypeMeta: metav1.TypeMeta{APIVersion: "freshet.dev/v1alpha1", Kind: "Vertex"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "demo-" + name,
			Namespace: "ml",
			Labels:    map[string]string{"freshet.dev/pipeline": "demo", "freshet.dev/vertex": name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "freshet.dev/v1alpha1", Kind: "Pipeline", Name: "demo", UID: uid,
				Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
		Spec: spec,
	}
}

func TestMakeVertices(t *testing.T) {
	inline := v1alpha1.FunctionSpec{Container: v1alpha1.Container{Command: []string{"python", "tok.py"}}, Batch: &v1alpha1.Batch{MaxSize: 4}}
	typeA := &v1alpha1.Filter{Exact: map[string]string{"type": "a"}}
	functions := map[string]*v1alpha1.Function{"echo": function("echo", "./echo")}

	tests := []struct {
		name      string
		pipeline  *v1alpha1.Pipeline
		functions map[string]*v1alpha1.Function
		want      []*v1alpha1.Vertex
	}{{
		name: "function by reference",
		pipeline: pipeline("demo", withUID("u1"), withSource("in"), withFunctionRef("fn", "echo"), withLogSink("out"),
			withEdge("in", "fn", nil), withEdge("fn", "out", nil)),
		functions: functions,
		want: []*v1alpha1.Vertex{
			vertex("in", "u1", v1alpha1.VertexSpec{
				Source: &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}},
				Edges:  []v1alpha1.Edge{{From: "in", To: "fn"}},
			}),
			vertex("fn", "u1", v1alpha1.VertexSpec{
				Function:     defaulted(functions["echo"].Spec),
				FunctionName: "echo",
				Edges:        []v1alpha1.Edge{{From: "fn", To: "out"}},
			}),
			vertex("out", "u1", v1alpha1.VertexSpec{Sink: defaultedSink(v1alpha1.Sink{Log: &v1alpha1.LogSink{}})}),
		},
	}, {
		name: "inline function, fan-out with filter, paused, no uid",
		pipeline: pipeline("demo", withSource("in"), withInlineFunction("tok", inline), withLogSink("a"), withLogSink("b"),
			withPhase(v1alpha1.PhasePaused),
			withEdge("in", "tok", nil), withEdge("tok", "a", typeA), withEdge("tok", "b", nil)),
		want: []*v1alpha1.Vertex{
			vertex("in", "", v1alpha1.VertexSpec{
				Source:    &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}},
				Edges:     []v1alpha1.Edge{{From: "in", To: "tok"}},
				Lifecycle: v1alpha1.Lifecycle{DesiredPhase: v1alpha1.PhasePaused},
			}),
			vertex("tok", "", v1alpha1.VertexSpec{
				Function:  defaulted(inline),
				Edges:     []v1alpha1.Edge{{From: "tok", To: "a", Filter: typeA}, {From: "tok", To: "b"}},
				Lifecycle: v1alpha1.Lifecycle{DesiredPhase: v1alpha1.PhasePaused},
			}),
			vertex("a", "", v1alpha1.VertexSpec{
				Sink:      defaultedSink(v1alpha1.Sink{Log: &v1alpha1.LogSink{}}),
				Lifecycle: v1alpha1.Lifecycle{DesiredPhase: v1alpha1.PhasePaused},
			}),
			vertex("b", "", v1alpha1.VertexSpec{
				Sink:      defaultedSink(v1alpha1.Sink{Log: &v1alpha1.LogSink{}}),
				Lifecycle: v1alpha1.Lifecycle{DesiredPhase: v1alpha1.PhasePaused},
			}),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, fnBefore := tc.pipeline.DeepCopy(), deepCopyFunctions(tc.functions)
			got, err := MakeVertices(tc.pipeline, tc.functions)
			if err != nil {
				t.Fatalf("MakeVertices: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MakeVertices (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.pipeline); diff != "" {
				t.Errorf("MakeVertices modified the pipeline (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(fnBefore, tc.functions); diff != "" {
				t.Errorf("MakeVertices modified the functions (-before +after):\n%s", diff)
			}
			for _, v := range got {
				if errs := v.Validate(); len(errs) > 0 {
					t.Errorf("vertex %s is not valid: %v", v.Name, errs)
				}
			}
		})
	}
}

func TestMakeVerticesSharesNothing(t *testing.T) {
	functions := map[string]*v1alpha1.Function{"echo": function("echo", "./echo")}
	p := pipeline("demo", withSource("in"), withFunctionRef("fn", "echo"), withFunctionRef("fn2", "echo"),
		withEdge("in", "fn", nil), withEdge("in", "fn2", nil))
	got, err := MakeVertices(p, functions)
	if err != nil {
		t.Fatalf("MakeVertices: %v", err)
	}
	got[1].Spec.Function.Container.Command[0] = "changed"
	if c := functions["echo"].Spec.Container.Command[0]; c != "./echo" {
		t.Errorf("Function command = %q after changing a vertex, want ./echo", c)
	}
	if c := got[2].Spec.Function.Container.Command[0]; c != "./echo" {
		t.Errorf("second vertex command = %q after changing the first, want ./echo", c)
	}
}

func TestMakeVerticesDefaultNamespace(t *testing.T) {
	p := pipeline("demo", withSource("in"))
	p.Namespace = ""
	got, err := MakeVertices(p, nil)
	if err != nil {
		t.Fatalf("MakeVertices: %v", err)
	}
	if got[0].Namespace != "default" {
		t.Errorf("Namespace = %q, want default", got[0].Namespace)
	}
}

func TestMakeVerticesMissingFunction(t *testing.T) {
	p := pipeline("demo", withSource("in"), withFunctionRef("a", "echo"), withFunctionRef("b", "nope"), withFunctionRef("c", "gone"),
		withEdge("in", "a", nil), withEdge("in", "b", nil), withEdge("in", "c", nil))
	got, err := MakeVertices(p, map[string]*v1alpha1.Function{"echo": function("echo", "./echo")})
	if err == nil {
		t.Fatalf("MakeVertices = %d vertices, want an error", len(got))
	}
	for _, want := range []string{
		`pipeline ml/demo: `,
		`spec.vertices[2].function.ref.name: Not found: "nope": no Function "nope" in namespace "ml"`,
		`spec.vertices[3].function.ref.name: Not found: "gone"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	var agg utilerrors.Aggregate
	if !errors.As(err, &agg) {
		t.Fatalf("error %v does not wrap an Aggregate", err)
	}
	var fields []string
	for _, e := range agg.Errors() {
		var fe *field.Error
		if !errors.As(e, &fe) || fe.Type != field.ErrorTypeNotFound {
			t.Errorf("aggregated error %v is not a NotFound field.Error", e)
			continue
		}
		fields = append(fields, fe.Field)
	}
	want := []string{"spec.vertices[2].function.ref.name", "spec.vertices[3].function.ref.name"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("error fields (-want +got):\n%s", diff)
	}
}

func TestVertexName(t *testing.T) {
	if got := VertexName("demo", "fn"); got != "demo-fn" {
		t.Errorf("VertexName = %q, want demo-fn", got)
	}
}

func deepCopyFunctions(in map[string]*v1alpha1.Function) map[string]*v1alpha1.Function {
	if in == nil {
		return nil
	}
	out := make(map[string]*v1alpha1.Function, len(in))
	for k, v := range in {
		out[k] = v.DeepCopy()
	}
	return out
}

// TestMakeVerticesLeavesFunctionReplicas: the replicas the scaler set on a
// referenced Function are the Function's, not the Vertex's.
func TestMakeVerticesLeavesFunctionReplicas(t *testing.T) {
	fn := function("echo", "./echo")
	three := int32(3)
	fn.Spec.Replicas = &three
	p := pipeline("demo", withSource("in"), withFunctionRef("fn", "echo"), withLogSink("out"),
		withEdge("in", "fn", nil), withEdge("fn", "out", nil))
	got, err := MakeVertices(p, map[string]*v1alpha1.Function{"echo": fn})
	if err != nil {
		t.Fatalf("MakeVertices: %v", err)
	}
	if r := got[1].Spec.Function.Replicas; r != nil {
		t.Errorf("vertex function replicas = %d, want unset", *r)
	}
	if got[1].Spec.Replicas != nil {
		t.Errorf("vertex replicas = %d, want unset (the scaler's)", *got[1].Spec.Replicas)
	}
}
