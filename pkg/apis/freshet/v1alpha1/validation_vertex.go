package v1alpha1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a Vertex on its own: names, exactly one of source,
// function or sink (with the Function rules for the function spec), its
// outgoing edges, lifecycle and replicas. Rules that need the whole pipeline
// (edge targets exist, a dead-letter ref names a sink) are checked by
// Pipeline.Validate; here a dead-letter ref need only be of kind Vertex.
func (v *Vertex) Validate() field.ErrorList {
	spec := field.NewPath("spec")
	s := &v.Spec
	errs := validateObjectMeta(&v.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateName(s.PipelineName, spec.Child("pipelineName"))...)
	errs = append(errs, validateName(s.Name, spec.Child("name"))...)
	errs = append(errs, exactlyOne(spec, []string{kindSource, kindFunction, kindSink},
		[]bool{s.Source != nil, s.Function != nil, s.Sink != nil})...)
	scope := &pipelineScope{self: s.Name}
	if s.Source != nil {
		errs = append(errs, validateSource(s.Source, spec.Child("source"))...)
	}
	if s.Function != nil {
		errs = append(errs, validateFunctionSpec(s.Function, spec.Child("function"), scope)...)
	}
	if s.FunctionName != "" {
		errs = append(errs, validateName(s.FunctionName, spec.Child("functionName"))...)
	}
	if s.Sink != nil {
		errs = append(errs, validateSink(s.Sink, spec.Child("sink"), scope)...)
	}
	errs = append(errs, validateVertexEdges(s, spec.Child("edges"))...)
	errs = append(errs, validateLifecycle(&s.Lifecycle, spec.Child("lifecycle"))...)
	return append(errs, atLeast(s.Replicas, 0, spec.Child("replicas"))...)
}

// validateVertexEdges checks a vertex's outgoing edges: a source or function
// has at least one, a sink none; each runs from the vertex itself to another
// vertex, once, with valid filter attribute names.
func validateVertexEdges(s *VertexSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case s.Sink != nil && len(s.Edges) > 0:
		return field.ErrorList{field.Forbidden(path, "a sink has no outgoing edges")}
	case s.Sink == nil && len(s.Edges) == 0 && (s.Source != nil || s.Function != nil):
		return field.ErrorList{field.Required(path, fmt.Sprintf("vertex %q has no outgoing edge", s.Name))}
	}
	seen := make(map[string]bool, len(s.Edges))
	for i := range s.Edges {
		e, ep := &s.Edges[i], path.Index(i)
		if e.From != s.Name {
			errs = append(errs, field.Invalid(ep.Child("from"), e.From, fmt.Sprintf("must be the vertex's own name %q", s.Name)))
		}
		switch {
		case e.To == "":
			errs = append(errs, field.Required(ep.Child("to"), ""))
		case e.To == s.Name:
			errs = append(errs, field.Invalid(ep.Child("to"), e.To, "an edge must not join a vertex to itself"))
		case seen[e.To]:
			errs = append(errs, field.Duplicate(ep, e.From+" -> "+e.To))
		default:
			errs = append(errs, validateName(e.To, ep.Child("to"))...)
		}
		seen[e.To] = true
		if e.Filter != nil {
			errs = append(errs, validateFilter(e.Filter, ep.Child("filter"))...)
		}
	}
	return errs
}
