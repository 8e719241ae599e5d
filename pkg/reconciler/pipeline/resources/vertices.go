package resources

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// MakeVertices builds one Vertex per vertex of p, in declaration order, each
// self-contained: named by VertexName, in p's namespace, labelled with the
// pipeline and vertex names, controlled by p (its UID may be empty under
// freshet dev), with a defaulted copy of its function spec (without the
// Function's own spec.replicas, which its scaler sets), source or sink,
// its outgoing edges and p's lifecycle.
//
// functions holds the Functions of p's namespace by name; a function vertex
// given by reference gets a deep copy of the named Function's spec. p should
// be valid; neither p nor functions is modified.
//
// An http sink given by ref must have been resolved to its URL first (see
// ResolveSinks): a Vertex carries no ref. The error wraps a field.ErrorList
// aggregate (k8s.io/apimachinery/pkg/util/errors.Aggregate) with one NotFound
// error per missing Function, at spec.vertices[i].function.ref.name, and one
// Forbidden error per unresolved sink ref, at spec.vertices[i].sink.http.ref.
func MakeVertices(p *v1alpha1.Pipeline, functions map[string]*v1alpha1.Function) ([]*v1alpha1.Vertex, error) {
	p = p.DeepCopy()
	p.SetDefaults()
	var errs field.ErrorList
	vertices := make([]*v1alpha1.Vertex, 0, len(p.Spec.Vertices))
	for i := range p.Spec.Vertices {
		v := makeVertex(p, &p.Spec.Vertices[i])
		if sink := p.Spec.Vertices[i].Sink; sink != nil && sink.HTTP != nil && sink.HTTP.Ref != nil {
			errs = append(errs, unresolvedSink(i))
			continue
		}
		if ref := p.Spec.Vertices[i].Function; ref != nil && ref.Ref != nil {
			f, ok := functions[ref.Ref.Name]
			if !ok || f == nil {
				errs = append(errs, missingFunction(p.Namespace, ref.Ref.Name, i))
				continue
			}
			spec := f.Spec.DeepCopy()
			spec.SetDefaults()
			// The scaler's replicas for the Function itself; a Vertex is
			// scaled through its own spec.replicas.
			spec.Replicas = nil
			v.Spec.Function, v.Spec.FunctionName = spec, ref.Ref.Name
		}
		vertices = append(vertices, v)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("pipeline %s/%s: %w", p.Namespace, p.Name, errs.ToAggregate())
	}
	return vertices, nil
}

// makeVertex builds the Vertex for pv, leaving a function reference to the
// caller. p must be a defaulted copy: the Vertex shares its memory.
func makeVertex(p *v1alpha1.Pipeline, pv *v1alpha1.PipelineVertex) *v1alpha1.Vertex {
	v := &v1alpha1.Vertex{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.KindVertex},
		ObjectMeta: metav1.ObjectMeta{
			Name:      VertexName(p.Name, pv.Name),
			Namespace: p.Namespace,
			Labels: map[string]string{
				PipelineLabelKey: p.Name,
				VertexLabelKey:   pv.Name,
			},
			OwnerReferences: []metav1.OwnerReference{ownerReference(p)},
		},
		Spec: v1alpha1.VertexSpec{
			PipelineName: p.Name,
			Name:         pv.Name,
			Source:       pv.Source,
			Sink:         pv.Sink,
			Edges:        outgoingEdges(p.Spec.Edges, pv.Name),
			Lifecycle:    p.Spec.Lifecycle,
		},
	}
	if pv.Function != nil && pv.Function.Spec != nil {
		v.Spec.Function = pv.Function.Spec
	}
	return v
}

// ownerReference makes p the controller of the objects it owns.
func ownerReference(p *v1alpha1.Pipeline) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion:         v1alpha1.GroupVersion.String(),
		Kind:               v1alpha1.KindPipeline,
		Name:               p.Name,
		UID:                p.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}

// outgoingEdges are the edges from vertex, in declaration order; nil if none.
func outgoingEdges(edges []v1alpha1.Edge, vertex string) []v1alpha1.Edge {
	var out []v1alpha1.Edge
	for _, e := range edges {
		if e.From == vertex {
			out = append(out, e)
		}
	}
	return out
}

func missingFunction(namespace, name string, i int) *field.Error {
	path := field.NewPath("spec", "vertices").Index(i).Child("function", "ref", "name")
	err := field.NotFound(path, name)
	err.Detail = fmt.Sprintf("no Function %q in namespace %q", name, namespace)
	return err
}

func unresolvedSink(i int) *field.Error {
	path := field.NewPath("spec", "vertices").Index(i).Child("sink", "http", "ref")
	return field.Forbidden(path, "a sink given by ref needs its URL resolved before its Vertex is built; "+
		"freshet dev cannot resolve refs, so give an absolute uri instead")
}
