package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func TestFunctionKeys(t *testing.T) {
	fnRef := func(name, function string) v1alpha1.PipelineVertex {
		return v1alpha1.PipelineVertex{Name: name, Function: &v1alpha1.FunctionVertex{Ref: &v1alpha1.LocalObjectReference{Name: function}}}
	}
	sink := func(name string, ref v1alpha1.KReference) v1alpha1.PipelineVertex {
		return v1alpha1.PipelineVertex{Name: name, Sink: &v1alpha1.Sink{HTTP: &v1alpha1.Destination{Ref: &ref}}}
	}
	p := testPipeline(func(p *v1alpha1.Pipeline) {
		p.Spec.Vertices = []v1alpha1.PipelineVertex{
			{Name: "in", Source: &v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{}}},
			fnRef("a", "tok"), fnRef("b", "tok"), fnRef("c", "embed"),
			{Name: "inline", Function: &v1alpha1.FunctionVertex{Spec: &v1alpha1.FunctionSpec{}}},
			sink("s1", v1alpha1.KReference{APIVersion: "freshet.dev/v1alpha1", Kind: "Function", Name: "store"}),
			sink("s2", v1alpha1.KReference{APIVersion: "freshet.dev/v1alpha1", Kind: "Function", Name: "store", Namespace: "shared"}),
			sink("s3", v1alpha1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "store"}),
			sink("s4", v1alpha1.KReference{APIVersion: "other.dev/v1", Kind: "Function", Name: "x"}),
		}
	})
	want := []string{"ml/tok", "ml/embed", "ml/store", "shared/store"}
	if diff := cmp.Diff(want, functionKeys(p)); diff != "" {
		t.Errorf("functionKeys (-want +got):\n%s", diff)
	}
}
