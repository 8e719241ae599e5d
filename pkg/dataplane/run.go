package dataplane

import (
	"context"
	"fmt"
	"reflect"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/scaler"
	httpsink "github.com/freshetproj/freshet/pkg/sink/http"
	logsink "github.com/freshetproj/freshet/pkg/sink/log"
)

// runFunctions starts new functions, updates changed ones, stops those no
// longer wanted, and keeps the scaler's entries in step.
func (p *Plane) runFunctions(d *desired) []error {
	var errs []error
	p.mu.Lock()
	old := p.functions
	p.mu.Unlock()
	next := make(map[string]*function, len(d.functions))
	for _, key := range d.order {
		pl := d.functions[key]
		fn := old[key]
		changed := fn == nil || !reflect.DeepEqual(runSpec(fn.fn.Spec), runSpec(pl.fn.Spec)) || fn.fn.Vertex != pl.fn.Vertex || fn.fn.Name != pl.fn.Name
		if changed {
			if err := p.cfg.Runner.Run(pl.fn); err != nil {
				errs = append(errs, fmt.Errorf("function %s: %w", key, err))
				if fn != nil {
					next[key] = fn // as it was: the next Apply tries again
				}
				continue
			}
			p.cfg.Pool.SetConcurrency(key, int(*pl.fn.Spec.Scale.ContainerConcurrency))
		}
		if fn == nil {
			fn = &function{}
		}
		rescale := fn.fn.Spec == nil || !reflect.DeepEqual(fn.fn.Spec.Scale, pl.fn.Spec.Scale) || !p.cfg.Scaler.Has(key)
		p.mu.Lock()
		fn.fn = pl.fn
		fn.inputs, fn.upstream = p.buffersAt(pl.inputs), nil
		for _, b := range p.buffersAt(pl.feeds) {
			if !contains(fn.inputs, b) {
				fn.upstream = append(fn.upstream, b)
			}
		}
		// An unchanged Function keeps its invoker: it counts the requests
		// in flight and waiting, which the scaler reads and MaxWaiting bounds.
		switch {
		case !pl.invocable:
			fn.invoker = nil
		case fn.invoker == nil || changed:
			fn.invoker = &router.Invoker{
				Target:            p.functionTarget(key, pl.fn.Spec),
				Policy:            delivery.PolicyFor(pl.fn.Spec.Delivery),
				MaxWaiting:        int(*pl.fn.Spec.Scale.MaxWaiting),
				ActivationTimeout: pl.fn.Spec.Scale.ActivationTimeout.Duration,
			}
		}
		p.mu.Unlock()
		if rescale {
			desired, _ := p.cfg.Runner.Status(key)
			p.cfg.Scaler.Add(key, scaler.SpecFor(pl.fn.Spec.Scale), desired, p.observer(key))
		}
		next[key] = fn
	}
	for key := range old {
		if next[key] != nil {
			continue
		}
		p.cfg.Scaler.Remove(key)
		if err := p.cfg.Runner.Stop(key); err != nil {
			errs = append(errs, fmt.Errorf("function %s: stop: %w", key, err))
		}
	}
	p.mu.Lock()
	p.functions = next
	p.mu.Unlock()
	return errs
}

// runSpec is the part of a function's spec its replicas run from: the
// scaler's spec.replicas does not change it.
func runSpec(s *v1alpha1.FunctionSpec) v1alpha1.FunctionSpec {
	c := *s.DeepCopy()
	c.Replicas = nil
	return c
}

// buffersAt returns the buffers at paths; p.mu is held.
func (p *Plane) buffersAt(paths []string) []buffer.Buffer {
	var out []buffer.Buffer
	for _, path := range paths {
		if b := p.buffers[path]; b != nil && !contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

func contains(bs []buffer.Buffer, b buffer.Buffer) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

func (p *Plane) functionTarget(key string, spec *v1alpha1.FunctionSpec) *router.FunctionTarget {
	return &router.FunctionTarget{
		Function: key,
		Pool:     p.cfg.Pool,
		Sender:   p.cfg.Sender,
		Timeout:  spec.Delivery.Timeout.Duration,
		Batch:    spec.Batch != nil,
		// Synchronous invokes use their own (the activator's) wait.
		ActivationTimeout: spec.Scale.ActivationTimeout.Duration,
	}
}

// runDispatchers starts a dispatcher for every running vertex that has
// none or whose spec changed, and stops the rest. A replaced dispatcher
// finishes its in-flight deliveries while the new one starts reading.
func (p *Plane) runDispatchers(d *desired) []error {
	var errs []error
	keep := map[string]bool{}
	for _, v := range d.vertices {
		path := VertexPath(v)
		built, key := builtFrom(v), ""
		if v.Spec.Function != nil {
			key = p.cfg.FunctionKey(v)
		}
		p.mu.Lock()
		r := p.dispatchers[path]
		p.mu.Unlock()
		if r != nil && r.key == key && reflect.DeepEqual(r.built, built) {
			keep[path] = true
			continue
		}
		disp, err := p.dispatcher(v, key)
		if err != nil {
			errs = append(errs, err)
			continue // the old one, if any, is stopped below
		}
		keep[path] = true
		p.stopDispatcher(path)
		p.startDispatcher(path, &running{built: built, key: key}, disp)
	}
	p.mu.Lock()
	var stop []string
	for path := range p.dispatchers {
		if !keep[path] {
			stop = append(stop, path)
		}
	}
	p.mu.Unlock()
	for _, path := range stop {
		p.stopDispatcher(path)
	}
	return errs
}

// builtFrom is the part of a vertex's spec its dispatcher is built from:
// the scaler's replicas and the lifecycle do not change it.
func builtFrom(v *v1alpha1.Vertex) v1alpha1.VertexSpec {
	s := *v.Spec.DeepCopy()
	s.Replicas = nil
	s.Lifecycle = v1alpha1.Lifecycle{}
	return s
}

func (p *Plane) startDispatcher(path string, r *running, d *router.Dispatcher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithCancel(p.base)
	r.cancel = cancel
	p.dispatchers[path] = r
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := d.Run(ctx); err != nil {
			p.cfg.Log.Error("dispatcher stopped", "vertex", path, "error", err)
		}
	}()
	p.cfg.Log.Debug("dispatching", "vertex", path)
}

// stopDispatcher cancels path's dispatcher, if any; it finishes its
// in-flight deliveries (up to Grace) on its own.
func (p *Plane) stopDispatcher(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.dispatchers[path]; r != nil {
		r.cancel()
		delete(p.dispatchers, path)
		p.cfg.Log.Debug("stopped dispatching", "vertex", path)
	}
}

// dispatcher builds the dispatcher of function or sink vertex v, whose
// function (if any) is key.
func (p *Plane) dispatcher(v *v1alpha1.Vertex, key string) (*router.Dispatcher, error) {
	path := VertexPath(v)
	d := &router.Dispatcher{
		Vertex:  path,
		In:      p.buffer(path),
		Routes:  p.routes(v),
		Grace:   p.cfg.Grace,
		Log:     p.cfg.Log,
		Metrics: p.cfg.Metrics,
	}
	switch {
	case v.Spec.Function != nil:
		spec := v.Spec.Function
		d.Target = p.functionTarget(key, spec)
		d.Policy = delivery.PolicyFor(spec.Delivery)
		requests := int(*spec.Scale.Max) * int(*spec.Scale.ContainerConcurrency)
		d.MaxInFlight = min(requests, maxVertexInFlight)
		if spec.Batch != nil {
			// Every replica slot takes a whole batch.
			d.BatchSize = int(spec.Batch.MaxSize)
			d.BatchWait = spec.Batch.MaxWait.Duration
			d.MaxInFlight = min(requests, maxVertexInFlight) * d.BatchSize
		}
	case v.Spec.Sink != nil:
		var policy v1alpha1.Delivery
		if v.Spec.Sink.Delivery != nil {
			policy = *v.Spec.Sink.Delivery
		}
		d.Policy = delivery.PolicyFor(policy)
		switch {
		case v.Spec.Sink.Log != nil:
			d.Target = logsink.New(path, p.cfg.Stdout)
		case v.Spec.Sink.HTTP != nil:
			d.Target = &httpsink.Sink{URL: v.Spec.Sink.HTTP.URI, Sender: p.cfg.Sender, Timeout: d.Policy.Timeout}
		default:
			return nil, fmt.Errorf("vertex %s: sink has no kind", path)
		}
	default:
		return nil, fmt.Errorf("vertex %s: neither function nor sink", path)
	}
	var err error
	if d.DeadLetter, err = p.deadLetter(v); err != nil {
		return nil, err
	}
	return d, nil
}

func (p *Plane) routes(v *v1alpha1.Vertex) []router.Route {
	var routes []router.Route
	for _, e := range v.Spec.Edges {
		to := pathOf(v.Namespace, v.Spec.PipelineName, e.To)
		routes = append(routes, router.Route{To: to, Filter: e.Filter, Out: p.buffer(to)})
	}
	return routes
}

func (p *Plane) deadLetter(v *v1alpha1.Vertex) (router.DeadLetter, error) {
	dl := deadLetterSink(v)
	switch {
	case dl == nil:
		return nil, nil
	case dl.Ref != nil:
		if dl.Ref.Kind != v1alpha1.KindVertex {
			return nil, fmt.Errorf("vertex %s: deadLetterSink.ref must name a sink Vertex of the pipeline, not %s %q", VertexPath(v), dl.Ref.Kind, dl.Ref.Name)
		}
		to := pathOf(v.Namespace, v.Spec.PipelineName, dl.Ref.Name)
		return &router.BufferDeadLetter{To: to, Out: p.buffer(to)}, nil
	default:
		return &router.HTTPDeadLetter{URL: dl.URI, Sender: p.cfg.Sender, Timeout: v1alpha1.DefaultDeliveryTimeout}, nil
	}
}

// table is what the ingress serves.
func (p *Plane) table(d *desired) router.Table {
	t := router.Table{Sources: map[string][]router.Route{}, Paused: map[string]bool{}, Functions: map[string]*router.Invoker{}}
	for _, v := range d.sources {
		path := VertexPath(v)
		t.Sources[path] = p.routes(v)
		if v.Spec.Lifecycle.DesiredPhase == v1alpha1.PhasePaused {
			t.Paused[path] = true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, fn := range p.functions {
		if fn.invoker != nil {
			t.Functions[key] = fn.invoker
		}
	}
	return t
}
