package resources

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func ref(kind, name string) *v1alpha1.KReference {
	return &v1alpha1.KReference{APIVersion: "serving.knative.dev/v1", Kind: kind, Name: name}
}

func withHTTPSink(name string, d v1alpha1.Destination) pipelineOption {
	return func(p *v1alpha1.Pipeline) {
		p.Spec.Vertices = append(p.Spec.Vertices, v1alpha1.PipelineVertex{Name: name, Sink: &v1alpha1.Sink{HTTP: &d}})
	}
}

func TestResolveURI(t *testing.T) {
	const addr = "http://scorer.ml.svc.cluster.local/functions/ml/scorer"
	tests := []struct {
		name    string
		dest    v1alpha1.Destination
		address string
		want    string
		wantErr string
	}{
		{name: "uri alone", dest: v1alpha1.Destination{URI: "https://x.example/in"}, want: "https://x.example/in"},
		{name: "relative uri alone", dest: v1alpha1.Destination{URI: "/in"}, wantErr: "not an absolute http or https URL"},
		{name: "ref", dest: v1alpha1.Destination{Ref: ref("Service", "scorer")}, address: addr, want: addr},
		{name: "ref and absolute path", dest: v1alpha1.Destination{Ref: ref("Service", "scorer"), URI: "/events"}, address: addr,
			want: "http://scorer.ml.svc.cluster.local/events"},
		{name: "ref and relative path replaces the last segment", dest: v1alpha1.Destination{Ref: ref("Service", "scorer"), URI: "v2"},
			address: addr, want: "http://scorer.ml.svc.cluster.local/functions/ml/v2"},
		{name: "ref and query", dest: v1alpha1.Destination{Ref: ref("Service", "scorer"), URI: "?sync=1"}, address: addr,
			want: addr + "?sync=1"},
		{name: "ref and absolute uri", dest: v1alpha1.Destination{Ref: ref("Service", "scorer"), URI: "http://other/x"}, address: addr,
			wantErr: "must be relative"},
		{name: "ref without address", dest: v1alpha1.Destination{Ref: ref("Service", "scorer")}, wantErr: `address of Service "scorer": no URL`},
		{name: "ref with a non-http address", dest: v1alpha1.Destination{Ref: ref("Service", "scorer")}, address: "kafka://b/t",
			wantErr: "not an absolute http or https URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveURI(&tc.dest, tc.address)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ResolveURI = %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ResolveURI = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSinkRefs(t *testing.T) {
	other := ref("Broker", "b")
	other.Namespace = "events"
	p := pipeline("demo", withSource("in"), withHTTPSink("a", v1alpha1.Destination{Ref: ref("Service", "scorer")}),
		withHTTPSink("b", v1alpha1.Destination{URI: "http://x"}), withLogSink("c"), withHTTPSink("d", v1alpha1.Destination{Ref: other}))
	want := []SinkRef{
		{Vertex: "a", Ref: v1alpha1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "scorer", Namespace: "ml"}},
		{Vertex: "d", Ref: v1alpha1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Broker", Name: "b", Namespace: "events"}},
	}
	if diff := cmp.Diff(want, SinkRefs(p)); diff != "" {
		t.Errorf("SinkRefs (-want +got):\n%s", diff)
	}
}

// TestResolveSinksThenMakeVertices: a resolved pipeline builds Vertices
// whose sinks carry the absolute URL and no ref; an unresolved one does not
// build.
func TestResolveSinksThenMakeVertices(t *testing.T) {
	p := pipeline("demo", withUID("u1"), withSource("in"),
		withHTTPSink("out", v1alpha1.Destination{Ref: ref("Service", "scorer"), URI: "/events"}), withEdge("in", "out", nil))
	before := p.DeepCopy()

	if _, err := MakeVertices(p, nil); err == nil || !strings.Contains(err.Error(), "spec.vertices[1].sink.http.ref: Forbidden") {
		t.Errorf("MakeVertices of an unresolved sink ref: error %v, want Forbidden at spec.vertices[1].sink.http.ref", err)
	}
	if _, err := ResolveSinks(p, nil); err == nil || !strings.Contains(err.Error(), "spec.vertices[1].sink.http.ref") {
		t.Errorf("ResolveSinks without the address: error %v, want one naming spec.vertices[1].sink.http.ref", err)
	}

	resolved, err := ResolveSinks(p, map[string]string{"out": "http://scorer.ml/x"})
	if err != nil {
		t.Fatalf("ResolveSinks: %v", err)
	}
	got, err := MakeVertices(resolved, nil)
	if err != nil {
		t.Fatalf("MakeVertices: %v", err)
	}
	want := defaultedSink(v1alpha1.Sink{HTTP: &v1alpha1.Destination{URI: "http://scorer.ml/events"}})
	if diff := cmp.Diff(want, got[1].Spec.Sink); diff != "" {
		t.Errorf("sink (-want +got):\n%s", diff)
	}
	if errs := got[1].Validate(); len(errs) > 0 {
		t.Errorf("sink vertex is not valid: %v", errs)
	}
	if diff := cmp.Diff(before, p); diff != "" {
		t.Errorf("ResolveSinks modified the pipeline (-before +after):\n%s", diff)
	}
}

func TestAddressURL(t *testing.T) {
	tests := []struct {
		name   string
		obj    map[string]any
		want   string
		wantOK bool
	}{
		{"address", map[string]any{"status": map[string]any{"address": map[string]any{"url": "http://a"}}}, "http://a", true},
		{"empty url", map[string]any{"status": map[string]any{"address": map[string]any{"url": ""}}}, "", false},
		{"no address", map[string]any{"status": map[string]any{}}, "", false},
		{"no status", map[string]any{}, "", false},
		{"address of the wrong type", map[string]any{"status": map[string]any{"address": "http://a"}}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := AddressURL(tc.obj)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("AddressURL = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
