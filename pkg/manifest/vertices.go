package manifest

import (
	"errors"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
)

// Vertices builds the Vertices of every pipeline in the set with
// resources.MakeVertices, looking up referenced Functions in the pipeline's
// namespace among the set's Functions. An error names the pipeline's file
// and document and the vertex whose Function is missing.
func (s *Set) Vertices() ([]*v1alpha1.Vertex, error) {
	all := make([]int, len(s.Pipelines))
	for i := range all {
		all[i] = i
	}
	vertices, errs := s.vertices(all)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return vertices, nil
}

// vertices builds the Vertices of the pipelines at the given indexes.
func (s *Set) vertices(pipelines []int) ([]*v1alpha1.Vertex, []error) {
	functions := make(map[string]map[string]*v1alpha1.Function) // namespace → name → Function
	for _, f := range s.Functions {
		ns := namespace(f.Object.Namespace)
		if functions[ns] == nil {
			functions[ns] = make(map[string]*v1alpha1.Function)
		}
		functions[ns][f.Object.Name] = f.Object
	}
	var all []*v1alpha1.Vertex
	var errs []error
	for _, i := range pipelines {
		p := s.Pipelines[i]
		vs, err := resources.MakeVertices(p.Object, functions[namespace(p.Object.Namespace)])
		if err == nil {
			all = append(all, vs...)
			continue
		}
		fail := func(err error) {
			errs = append(errs, &Error{Origin: p.Origin, Kind: v1alpha1.KindPipeline, Name: p.Object.Name, Err: err})
		}
		if agg := utilerrors.Aggregate(nil); errors.As(err, &agg) {
			for _, e := range agg.Errors() {
				fail(e)
			}
		} else {
			fail(err)
		}
	}
	return all, errs
}

// namespace is ns, or the default namespace for an object not yet defaulted.
func namespace(ns string) string {
	if ns == "" {
		return v1alpha1.DefaultNamespace
	}
	return ns
}
