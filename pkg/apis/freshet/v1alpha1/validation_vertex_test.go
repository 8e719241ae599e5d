package v1alpha1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validFunctionVertex is demo-fn: a function with one edge to out.
func validFunctionVertex() *Vertex {
	return &Vertex{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-fn"},
		Spec: VertexSpec{
			PipelineName: "demo",
			Name:         "fn",
			Function:     &FunctionSpec{Container: Container{Command: []string{"./fn"}}},
			Edges:        []Edge{edge("fn", "out")},
		},
	}
}

func TestVertexValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(v *Vertex)
		want   []fieldErr
	}{
		{"valid", func(*Vertex) {}, nil},
		{"valid after defaults", func(v *Vertex) { v.SetDefaults() }, nil},
		{"valid sink", func(v *Vertex) {
			v.Spec.Function, v.Spec.Edges, v.Spec.Sink = nil, nil, &Sink{Log: &LogSink{}}
		}, nil},
		{"valid source with fan-out", func(v *Vertex) {
			v.Spec.Function, v.Spec.Source = nil, &Source{HTTP: &HTTPSource{}}
			v.Spec.Edges = append(v.Spec.Edges, Edge{From: "fn", To: "other", Filter: &Filter{Exact: map[string]string{"type": "x"}}})
		}, nil},
		{"name missing", func(v *Vertex) { v.Name = "" }, []fieldErr{required("metadata.name")}},
		{"pipelineName missing", func(v *Vertex) { v.Spec.PipelineName = "" }, []fieldErr{required("spec.pipelineName")}},
		{"vertex name invalid", func(v *Vertex) { v.Spec.Name, v.Spec.Edges[0].From = "Fn", "Fn" }, []fieldErr{invalid("spec.name")}},
		{"no kind", func(v *Vertex) { v.Spec.Function = nil }, []fieldErr{required("spec")}},
		{"two kinds", func(v *Vertex) { v.Spec.Source = &Source{HTTP: &HTTPSource{}} }, []fieldErr{forbidden("spec.function")}},
		{"source of no kind", func(v *Vertex) { v.Spec.Function, v.Spec.Source = nil, &Source{} }, []fieldErr{required("spec.source")}},
		{"function spec follows the Function rules", func(v *Vertex) { v.Spec.Function.Container.Command = nil }, []fieldErr{required("spec.function.container")}},
		{"functionName invalid", func(v *Vertex) { v.Spec.FunctionName = "My_Fn" }, []fieldErr{invalid("spec.functionName")}},
		{"dead-letter ref of kind Vertex", func(v *Vertex) { v.Spec.Function.Delivery.DeadLetterSink = deadLetterRef("errors") }, nil},
		{"dead-letter ref of another kind", func(v *Vertex) {
			v.Spec.Function.Delivery.DeadLetterSink = &Destination{Ref: &KReference{Kind: "Broker", Name: "errors"}}
		}, []fieldErr{notSupported("spec.function.delivery.deadLetterSink.ref.kind")}},
		{"dead-letter ref name invalid", func(v *Vertex) { v.Spec.Function.Delivery.DeadLetterSink = deadLetterRef("Errors") },
			[]fieldErr{invalid("spec.function.delivery.deadLetterSink.ref.name")}},
		{"sink http uri", func(v *Vertex) {
			v.Spec.Function, v.Spec.Edges, v.Spec.Sink = nil, nil, &Sink{HTTP: &Destination{URI: "x"}}
		}, []fieldErr{invalid("spec.sink.http.uri")}},
		{"sink with edges", func(v *Vertex) { v.Spec.Function, v.Spec.Sink = nil, &Sink{Log: &LogSink{}} }, []fieldErr{forbidden("spec.edges")}},
		{"function without edges", func(v *Vertex) { v.Spec.Edges = nil }, []fieldErr{required("spec.edges")}},
		{"edge from another vertex", func(v *Vertex) { v.Spec.Edges[0].From = "other" }, []fieldErr{invalid("spec.edges[0].from")}},
		{"edge to missing", func(v *Vertex) { v.Spec.Edges[0].To = "" }, []fieldErr{required("spec.edges[0].to")}},
		{"edge to itself", func(v *Vertex) { v.Spec.Edges[0].To = "fn" }, []fieldErr{invalid("spec.edges[0].to")}},
		{"edge to an invalid name", func(v *Vertex) { v.Spec.Edges[0].To = "Out" }, []fieldErr{invalid("spec.edges[0].to")}},
		{"duplicate edge", func(v *Vertex) { v.Spec.Edges = append(v.Spec.Edges, edge("fn", "out")) }, []fieldErr{duplicate("spec.edges[1]")}},
		{"filter attribute name", func(v *Vertex) {
			v.Spec.Edges[0].Filter = &Filter{Prefix: map[string]string{"Source": "x"}}
		}, []fieldErr{invalid("spec.edges[0].filter.prefix[Source]")}},
		{"desiredPhase unknown", func(v *Vertex) { v.Spec.Lifecycle.DesiredPhase = "Stopped" }, []fieldErr{notSupported("spec.lifecycle.desiredPhase")}},
		{"replicas negative", func(v *Vertex) { v.Spec.Replicas = i32(-1) }, []fieldErr{invalid("spec.replicas")}},
		{"replicas zero", func(v *Vertex) { v.Spec.Replicas = i32(0) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := validFunctionVertex()
			tc.mutate(v)
			errs := v.Validate()
			if diff := cmp.Diff(tc.want, summarize(errs)); diff != "" {
				t.Errorf("Validate (-want +got):\n%s\nerrors: %v", diff, errs)
			}
		})
	}
}
