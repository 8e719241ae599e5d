package v1alpha1

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Vertex kinds, as named in error messages.
const (
	kindSource   = "source"
	kindFunction = "function"
	kindSink     = "sink"
)

// Validate checks a Pipeline: its vertices (each exactly one of source,
// function or sink, with the Function rules for an inline spec), its edges
// (existing endpoints, direction, no self-loops, duplicates or cycles), that
// every vertex is connected, and its lifecycle. Like Function.Validate it
// accepts a Pipeline before or after SetDefaults.
func (p *Pipeline) Validate() field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateObjectMeta(&p.ObjectMeta, field.NewPath("metadata"))
	kinds := vertexKinds(p.Spec.Vertices)
	errs = append(errs, validatePipelineVertices(p.Name, p.Spec.Vertices, kinds, spec.Child("vertices"))...)
	errs = append(errs, validatePipelineEdges(p.Spec.Vertices, p.Spec.Edges, kinds, spec.Child("edges"))...)
	errs = append(errs, validateConnected(p.Spec.Vertices, p.Spec.Edges, spec.Child("vertices"))...)
	return append(errs, validateLifecycle(&p.Spec.Lifecycle, spec.Child("lifecycle"))...)
}

// vertexKinds maps each vertex name (first declaration wins) to its kind, ""
// when the vertex declares no kind.
func vertexKinds(vertices []PipelineVertex) map[string]string {
	kinds := make(map[string]string, len(vertices))
	for _, v := range vertices {
		if _, dup := kinds[v.Name]; !dup {
			kinds[v.Name] = v.kind()
		}
	}
	return kinds
}

// kind is the first of source, function and sink that is set, or "".
func (v *PipelineVertex) kind() string {
	switch {
	case v.Source != nil:
		return kindSource
	case v.Function != nil:
		return kindFunction
	case v.Sink != nil:
		return kindSink
	}
	return ""
}

func validatePipelineVertices(pipeline string, vertices []PipelineVertex, kinds map[string]string, path *field.Path) field.ErrorList {
	if len(vertices) == 0 {
		return field.ErrorList{field.Required(path, "a pipeline needs at least one vertex")}
	}
	isSink := make(map[string]bool, len(kinds))
	for name, kind := range kinds {
		isSink[name] = kind == kindSink
	}
	var errs field.ErrorList
	seen := make(map[string]bool, len(vertices))
	for i := range vertices {
		v, vp := &vertices[i], path.Index(i)
		errs = append(errs, validateVertexName(pipeline, v.Name, vp.Child("name"))...)
		if seen[v.Name] && v.Name != "" {
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		seen[v.Name] = true
		errs = append(errs, exactlyOne(vp, []string{kindSource, kindFunction, kindSink},
			[]bool{v.Source != nil, v.Function != nil, v.Sink != nil})...)
		scope := &pipelineScope{self: v.Name, isSink: isSink}
		if v.Source != nil {
			errs = append(errs, validateSource(v.Source, vp.Child("source"))...)
		}
		if v.Function != nil {
			errs = append(errs, validateFunctionVertex(v.Function, vp.Child("function"), scope)...)
		}
		if v.Sink != nil {
			errs = append(errs, validatePipelineSink(v.Sink, vp.Child("sink"), scope)...)
		}
	}
	return errs
}

// validateVertexName requires a DNS-1123 label short enough that the Vertex
// object's name, "<pipeline>-<vertex>", is one too.
func validateVertexName(pipeline, name string, path *field.Path) field.ErrorList {
	if errs := validateName(name, path); len(errs) > 0 {
		return errs
	}
	if pipeline != "" && len(pipeline)+1+len(name) > validation.DNS1123LabelMaxLength {
		return field.ErrorList{field.Invalid(path, name, fmt.Sprintf(
			"the Vertex name %q would be longer than %d characters; shorten the pipeline or vertex name",
			pipeline+"-"+name, validation.DNS1123LabelMaxLength))}
	}
	return nil
}

func validateFunctionVertex(f *FunctionVertex, path *field.Path, scope *pipelineScope) field.ErrorList {
	errs := exactlyOne(path, []string{"ref", "spec"}, []bool{f.Ref != nil, f.Spec != nil})
	if f.Ref != nil {
		errs = append(errs, validateName(f.Ref.Name, path.Child("ref", "name"))...)
	}
	if f.Spec != nil {
		errs = append(errs, validateFunctionSpec(f.Spec, path.Child("spec"), scope)...)
	}
	return errs
}

// validateSink checks a sink as a Vertex carries it: an http sink's
// destination is the absolute URL the Pipeline controller resolved, never a
// ref.
func validateSink(s *Sink, path *field.Path, scope *pipelineScope) field.ErrorList {
	errs := validateSinkKindAndDelivery(s, path, scope)
	if s.HTTP != nil {
		hp := path.Child("http")
		if s.HTTP.Ref != nil {
			return append(errs, field.Forbidden(hp.Child("ref"),
				"a Vertex's http sink takes the resolved absolute uri; the Pipeline controller resolves a ref"))
		}
		errs = append(errs, validateSinkURI(s.HTTP.URI, hp.Child("uri"))...)
	}
	return errs
}

// validatePipelineSink checks a sink of a Pipeline, whose http destination
// may also be a ref to an Addressable (see validateSinkRef).
func validatePipelineSink(s *Sink, path *field.Path, scope *pipelineScope) field.ErrorList {
	errs := validateSinkKindAndDelivery(s, path, scope)
	if s.HTTP != nil {
		hp := path.Child("http")
		if s.HTTP.Ref != nil {
			return append(errs, validateSinkRef(s.HTTP, hp)...)
		}
		errs = append(errs, validateSinkURI(s.HTTP.URI, hp.Child("uri"))...)
	}
	return errs
}

func validateSinkKindAndDelivery(s *Sink, path *field.Path, scope *pipelineScope) field.ErrorList {
	errs := exactlyOne(path, []string{"log", "http", "kafka", "sqs", "pulsar"}, []bool{s.Log != nil, s.HTTP != nil, s.Kafka != nil, s.SQS != nil, s.Pulsar != nil})
	if s.Kafka != nil {
		errs = append(errs, validateKafkaSink(s.Kafka, path.Child("kafka"))...)
	}
	if s.SQS != nil {
		errs = append(errs, validateQueue(s.SQS.QueueURL, s.SQS.Endpoint, path.Child("sqs"))...)
	}
	if s.Pulsar != nil {
		errs = append(errs, validatePulsarSink(s.Pulsar, path.Child("pulsar"))...)
	}
	if s.Delivery != nil {
		errs = append(errs, validateDelivery(s.Delivery, path.Child("delivery"), scope)...)
	}
	return errs
}

func validateSinkURI(uri string, path *field.Path) field.ErrorList {
	if uri == "" {
		return field.ErrorList{field.Required(path, "an absolute http or https URL is required")}
	}
	return validateAbsoluteHTTP(uri, path)
}

// validateSinkRef checks an http sink destination given by reference, as
// Knative's Destination: the ref names an Addressable (any object whose
// status.address.url says where it takes events) by apiVersion, kind and
// name, in the pipeline's namespace unless it names another; a uri beside it
// is relative to that address, so it must not be absolute.
func validateSinkRef(d *Destination, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	ref := path.Child("ref")
	if d.Ref.APIVersion == "" {
		errs = append(errs, field.Required(ref.Child("apiVersion"), "the apiVersion of the referenced object, such as serving.knative.dev/v1"))
	} else if _, err := schema.ParseGroupVersion(d.Ref.APIVersion); err != nil {
		errs = append(errs, field.Invalid(ref.Child("apiVersion"), d.Ref.APIVersion, err.Error()))
	}
	if d.Ref.Kind == "" {
		errs = append(errs, field.Required(ref.Child("kind"), ""))
	}
	if d.Ref.Name == "" {
		errs = append(errs, field.Required(ref.Child("name"), ""))
	} else if msgs := validation.IsDNS1123Subdomain(d.Ref.Name); len(msgs) > 0 {
		errs = append(errs, field.Invalid(ref.Child("name"), d.Ref.Name, strings.Join(msgs, "; ")))
	}
	if d.Ref.Namespace != "" {
		errs = append(errs, validateName(d.Ref.Namespace, ref.Child("namespace"))...)
	}
	if d.URI != "" {
		if u, err := url.Parse(d.URI); err != nil {
			errs = append(errs, field.Invalid(path.Child("uri"), d.URI, err.Error()))
		} else if u.IsAbs() || u.Host != "" {
			errs = append(errs, field.Invalid(path.Child("uri"), d.URI,
				"with a ref, uri is a path relative to the ref's address and must not be an absolute URL"))
		}
	}
	return errs
}

func validateLifecycle(l *Lifecycle, path *field.Path) field.ErrorList {
	switch l.DesiredPhase {
	case "", PhaseRunning, PhasePaused:
		return nil
	}
	return field.ErrorList{field.NotSupported(path.Child("desiredPhase"), l.DesiredPhase,
		[]Phase{PhaseRunning, PhasePaused})}
}

// validateFilter requires every attribute name to be a CloudEvent attribute
// name: lower-case letters a-z and digits 0-9.
func validateFilter(f *Filter, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, group := range []struct {
		name  string
		attrs map[string]string
	}{{"exact", f.Exact}, {"prefix", f.Prefix}} {
		names := make([]string, 0, len(group.attrs))
		for name := range group.attrs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !IsAttributeName(name) {
				errs = append(errs, field.Invalid(path.Child(group.name).Key(name), name,
					"must be a CloudEvent attribute name: lower-case letters a-z and digits 0-9"))
			}
		}
	}
	return errs
}

// IsAttributeName reports whether name is a valid CloudEvent attribute name:
// one or more lower-case letters a-z and digits 0-9.
func IsAttributeName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
