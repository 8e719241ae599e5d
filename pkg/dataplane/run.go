package dataplane

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/scaler"
	"github.com/freshetproj/freshet/pkg/sink"
	httpsink "github.com/freshetproj/freshet/pkg/sink/http"
	logsink "github.com/freshetproj/freshet/pkg/sink/log"
	"github.com/freshetproj/freshet/pkg/source"
	httpsource "github.com/freshetproj/freshet/pkg/source/http"
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

// link tells every function what it serves and what feeds it: the
// buffers of its vertices, and the buffers of the vertices (or the sources
// of the source vertices) sending to those.
func (p *Plane) link(d *desired) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, fn := range p.functions {
		pl := d.functions[key]
		if pl == nil {
			continue
		}
		fn.inputs, fn.upstream = nil, nil
		for _, path := range pl.inputs {
			if b := p.buffers[path]; b != nil && !slices.Contains(fn.inputs, b) {
				fn.inputs = append(fn.inputs, b)
			}
		}
		for _, path := range pl.feeds {
			switch b, r := p.buffers[path], p.pumps[path]; {
			case r != nil:
				fn.upstream = append(fn.upstream, r.source)
			case b != nil && !slices.Contains(fn.inputs, b):
				fn.upstream = append(fn.upstream, bufferBacklog{b})
			}
		}
	}
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
		disp, opened, err := p.dispatcher(v, key)
		if err != nil {
			errs = append(errs, err)
			continue // the old one, if any, is stopped below
		}
		keep[path] = true
		p.stop(p.dispatchers, path)
		var after func()
		if opened != nil {
			after = func() {
				if err := opened.Close(); err != nil {
					p.cfg.Log.Warn("closing the sink", "vertex", path, "error", err)
				}
			}
		}
		p.start(p.dispatchers, path, &running{built: built, key: key}, disp.Run, after)
	}
	p.stopOthers(p.dispatchers, keep)
	return errs
}

// runPumps starts a pump for every source vertex not paused that has none
// or whose spec changed, and stops the rest; a stopped pump's source is
// closed once its writes in flight are done.
func (p *Plane) runPumps(d *desired) []error {
	var errs []error
	keep := map[string]bool{}
	for _, v := range d.sources {
		if v.Spec.Lifecycle.DesiredPhase == v1alpha1.PhasePaused {
			continue
		}
		path, built := VertexPath(v), builtFrom(v)
		p.mu.Lock()
		r := p.pumps[path]
		p.mu.Unlock()
		if r != nil && reflect.DeepEqual(r.built, built) {
			keep[path] = true
			continue
		}
		src, err := p.openSource(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("vertex %s: %w", path, err))
			continue
		}
		keep[path] = true
		pump := &router.Pump{Vertex: path, Source: src, Routes: p.routes(v), Grace: p.cfg.Grace, Log: p.cfg.Log, Metrics: p.cfg.Metrics}
		p.stop(p.pumps, path)
		p.start(p.pumps, path, &running{built: built, source: src}, pump.Run, func() {
			if err := src.Close(); err != nil {
				p.cfg.Log.Warn("closing the source", "vertex", path, "error", err)
			}
		})
	}
	p.stopOthers(p.pumps, keep)
	return errs
}

// openSource connects source vertex v to its system.
func (p *Plane) openSource(v *v1alpha1.Vertex) (source.Source, error) {
	if v.Spec.Source.HTTP != nil {
		return httpsource.New(), nil
	}
	if p.cfg.OpenSource == nil {
		return nil, errors.New("this source kind is not supported here")
	}
	return p.cfg.OpenSource(v)
}

// builtFrom is the part of a vertex's spec its dispatcher is built from:
// the scaler's replicas and the lifecycle do not change it.
func builtFrom(v *v1alpha1.Vertex) v1alpha1.VertexSpec {
	s := *v.Spec.DeepCopy()
	s.Replicas = nil
	s.Lifecycle = v1alpha1.Lifecycle{}
	return s
}

// start runs run under its own context as workers[path], then after (if
// set) once run returned.
func (p *Plane) start(workers map[string]*running, path string, r *running, run func(context.Context) error, after func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithCancel(p.base)
	r.cancel = cancel
	workers[path] = r
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := run(ctx); err != nil {
			p.cfg.Log.Error("stopped", "vertex", path, "error", err)
		}
		if after != nil {
			after()
		}
	}()
	p.cfg.Log.Debug("started", "vertex", path)
}

// stop cancels workers[path], if any; it finishes its in-flight work (up
// to Grace) on its own.
func (p *Plane) stop(workers map[string]*running, path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := workers[path]; r != nil {
		r.cancel()
		delete(workers, path)
		p.cfg.Log.Debug("stopping", "vertex", path)
	}
}

// stopOthers stops the workers whose paths are not in keep.
func (p *Plane) stopOthers(workers map[string]*running, keep map[string]bool) {
	p.mu.Lock()
	var stop []string
	for path := range workers {
		if !keep[path] {
			stop = append(stop, path)
		}
	}
	p.mu.Unlock()
	for _, path := range stop {
		p.stop(workers, path)
	}
}

// dispatcher builds the dispatcher of function or sink vertex v, whose
// function (if any) is key, and the sink it opened (to close once it
// stops).
func (p *Plane) dispatcher(v *v1alpha1.Vertex, key string) (d *router.Dispatcher, opened sink.Sink, err error) {
	path := VertexPath(v)
	d = &router.Dispatcher{
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
		s, err := p.openSink(v, d.Policy.Timeout)
		if err != nil {
			return nil, nil, fmt.Errorf("vertex %s: %w", path, err)
		}
		d.Target, opened = sink.Target{Sink: s}, s
		d.BatchSize, d.MaxInFlight = sinkBatch(v.Spec.Sink)
		if d.BatchSize > 0 {
			d.BatchWait = sinkBatchWait
		}
	default:
		return nil, nil, fmt.Errorf("vertex %s: neither function nor sink", path)
	}
	if d.DeadLetter, err = p.deadLetter(v); err != nil {
		if opened != nil {
			_ = opened.Close()
		}
		return nil, nil, err
	}
	return d, opened, nil
}

// sinkBatchWait is how long a sink's batch waits to fill: a few ms, against
// a broker round trip that costs more.
const sinkBatchWait = 5 * time.Millisecond

// sinkBatch is how a sink vertex's dispatcher groups events: brokers take
// a batch in one round trip (a Kafka produce, an SQS SendMessageBatch of
// 10), so their sinks write many at once with a few batches in flight. The
// log and HTTP sinks take one event at a time (0: no batching, the
// dispatcher's default concurrency).
func sinkBatch(s *v1alpha1.Sink) (size, maxInFlight int) {
	switch {
	case s.Kafka != nil, s.Pulsar != nil:
		return 128, 8 * 128
	case s.SQS != nil:
		return 10, 16 * 10
	}
	return 0, 0
}

// openSink connects sink vertex v to its system; timeout bounds one
// attempt of an HTTP sink.
func (p *Plane) openSink(v *v1alpha1.Vertex, timeout time.Duration) (sink.Sink, error) {
	switch s := v.Spec.Sink; {
	case s.Log != nil:
		return logsink.New(VertexPath(v), p.cfg.Stdout), nil
	case s.HTTP != nil:
		return &httpsink.Sink{URL: s.HTTP.URI, Sender: p.cfg.Sender, Timeout: timeout}, nil
	case p.cfg.OpenSink == nil:
		return nil, errors.New("this sink kind is not supported here")
	default:
		return p.cfg.OpenSink(v)
	}
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
	t := router.Table{Sources: map[string]*httpsource.Source{}, Paused: map[string]bool{}, Functions: map[string]*router.Invoker{}}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range d.sources {
		path := VertexPath(v)
		if v.Spec.Lifecycle.DesiredPhase == v1alpha1.PhasePaused {
			t.Paused[path] = true
			continue
		}
		if r := p.pumps[path]; r != nil {
			if h, ok := r.source.(*httpsource.Source); ok {
				t.Sources[path] = h
			}
		}
	}
	for key, fn := range p.functions {
		if fn.invoker != nil {
			t.Functions[key] = fn.invoker
		}
	}
	return t
}
