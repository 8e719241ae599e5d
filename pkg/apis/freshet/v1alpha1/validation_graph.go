package v1alpha1

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validatePipelineEdges checks each edge (endpoints exist, run from a
// non-sink to a non-source, no self-loop, no repeated from/to pair, filter
// attribute names) and then the graph of the sound edges for cycles.
func validatePipelineEdges(vertices []PipelineVertex, edges []Edge, kinds map[string]string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := make(map[[2]string]bool, len(edges))
	out := make(map[string][]int) // vertex name → indexes of its sound outgoing edges
	for i := range edges {
		e, ep := &edges[i], path.Index(i)
		edgeErrs := validateEndpoint(e.From, ep.Child("from"), kinds, kindSink, "a sink has no outgoing edges")
		edgeErrs = append(edgeErrs, validateEndpoint(e.To, ep.Child("to"), kinds, kindSource, "a source has no incoming edges")...)
		if len(edgeErrs) == 0 {
			pair := [2]string{e.From, e.To}
			switch {
			case e.From == e.To:
				edgeErrs = append(edgeErrs, field.Invalid(ep.Child("to"), e.To, "an edge must not join a vertex to itself"))
			case seen[pair]:
				edgeErrs = append(edgeErrs, field.Duplicate(ep, e.From+" -> "+e.To))
			default:
				seen[pair] = true
				out[e.From] = append(out[e.From], i)
			}
		}
		errs = append(errs, edgeErrs...)
		if e.Filter != nil {
			errs = append(errs, validateFilter(e.Filter, ep.Child("filter"))...)
		}
	}
	return append(errs, findCycles(vertices, edges, out, path)...)
}

// validateEndpoint requires name to name a vertex that is not of the
// forbidden kind.
func validateEndpoint(name string, path *field.Path, kinds map[string]string, forbidden, detail string) field.ErrorList {
	kind, found := kinds[name]
	switch {
	case name == "":
		return field.ErrorList{field.Required(path, "")}
	case !found:
		nf := field.NotFound(path, name)
		nf.Detail = "no vertex of that name in this pipeline"
		return field.ErrorList{nf}
	case kind == forbidden:
		return field.ErrorList{field.Invalid(path, name, detail)}
	}
	return nil
}

// findCycles walks the graph depth first from each vertex in declaration
// order, following edges in declaration order, and reports every edge that
// leads back to a vertex on the current path: each closes a cycle, and
// removing them all leaves the graph acyclic.
func findCycles(vertices []PipelineVertex, edges []Edge, out map[string][]int, path *field.Path) field.ErrorList {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int, len(vertices))
	var stack []string
	var errs field.ErrorList
	var visit func(v string)
	visit = func(v string) {
		state[v] = onPath
		stack = append(stack, v)
		for _, i := range out[v] {
			to := edges[i].To
			switch state[to] {
			case onPath:
				cycle := append(slices.Clone(stack[slices.Index(stack, to):]), to)
				errs = append(errs, field.Invalid(path.Index(i), v+" -> "+to,
					"closes the cycle "+strings.Join(cycle, " -> ")))
			case unvisited:
				visit(to)
			}
		}
		stack = stack[:len(stack)-1]
		state[v] = done
	}
	for _, v := range vertices {
		if state[v.Name] == unvisited {
			visit(v.Name)
		}
	}
	return errs
}

// validateConnected requires an incoming edge for every function and sink,
// and an outgoing edge for every source and function. Any edge naming the
// vertex counts, so a broken edge is reported once, where it is; a sink
// named as a dead-letter sink in the pipeline needs no edge, since dead
// letters flow to it.
func validateConnected(vertices []PipelineVertex, edges []Edge, path *field.Path) field.ErrorList {
	in, out := deadLetterTargets(vertices), make(map[string]bool)
	for _, e := range edges {
		out[e.From] = true
		in[e.To] = true
	}
	var errs field.ErrorList
	seen := make(map[string]bool, len(vertices))
	for i := range vertices {
		v := &vertices[i]
		if v.Name == "" || seen[v.Name] {
			continue
		}
		seen[v.Name] = true
		kind := v.kind()
		if (kind == kindFunction || kind == kindSink) && !in[v.Name] {
			errs = append(errs, field.Required(path.Index(i), fmt.Sprintf("%s vertex %q has no incoming edge", kind, v.Name)))
		}
		if (kind == kindSource || kind == kindFunction) && !out[v.Name] {
			errs = append(errs, field.Required(path.Index(i), fmt.Sprintf("%s vertex %q has no outgoing edge", kind, v.Name)))
		}
	}
	return errs
}

// deadLetterTargets is the set of vertex names that dead-letter refs of kind
// Vertex in the pipeline (inline function specs, sink delivery) name.
func deadLetterTargets(vertices []PipelineVertex) map[string]bool {
	targets := make(map[string]bool)
	add := func(d *Delivery) {
		if d != nil && d.DeadLetterSink != nil && d.DeadLetterSink.Ref != nil && d.DeadLetterSink.Ref.Kind == KindVertex {
			targets[d.DeadLetterSink.Ref.Name] = true
		}
	}
	for i := range vertices {
		v := &vertices[i]
		if v.Function != nil && v.Function.Spec != nil {
			add(&v.Function.Spec.Delivery)
		}
		if v.Sink != nil {
			add(v.Sink.Delivery)
		}
	}
	return targets
}
