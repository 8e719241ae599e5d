package v1alpha1

import (
	"fmt"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Kinds of the Freshet resources, as in apiVersion/kind and in references.
const (
	KindFunction = "Function"
	KindPipeline = "Pipeline"
	// KindVertex is also the kind a dead-letter ref inside a pipeline must
	// have: it names a sink vertex of the same pipeline.
	KindVertex = "Vertex"
)

// Limits enforced by validation.
const (
	// MaxRetry is the most retries a delivery policy may ask for.
	MaxRetry int32 = 100
	// MaxBatchSize is the most events a batch may hold.
	MaxBatchSize int32 = 10000
)

// Validate checks a Function. It accepts a Function before or after
// SetDefaults: an unset optional field is valid and takes its default, and
// rules between fields (scale min ≤ max) compare the values after
// defaulting. Every error names its field path.
func (f *Function) Validate() field.ErrorList {
	errs := validateObjectMeta(&f.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateFunctionSpec(&f.Spec, field.NewPath("spec"), nil)...)
}

// pipelineScope is what validating a spec inside a pipeline needs to know:
// the vertex it belongs to and, when the whole pipeline is at hand, which
// vertex names are sinks. A Function on its own has no scope (nil).
type pipelineScope struct {
	self string
	// isSink maps each vertex name of the pipeline to whether it is a sink;
	// nil when only one vertex is at hand.
	isSink map[string]bool
}

func validateObjectMeta(m *metav1.ObjectMeta, path *field.Path) field.ErrorList {
	errs := validateName(m.Name, path.Child("name"))
	if m.Namespace != "" {
		errs = append(errs, validateName(m.Namespace, path.Child("namespace"))...)
	}
	return errs
}

// validateName requires a DNS-1123 label: lower-case letters, digits and
// '-', at most 63 characters.
func validateName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return field.ErrorList{field.Invalid(path, name, strings.Join(msgs, "; "))}
	}
	return nil
}

func validateFunctionSpec(s *FunctionSpec, path *field.Path, scope *pipelineScope) field.ErrorList {
	errs := validateContainer(&s.Container, path.Child("container"))
	errs = append(errs, validateScale(&s.Scale, path.Child("scale"))...)
	errs = append(errs, validateDelivery(&s.Delivery, path.Child("delivery"), scope)...)
	if s.Batch != nil {
		errs = append(errs, validateBatch(s.Batch, path.Child("batch"))...)
	}
	return errs
}

func validateContainer(c *Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Image == "" && len(c.Command) == 0 {
		errs = append(errs, field.Required(path, "image (Kubernetes) or command (freshet dev) is required"))
	}
	if c.Port != 0 && (c.Port < 1 || c.Port > 65535) {
		errs = append(errs, field.Invalid(path.Child("port"), c.Port, validation.InclusiveRangeError(1, 65535)))
	}
	if c.HealthPath != "" && !strings.HasPrefix(c.HealthPath, "/") {
		errs = append(errs, field.Invalid(path.Child("healthPath"), c.HealthPath, "must start with '/'"))
	}
	return errs
}

func validateScale(s *Scale, path *field.Path) field.ErrorList {
	errs := atLeast(s.Min, 0, path.Child("min"))
	errs = append(errs, atLeast(s.Max, 1, path.Child("max"))...)
	if len(errs) == 0 {
		lo, hi := orDefault(s.Min, DefaultScaleMin), orDefault(s.Max, DefaultScaleMax)
		if lo > hi {
			errs = append(errs, field.Invalid(path.Child("min"), lo, fmt.Sprintf("must not be greater than max (%d)", hi)))
		}
	}
	errs = append(errs, atLeast(s.TargetBacklog, 1, path.Child("targetBacklog"))...)
	errs = append(errs, atLeast(s.ContainerConcurrency, 1, path.Child("containerConcurrency"))...)
	errs = append(errs, positive(s.IdleTimeout, path.Child("idleTimeout"))...)
	errs = append(errs, positive(s.TargetSeconds, path.Child("targetSeconds"))...)
	errs = append(errs, nonNegative(s.ScaleDownWindow, path.Child("scaleDownWindow"))...)
	errs = append(errs, positive(s.ActivationTimeout, path.Child("activationTimeout"))...)
	errs = append(errs, atLeast(s.MaxWaiting, 1, path.Child("maxWaiting"))...)
	return errs
}

func validateDelivery(d *Delivery, path *field.Path, scope *pipelineScope) field.ErrorList {
	var errs field.ErrorList
	if d.Retry != nil && (*d.Retry < 0 || *d.Retry > MaxRetry) {
		errs = append(errs, field.Invalid(path.Child("retry"), *d.Retry, validation.InclusiveRangeError(0, int(MaxRetry))))
	}
	switch d.BackoffPolicy {
	case "", BackoffLinear, BackoffExponential:
	default:
		errs = append(errs, field.NotSupported(path.Child("backoffPolicy"), d.BackoffPolicy,
			[]BackoffPolicy{BackoffLinear, BackoffExponential}))
	}
	errs = append(errs, positive(d.BackoffDelay, path.Child("backoffDelay"))...)
	errs = append(errs, positive(d.Timeout, path.Child("timeout"))...)
	if d.DeadLetterSink != nil {
		errs = append(errs, validateDeadLetterSink(d.DeadLetterSink, path.Child("deadLetterSink"), scope)...)
	}
	return errs
}

// validateDeadLetterSink requires a ref or an absolute http(s) URI. Inside a
// pipeline, a ref must be of kind Vertex and name a sink vertex of the same
// pipeline.
func validateDeadLetterSink(d *Destination, path *field.Path, scope *pipelineScope) field.ErrorList {
	if d.Ref == nil {
		if d.URI == "" {
			return field.ErrorList{field.Required(path, "a ref or an absolute http or https uri is required")}
		}
		return validateAbsoluteHTTP(d.URI, path.Child("uri"))
	}
	ref := path.Child("ref")
	if scope != nil {
		return validateVertexRef(d, ref, path.Child("uri"), scope)
	}
	var errs field.ErrorList
	if d.Ref.Kind == "" {
		errs = append(errs, field.Required(ref.Child("kind"), ""))
	}
	if d.Ref.Name == "" {
		errs = append(errs, field.Required(ref.Child("name"), ""))
	}
	if _, err := url.Parse(d.URI); err != nil {
		errs = append(errs, field.Invalid(path.Child("uri"), d.URI, err.Error()))
	}
	return errs
}

// validateVertexRef checks a dead-letter ref inside a pipeline.
func validateVertexRef(d *Destination, ref, uri *field.Path, scope *pipelineScope) field.ErrorList {
	if d.Ref.Kind != KindVertex {
		return field.ErrorList{field.NotSupported(ref.Child("kind"), d.Ref.Kind, []string{KindVertex})}
	}
	var errs field.ErrorList
	name := ref.Child("name")
	isSink, found := scope.isSink[d.Ref.Name]
	switch {
	case d.Ref.Name == "":
		errs = append(errs, field.Required(name, "the name of a sink vertex of this pipeline is required"))
	case d.Ref.Name == scope.self:
		errs = append(errs, field.Invalid(name, d.Ref.Name, "a vertex cannot be its own dead-letter sink"))
	case scope.isSink == nil:
		errs = append(errs, validateName(d.Ref.Name, name)...)
	case !found:
		nf := field.NotFound(name, d.Ref.Name)
		nf.Detail = "no vertex of that name in this pipeline"
		errs = append(errs, nf)
	case !isSink:
		errs = append(errs, field.Invalid(name, d.Ref.Name, "must name a sink vertex"))
	}
	if d.URI != "" {
		errs = append(errs, field.Forbidden(uri, "must not be set with a ref of kind Vertex"))
	}
	return errs
}

func validateBatch(b *Batch, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if b.MaxSize < 1 || b.MaxSize > MaxBatchSize {
		errs = append(errs, field.Invalid(path.Child("maxSize"), b.MaxSize, validation.InclusiveRangeError(1, int(MaxBatchSize))))
	}
	if b.MaxWait != nil && b.MaxWait.Duration < 0 {
		errs = append(errs, field.Invalid(path.Child("maxWait"), b.MaxWait.Duration.String(), "must not be negative"))
	}
	return errs
}

// validateAbsoluteHTTP requires an absolute http or https URL with a host.
func validateAbsoluteHTTP(uri string, path *field.Path) field.ErrorList {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return field.ErrorList{field.Invalid(path, uri, "must be an absolute http or https URL")}
	}
	return nil
}

// atLeast checks an optional integer against its lower bound.
func atLeast(v *int32, lo int32, path *field.Path) field.ErrorList {
	if v != nil && *v < lo {
		return field.ErrorList{field.Invalid(path, *v, fmt.Sprintf("must be at least %d", lo))}
	}
	return nil
}

// positive checks that an optional duration is greater than zero.
func positive(d *metav1.Duration, path *field.Path) field.ErrorList {
	if d != nil && d.Duration <= 0 {
		return field.ErrorList{field.Invalid(path, d.Duration.String(), "must be greater than 0")}
	}
	return nil
}

// nonNegative checks that an optional duration is not below zero.
func nonNegative(d *metav1.Duration, path *field.Path) field.ErrorList {
	if d != nil && d.Duration < 0 {
		return field.ErrorList{field.Invalid(path, d.Duration.String(), "must not be negative")}
	}
	return nil
}

func orDefault(v *int32, def int32) int32 {
	if v == nil {
		return def
	}
	return *v
}

// exactlyOne reports an error unless exactly one member of the group at path
// is set: Required on the group when none is, Forbidden on each extra one.
func exactlyOne(path *field.Path, names []string, set []bool) field.ErrorList {
	var errs field.ErrorList
	first := -1
	for i, ok := range set {
		switch {
		case !ok:
		case first < 0:
			first = i
		default:
			errs = append(errs, field.Forbidden(path.Child(names[i]),
				fmt.Sprintf("only one of %s may be set; %s is already set", strings.Join(names, ", "), names[first])))
		}
	}
	if first < 0 {
		return field.ErrorList{field.Required(path, fmt.Sprintf("exactly one of %s is required", strings.Join(names, ", ")))}
	}
	return errs
}
