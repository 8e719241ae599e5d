package pipeline

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/reconciler/pipeline/resources"
)

// inputs are what a Pipeline's Vertices are built from besides its spec.
type inputs struct {
	// functions holds the Functions its function vertices name, by name.
	functions map[string]*v1alpha1.Function
	// missing names the Functions that do not exist.
	missing []string
	// addresses maps each http sink given by ref to the address of the
	// object it names.
	addresses map[string]string
	// unresolved says, for each sink ref without an address, why.
	unresolved []string
}

// fetchInputs reads the Functions and the sink refs' Addressables p names.
// A Function or Addressable that is missing (or has no address yet) is
// recorded in inputs; an error is a failure to read.
func (r *Reconciler) fetchInputs(ctx context.Context, p *v1alpha1.Pipeline) (inputs, error) {
	in := inputs{functions: make(map[string]*v1alpha1.Function), addresses: make(map[string]string)}
	for _, v := range p.Spec.Vertices {
		if v.Function == nil || v.Function.Ref == nil {
			continue
		}
		name := v.Function.Ref.Name
		if _, done := in.functions[name]; done {
			continue
		}
		var fn v1alpha1.Function
		err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, &fn)
		switch {
		case apierrors.IsNotFound(err):
			in.functions[name] = nil
			in.missing = append(in.missing, name)
		case err != nil:
			return in, fmt.Errorf("function %s/%s: %w", p.Namespace, name, err)
		default:
			in.functions[name] = &fn
		}
	}
	for _, s := range resources.SinkRefs(p) {
		address, why, err := r.address(ctx, s.Ref)
		if err != nil {
			return in, fmt.Errorf("sink %s: %w", s.Vertex, err)
		}
		if why != "" {
			in.unresolved = append(in.unresolved, fmt.Sprintf("sink %s: %s", s.Vertex, why))
			continue
		}
		in.addresses[s.Vertex] = address
	}
	return in, nil
}

// address reads the status.address.url of the object ref names, as
// unstructured (not cached: only get is granted). why says what is missing
// when the address cannot be had yet; err is a failure to read.
func (r *Reconciler) address(ctx context.Context, ref v1alpha1.KReference) (address, why string, err error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", fmt.Sprintf("apiVersion %q: %v", ref.APIVersion, err), nil
	}
	what := fmt.Sprintf("%s %s/%s (%s)", ref.Kind, ref.Namespace, ref.Name, ref.APIVersion)
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gv.WithKind(ref.Kind))
	err = r.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj)
	switch {
	case apierrors.IsNotFound(err):
		return "", what + " not found", nil
	case meta.IsNoMatchError(err):
		return "", fmt.Sprintf("%s: the API server serves no kind %s in %s", what, ref.Kind, ref.APIVersion), nil
	case apierrors.IsForbidden(err):
		return "", fmt.Sprintf("%s: the controller may not read it: %v", what, err), nil
	case err != nil:
		return "", "", fmt.Errorf("reading %s: %w", what, err)
	}
	url, ok := resources.AddressURL(obj.Object)
	if !ok {
		return "", what + " has no address (status.address.url) yet", nil
	}
	return url, "", nil
}

// functionKeys are the Functions p uses, as "<namespace>/<name>": those its
// function vertices name, and those its sinks name by ref.
func functionKeys(p *v1alpha1.Pipeline) []string {
	seen := make(map[string]bool)
	var keys []string
	add := func(ns, name string) {
		if k := ns + "/" + name; !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, v := range p.Spec.Vertices {
		if v.Function != nil && v.Function.Ref != nil {
			add(p.Namespace, v.Function.Ref.Name)
		}
	}
	for _, s := range resources.SinkRefs(p) {
		if isFunction(s.Ref) {
			add(s.Ref.Namespace, s.Ref.Name)
		}
	}
	return keys
}

// isFunction reports whether ref names a Freshet Function, which the
// controller watches.
func isFunction(ref v1alpha1.KReference) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == v1alpha1.GroupVersion.Group && ref.Kind == v1alpha1.KindFunction
}
