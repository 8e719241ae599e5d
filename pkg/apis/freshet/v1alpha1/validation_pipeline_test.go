package v1alpha1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func sourceVertex(name string) PipelineVertex {
	return PipelineVertex{Name: name, Source: &Source{HTTP: &HTTPSource{}}}
}

func refVertex(name, function string) PipelineVertex {
	return PipelineVertex{Name: name, Function: &FunctionVertex{Ref: &LocalObjectReference{Name: function}}}
}

func inlineVertex(name string) PipelineVertex {
	return PipelineVertex{Name: name, Function: &FunctionVertex{Spec: &FunctionSpec{Container: Container{Command: []string{"./fn"}}}}}
}

func logVertex(name string) PipelineVertex {
	return PipelineVertex{Name: name, Sink: &Sink{Log: &LogSink{}}}
}

func edge(from, to string) Edge { return Edge{From: from, To: to} }

// validPipeline is in → fn → out.
func validPipeline() *Pipeline {
	return &Pipeline{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
		Spec: PipelineSpec{
			Vertices: []PipelineVertex{sourceVertex("in"), inlineVertex("fn"), logVertex("out")},
			Edges:    []Edge{edge("in", "fn"), edge("fn", "out")},
		},
	}
}

func deadLetterRef(name string) *Destination {
	return &Destination{Ref: &KReference{Kind: KindVertex, Name: name}}
}

func sinkRef(apiVersion, kind, name, namespace string) *Destination {
	return &Destination{Ref: &KReference{APIVersion: apiVersion, Kind: kind, Name: name, Namespace: namespace}}
}

func TestPipelineValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Pipeline)
		want   []fieldErr
	}{
		{"valid", func(*Pipeline) {}, nil},
		{"valid after defaults", func(p *Pipeline) { p.SetDefaults() }, nil},
		{"valid fan-out with filters and a function ref", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, refVertex("enrich", "enricher"), logVertex("other"))
			p.Spec.Edges = append(p.Spec.Edges,
				Edge{From: "fn", To: "enrich", Filter: &Filter{Exact: map[string]string{"type": "a"}, Prefix: map[string]string{"myext": "x"}}},
				edge("enrich", "other"))
		}, nil},
		{"name missing", func(p *Pipeline) { p.Name = "" }, []fieldErr{required("metadata.name")}},
		{"no vertices", func(p *Pipeline) { p.Spec = PipelineSpec{} }, []fieldErr{required("spec.vertices")}},
		{"vertex name missing", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, PipelineVertex{Sink: &Sink{Log: &LogSink{}}})
		}, []fieldErr{required("spec.vertices[3].name")}},
		{"vertex name not a DNS label", func(p *Pipeline) {
			p.Spec.Vertices[2].Name, p.Spec.Edges[1].To = "Out", "Out"
		}, []fieldErr{invalid("spec.vertices[2].name")}},
		{"vertex name makes the Vertex name too long", func(p *Pipeline) {
			p.Name = strings.Repeat("p", 40)
			long := strings.Repeat("o", 23)
			p.Spec.Vertices[2].Name, p.Spec.Edges[1].To = long, long
		}, []fieldErr{invalid("spec.vertices[2].name")}},
		{"duplicate vertex name", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, logVertex("fn"))
		}, []fieldErr{duplicate("spec.vertices[3].name")}},
		{"vertex of no kind", func(p *Pipeline) { p.Spec.Vertices[1].Function = nil }, []fieldErr{required("spec.vertices[1]")}},
		{"vertex of two kinds", func(p *Pipeline) { p.Spec.Vertices[0].Sink = &Sink{Log: &LogSink{}} }, []fieldErr{forbidden("spec.vertices[0].sink")}},
		{"source of no kind", func(p *Pipeline) { p.Spec.Vertices[0].Source.HTTP = nil }, []fieldErr{required("spec.vertices[0].source")}},
		{"function with neither ref nor spec", func(p *Pipeline) { p.Spec.Vertices[1].Function.Spec = nil }, []fieldErr{required("spec.vertices[1].function")}},
		{"function with ref and spec", func(p *Pipeline) {
			p.Spec.Vertices[1].Function.Ref = &LocalObjectReference{Name: "f"}
		}, []fieldErr{forbidden("spec.vertices[1].function.spec")}},
		{"function ref without name", func(p *Pipeline) { p.Spec.Vertices[1] = refVertex("fn", "") }, []fieldErr{required("spec.vertices[1].function.ref.name")}},
		{"inline spec follows the Function rules", func(p *Pipeline) {
			s := p.Spec.Vertices[1].Function.Spec
			s.Container.Command, s.Scale.Max = nil, i32(0)
		}, []fieldErr{required("spec.vertices[1].function.spec.container"), invalid("spec.vertices[1].function.spec.scale.max")}},
		{"sink of no kind", func(p *Pipeline) { p.Spec.Vertices[2].Sink.Log = nil }, []fieldErr{required("spec.vertices[2].sink")}},
		{"sink of two kinds", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink.HTTP = &Destination{URI: "http://x"}
		}, []fieldErr{forbidden("spec.vertices[2].sink.http")}},
		{"http sink", func(p *Pipeline) { p.Spec.Vertices[2].Sink = &Sink{HTTP: &Destination{URI: "https://x.example/y"}} }, nil},
		{"http sink ref", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink = &Sink{HTTP: sinkRef("serving.knative.dev/v1", "Service", "scorer.v2", "")}
		}, nil},
		{"http sink ref in another namespace with a relative uri", func(p *Pipeline) {
			d := sinkRef("freshet.dev/v1alpha1", "Function", "store", "ml")
			d.URI = "/events"
			p.Spec.Vertices[2].Sink = &Sink{HTTP: d}
		}, nil},
		{"http sink ref without apiVersion, kind or name", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink = &Sink{HTTP: &Destination{Ref: &KReference{}}}
		}, []fieldErr{
			required("spec.vertices[2].sink.http.ref.apiVersion"), required("spec.vertices[2].sink.http.ref.kind"),
			required("spec.vertices[2].sink.http.ref.name"),
		}},
		{"http sink ref with bad apiVersion, name and namespace", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink = &Sink{HTTP: sinkRef("a/b/c", "Service", "Scorer", "ML")}
		}, []fieldErr{
			invalid("spec.vertices[2].sink.http.ref.apiVersion"), invalid("spec.vertices[2].sink.http.ref.name"),
			invalid("spec.vertices[2].sink.http.ref.namespace"),
		}},
		{"http sink ref with an absolute uri", func(p *Pipeline) {
			d := sinkRef("v1", "Service", "x", "")
			d.URI = "http://elsewhere/events"
			p.Spec.Vertices[2].Sink = &Sink{HTTP: d}
		}, []fieldErr{invalid("spec.vertices[2].sink.http.uri")}},
		{"http sink without uri", func(p *Pipeline) { p.Spec.Vertices[2].Sink = &Sink{HTTP: &Destination{}} }, []fieldErr{required("spec.vertices[2].sink.http.uri")}},
		{"http sink relative uri", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink = &Sink{HTTP: &Destination{URI: "/events"}}
		}, []fieldErr{invalid("spec.vertices[2].sink.http.uri")}},
		{"sink delivery", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink.Delivery = &Delivery{Retry: i32(101)}
		}, []fieldErr{invalid("spec.vertices[2].sink.delivery.retry")}},
		{"edge from missing", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("", "out")) }, []fieldErr{required("spec.edges[2].from")}},
		{"edge to missing", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("fn", "")) }, []fieldErr{required("spec.edges[2].to")}},
		{"edge from unknown", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("nope", "out")) }, []fieldErr{notFound("spec.edges[2].from")}},
		{"edge to unknown", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("fn", "nope")) }, []fieldErr{notFound("spec.edges[2].to")}},
		{"edge from a sink", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("out", "fn")) }, []fieldErr{invalid("spec.edges[2].from")}},
		{"edge to a source", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("fn", "in")) }, []fieldErr{invalid("spec.edges[2].to")}},
		{"self-loop", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("fn", "fn")) }, []fieldErr{invalid("spec.edges[2].to")}},
		{"duplicate edge", func(p *Pipeline) { p.Spec.Edges = append(p.Spec.Edges, edge("in", "fn")) }, []fieldErr{duplicate("spec.edges[2]")}},
		{"duplicate edge with another filter", func(p *Pipeline) {
			p.Spec.Edges = append(p.Spec.Edges, Edge{From: "in", To: "fn", Filter: &Filter{Exact: map[string]string{"type": "x"}}})
		}, []fieldErr{duplicate("spec.edges[2]")}},
		{"cycle", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, inlineVertex("b"))
			p.Spec.Edges = append(p.Spec.Edges, edge("fn", "b"), edge("b", "fn"))
		}, []fieldErr{invalid("spec.edges[3]")}},
		{"filter attribute names", func(p *Pipeline) {
			p.Spec.Edges[0].Filter = &Filter{
				Exact:  map[string]string{"Type": "a", "type": "b", "x_y": "c"},
				Prefix: map[string]string{"my-ext": "d", "": "e"},
			}
		}, []fieldErr{
			invalid("spec.edges[0].filter.exact[Type]"), invalid("spec.edges[0].filter.exact[x_y]"),
			invalid("spec.edges[0].filter.prefix[]"), invalid("spec.edges[0].filter.prefix[my-ext]"),
		}},
		{"function without incoming or outgoing edge", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, inlineVertex("lonely"))
		}, []fieldErr{required("spec.vertices[3]"), required("spec.vertices[3]")}},
		{"sink without incoming edge", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, logVertex("unused"))
		}, []fieldErr{required("spec.vertices[3]")}},
		{"source without outgoing edge", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, sourceVertex("in2"))
		}, []fieldErr{required("spec.vertices[3]")}},
		{"dead-letter sink vertex needs no edge", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, logVertex("dlq"))
			p.Spec.Vertices[1].Function.Spec.Delivery.DeadLetterSink = deadLetterRef("dlq")
		}, nil},
		{"dead-letter sink of a sink", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, logVertex("dlq"))
			p.Spec.Vertices[2].Sink.Delivery = &Delivery{DeadLetterSink: deadLetterRef("dlq")}
		}, nil},
		{"dead-letter ref of another kind", func(p *Pipeline) {
			p.Spec.Vertices[1].Function.Spec.Delivery.DeadLetterSink = &Destination{Ref: &KReference{Kind: "Broker", Name: "out"}}
		}, []fieldErr{notSupported("spec.vertices[1].function.spec.delivery.deadLetterSink.ref.kind")}},
		{"dead-letter ref to an unknown vertex", func(p *Pipeline) {
			p.Spec.Vertices[1].Function.Spec.Delivery.DeadLetterSink = deadLetterRef("nope")
		}, []fieldErr{notFound("spec.vertices[1].function.spec.delivery.deadLetterSink.ref.name")}},
		{"dead-letter ref to a function", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink.Delivery = &Delivery{DeadLetterSink: deadLetterRef("fn")}
		}, []fieldErr{invalid("spec.vertices[2].sink.delivery.deadLetterSink.ref.name")}},
		{"dead-letter ref to itself", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink.Delivery = &Delivery{DeadLetterSink: deadLetterRef("out")}
		}, []fieldErr{invalid("spec.vertices[2].sink.delivery.deadLetterSink.ref.name")}},
		{"dead-letter ref without name", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink.Delivery = &Delivery{DeadLetterSink: deadLetterRef("")}
		}, []fieldErr{required("spec.vertices[2].sink.delivery.deadLetterSink.ref.name")}},
		{"dead-letter ref with uri", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, logVertex("dlq"))
			d := deadLetterRef("dlq")
			d.URI = "http://x"
			p.Spec.Vertices[1].Function.Spec.Delivery.DeadLetterSink = d
		}, []fieldErr{forbidden("spec.vertices[1].function.spec.delivery.deadLetterSink.uri")}},
		{"dead-letter uri", func(p *Pipeline) {
			p.Spec.Vertices[1].Function.Spec.Delivery.DeadLetterSink = &Destination{URI: "http://dlq"}
		}, nil},
		{"desiredPhase unknown", func(p *Pipeline) { p.Spec.Lifecycle.DesiredPhase = "Stopped" }, []fieldErr{notSupported("spec.lifecycle.desiredPhase")}},
		{"desiredPhase Paused", func(p *Pipeline) { p.Spec.Lifecycle.DesiredPhase = PhasePaused }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPipeline()
			tc.mutate(p)
			errs := p.Validate()
			if diff := cmp.Diff(tc.want, summarize(errs)); diff != "" {
				t.Errorf("Validate (-want +got):\n%s\nerrors: %v", diff, errs)
			}
		})
	}
}

func TestPipelineValidateMessages(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Pipeline)
		want   string
	}{
		{"cycle names its vertices", func(p *Pipeline) {
			p.Spec.Vertices = append(p.Spec.Vertices, inlineVertex("b"), inlineVertex("c"))
			p.Spec.Edges = append(p.Spec.Edges, edge("fn", "b"), edge("b", "c"), edge("c", "fn"))
		}, `spec.edges[4]: Invalid value: "c -> fn": closes the cycle fn -> b -> c -> fn`},
		{"unknown edge target", func(p *Pipeline) { p.Spec.Edges[1].To = "nope" },
			`spec.edges[1].to: Not found: "nope": no vertex of that name in this pipeline`},
		{"sink ref needs an apiVersion", func(p *Pipeline) {
			p.Spec.Vertices[2].Sink = &Sink{HTTP: &Destination{Ref: &KReference{Kind: "Service", Name: "x"}}}
		}, "spec.vertices[2].sink.http.ref.apiVersion: Required value"},
		{"sink ref with an absolute uri", func(p *Pipeline) {
			d := sinkRef("v1", "Service", "x", "")
			d.URI = "http://elsewhere/events"
			p.Spec.Vertices[2].Sink = &Sink{HTTP: d}
		}, "with a ref, uri is a path relative to the ref's address"},
		{"unconnected function", func(p *Pipeline) { p.Spec.Edges = p.Spec.Edges[:1] },
			`spec.vertices[1]: Required value: function vertex "fn" has no outgoing edge`},
		{"two kinds", func(p *Pipeline) { p.Spec.Vertices[1].Source = &Source{HTTP: &HTTPSource{}} },
			"spec.vertices[1].function: Forbidden: only one of source, function, sink may be set; source is already set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPipeline()
			tc.mutate(p)
			got := p.Validate().ToAggregate()
			if got == nil || !strings.Contains(got.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", got, tc.want)
			}
		})
	}
}
