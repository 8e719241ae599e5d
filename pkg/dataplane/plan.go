package dataplane

import (
	"fmt"
	"slices"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// desired is what the plane should run, planned from resources without I/O.
type desired struct {
	// buffers maps the path of every vertex that has a buffer (and every
	// edge or dead-letter target) to the buffer's name.
	buffers map[string]string
	// functions by key, in the order first seen.
	functions map[string]*planned
	order     []string
	// vertices are the function and sink vertices whose dispatchers run.
	vertices []*v1alpha1.Vertex
	// sources are the source vertices.
	sources []*v1alpha1.Vertex
}

// planned is one replica set to run.
type planned struct {
	fn        Function
	invocable bool     // a Function, which the ingress invokes
	inputs    []string // paths of the running vertices it serves
	feeds     []string // paths of the running vertices sending to those
}

// plan defaults and validates copies of res and plans what runs; invalid
// objects are left out, each with an error.
func (p *Plane) plan(res Resources) (*desired, []error) {
	d := &desired{buffers: map[string]string{}, functions: map[string]*planned{}}
	var errs []error
	for _, f := range res.Functions {
		f = f.DeepCopy()
		f.SetDefaults()
		if fe := f.Validate(); len(fe) > 0 {
			errs = append(errs, fmt.Errorf("Function %s/%s: %w", f.Namespace, f.Name, fe.ToAggregate()))
			continue
		}
		key := f.Namespace + "/" + f.Name
		d.add(Function{Key: key, Namespace: f.Namespace, Name: f.Name, Spec: &f.Spec}).invocable = true
	}
	var valid []*v1alpha1.Vertex
	for _, v := range res.Vertices {
		v = v.DeepCopy()
		v.SetDefaults()
		if fe := v.Validate(); len(fe) > 0 {
			errs = append(errs, fmt.Errorf("Vertex %s/%s: %w", v.Namespace, v.Name, fe.ToAggregate()))
			continue
		}
		valid = append(valid, v)
	}
	byPath := map[string]*v1alpha1.Vertex{}
	for _, v := range valid {
		byPath[VertexPath(v)] = v
		if v.Spec.Source != nil {
			d.sources = append(d.sources, v)
		} else {
			d.buffers[VertexPath(v)] = bufferName(v.Namespace, v.Spec.PipelineName, v.Spec.Name)
		}
		for _, e := range v.Spec.Edges {
			d.buffers[pathOf(v.Namespace, v.Spec.PipelineName, e.To)] = bufferName(v.Namespace, v.Spec.PipelineName, e.To)
		}
		if ref := deadLetterRef(v); ref != nil {
			d.buffers[pathOf(v.Namespace, v.Spec.PipelineName, ref.Name)] = bufferName(v.Namespace, v.Spec.PipelineName, ref.Name)
		}
		if v.Spec.Source != nil || !Runs(v) {
			continue
		}
		d.vertices = append(d.vertices, v)
		if v.Spec.Function != nil {
			fn := d.add(Function{Key: p.cfg.FunctionKey(v), Namespace: v.Namespace, Name: v.Name, Vertex: true, Spec: v.Spec.Function})
			fn.inputs = append(fn.inputs, VertexPath(v))
		}
	}
	// A running vertex's backlog (a source's: what waits in its system)
	// flows into the functions its edges reach: the scaler wakes them
	// ahead of it.
	feeders := slices.Clone(d.vertices)
	for _, v := range d.sources {
		if v.Spec.Lifecycle.DesiredPhase != v1alpha1.PhasePaused {
			feeders = append(feeders, v)
		}
	}
	for _, u := range feeders {
		for _, e := range u.Spec.Edges {
			to := byPath[pathOf(u.Namespace, u.Spec.PipelineName, e.To)]
			if to == nil || to.Spec.Function == nil || !Runs(to) {
				continue
			}
			if fn := d.functions[p.cfg.FunctionKey(to)]; fn != nil {
				fn.feeds = append(fn.feeds, VertexPath(u))
			}
		}
	}
	return d, errs
}

// add plans fn unless its key is planned already (pipelines referencing
// one Function may share its replicas), and returns the planned one.
func (d *desired) add(fn Function) *planned {
	if got := d.functions[fn.Key]; got != nil {
		return got
	}
	pl := &planned{fn: fn}
	d.functions[fn.Key] = pl
	d.order = append(d.order, fn.Key)
	return pl
}

// deadLetterRef is the vertex v's failed events go to, if a vertex.
func deadLetterRef(v *v1alpha1.Vertex) *v1alpha1.KReference {
	if dl := deadLetterSink(v); dl != nil {
		return dl.Ref
	}
	return nil
}

func deadLetterSink(v *v1alpha1.Vertex) *v1alpha1.Destination {
	switch {
	case v.Spec.Function != nil:
		return v.Spec.Function.Delivery.DeadLetterSink
	case v.Spec.Sink != nil && v.Spec.Sink.Delivery != nil:
		return v.Spec.Sink.Delivery.DeadLetterSink
	}
	return nil
}
