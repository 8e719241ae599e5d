package resources

import (
	"fmt"
	"net/url"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// SinkRef is an http sink of a Pipeline whose destination is a ref to an
// Addressable, to be resolved before the sink's Vertex is built.
type SinkRef struct {
	// Vertex is the sink vertex's name in the pipeline.
	Vertex string
	// Ref is the sink's ref, its namespace defaulted to the pipeline's.
	Ref v1alpha1.KReference
}

// SinkRefs lists the http sinks of p given by ref, in declaration order.
func SinkRefs(p *v1alpha1.Pipeline) []SinkRef {
	ns := p.Namespace
	if ns == "" {
		ns = v1alpha1.DefaultNamespace
	}
	var refs []SinkRef
	for _, v := range p.Spec.Vertices {
		if v.Sink == nil || v.Sink.HTTP == nil || v.Sink.HTTP.Ref == nil {
			continue
		}
		ref := *v.Sink.HTTP.Ref
		if ref.Namespace == "" {
			ref.Namespace = ns
		}
		refs = append(refs, SinkRef{Vertex: v.Name, Ref: ref})
	}
	return refs
}

// ResolveSinks returns a copy of p in which every http sink given by ref
// (see SinkRefs) has instead the absolute URI it resolves to, so
// MakeVertices can build self-contained Vertices from it. addresses maps
// each such sink vertex's name to the address of the object its ref names
// (that object's status.address.url, see AddressURL). p is not modified. The
// error names every sink whose address is missing or does not resolve.
func ResolveSinks(p *v1alpha1.Pipeline, addresses map[string]string) (*v1alpha1.Pipeline, error) {
	p = p.DeepCopy()
	var errs field.ErrorList
	for i := range p.Spec.Vertices {
		v := &p.Spec.Vertices[i]
		if v.Sink == nil || v.Sink.HTTP == nil || v.Sink.HTTP.Ref == nil {
			continue
		}
		path := field.NewPath("spec", "vertices").Index(i).Child("sink", "http")
		address, ok := addresses[v.Name]
		if !ok {
			errs = append(errs, field.Invalid(path.Child("ref"), v.Sink.HTTP.Ref.Name, "no address known for the referenced object"))
			continue
		}
		uri, err := ResolveURI(v.Sink.HTTP, address)
		if err != nil {
			errs = append(errs, field.Invalid(path, v.Sink.HTTP.URI, err.Error()))
			continue
		}
		v.Sink.HTTP = &v1alpha1.Destination{URI: uri}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("pipeline %s/%s: %w", p.Namespace, p.Name, errs.ToAggregate())
	}
	return p, nil
}

// ResolveURI is the absolute http or https URL a Destination names, as
// Knative resolves a Destination: without a ref, its uri; with one, the
// ref's address (the Addressable's status.address.url, given by the caller),
// with the uri, if any, resolved against it as a relative reference (RFC
// 3986: "/events" replaces the address's path, "events" replaces its last
// segment, "?q=1" its query).
func ResolveURI(d *v1alpha1.Destination, address string) (string, error) {
	if d.Ref == nil {
		return absoluteHTTP(d.URI)
	}
	base, err := absoluteHTTP(address)
	if err != nil {
		return "", fmt.Errorf("address of %s %q: %w", d.Ref.Kind, d.Ref.Name, err)
	}
	if d.URI == "" {
		return base, nil
	}
	rel, err := url.Parse(d.URI)
	if err != nil {
		return "", fmt.Errorf("uri %q: %w", d.URI, err)
	}
	if rel.IsAbs() || rel.Host != "" {
		return "", fmt.Errorf("uri %q must be relative to the ref's address", d.URI)
	}
	u, _ := url.Parse(base) // parsed once already by absoluteHTTP
	return u.ResolveReference(rel).String(), nil
}

// absoluteHTTP returns raw if it is an absolute http or https URL with a
// host.
func absoluteHTTP(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	return raw, nil
}

// AddressURL reads an Addressable's address, status.address.url (Knative's
// Addressable duck type), from an object in unstructured form. It reports
// false when the object has no address yet.
func AddressURL(obj map[string]any) (string, bool) {
	status, _ := obj["status"].(map[string]any)
	address, _ := status["address"].(map[string]any)
	u, _ := address["url"].(string)
	return u, u != ""
}
