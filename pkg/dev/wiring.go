package dev

import (
	"context"
	"fmt"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/runtime/local"
	httpsink "github.com/freshetproj/freshet/pkg/sink/http"
	logsink "github.com/freshetproj/freshet/pkg/sink/log"
	"github.com/prometheus/client_golang/prometheus"
)

// wiring builds the running parts from the resources.
type wiring struct {
	cfg       Config
	store     buffer.Store
	pool      *router.Pool
	rt        *local.Runtime
	sender    *delivery.Sender
	metrics   *router.Metrics
	buffers   map[string]buffer.Buffer // by vertex path
	functions map[string]*function     // by function key
}

// function is one replica set: a Function, or an inline function vertex.
type function struct {
	key     string
	spec    *v1alpha1.FunctionSpec
	inputs  []buffer.Buffer // buffers of the running vertices it serves
	feeds   []string        // paths of the vertices whose events reach those vertices
	invoker *router.Invoker // set for Functions, which are invocable
}

// maxVertexInFlight caps a function vertex's concurrent deliveries.
const maxVertexInFlight = 1024

func (w *wiring) build(ctx context.Context, res Resources, ingress *router.Ingress) ([]*router.Dispatcher, error) {
	w.functions = map[string]*function{}
	for _, f := range res.Functions {
		key := f.Namespace + "/" + f.Name
		fn, err := w.startFunction(key, &f.Spec)
		if err != nil {
			return nil, err
		}
		fn.invoker = &router.Invoker{
			Target:            w.functionTarget(key, &f.Spec),
			Policy:            delivery.PolicyFor(f.Spec.Delivery),
			MaxWaiting:        int(*f.Spec.Scale.MaxWaiting),
			ActivationTimeout: f.Spec.Scale.ActivationTimeout.Duration,
		}
		ingress.Functions[key] = fn.invoker
	}
	for _, v := range res.Vertices {
		if v.Spec.Source != nil {
			continue
		}
		b, err := w.store.Open(ctx, bufferName(v))
		if err != nil {
			return nil, fmt.Errorf("vertex %s: %w", vertexPath(v), err)
		}
		w.buffers[vertexPath(v)] = b
	}
	var out []*router.Dispatcher
	for _, v := range res.Vertices {
		routes := w.routes(v)
		switch {
		case v.Spec.Source != nil:
			if v.Spec.Source.HTTP != nil {
				ingress.Sources[vertexPath(v)] = routes
			}
			continue
		case v.Spec.Lifecycle.DesiredPhase == v1alpha1.PhasePaused:
			continue
		}
		d, err := w.dispatcher(v, routes)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	w.linkFeeds(res.Vertices)
	return out, nil
}

// linkFeeds records, for every function, the vertices whose buffered
// events flow into the vertices it serves: their backlog wakes it ahead.
func (w *wiring) linkFeeds(vertices []*v1alpha1.Vertex) {
	byPath := map[string]*v1alpha1.Vertex{}
	for _, v := range vertices {
		byPath[vertexPath(v)] = v
	}
	for _, u := range vertices {
		if u.Spec.Source != nil || u.Spec.Lifecycle.DesiredPhase == v1alpha1.PhasePaused {
			continue // a source has no backlog of its own; a paused vertex sends nothing
		}
		for _, e := range u.Spec.Edges {
			to := byPath[u.Namespace+"/"+u.Spec.PipelineName+"/"+e.To]
			if to == nil || to.Spec.Function == nil {
				continue
			}
			if fn := w.functions[functionKey(to)]; fn != nil {
				fn.feeds = append(fn.feeds, vertexPath(u))
			}
		}
	}
}

// startFunction defines key's replica set and starts its minimum of
// replicas; the scaler does the rest.
func (w *wiring) startFunction(key string, spec *v1alpha1.FunctionSpec) (*function, error) {
	if fn := w.functions[key]; fn != nil {
		return fn, nil
	}
	ps, err := processSpec(key, spec.Container, w.cfg.Grace)
	if err != nil {
		return nil, err
	}
	if err := w.rt.Apply(key, ps); err != nil {
		return nil, fmt.Errorf("function %s: %w", key, err)
	}
	w.pool.SetConcurrency(key, int(*spec.Scale.ContainerConcurrency))
	if err := w.rt.SetReplicas(key, int(*spec.Scale.Min)); err != nil {
		return nil, fmt.Errorf("function %s: %w", key, err)
	}
	fn := &function{key: key, spec: spec}
	w.functions[key] = fn
	return fn, nil
}

func (w *wiring) functionTarget(key string, spec *v1alpha1.FunctionSpec) *router.FunctionTarget {
	return &router.FunctionTarget{
		Function: key,
		Pool:     w.pool,
		Sender:   w.sender,
		Timeout:  spec.Delivery.Timeout.Duration,
		Batch:    spec.Batch != nil,
		// Synchronous invokes use their own (the activator's) wait.
		ActivationTimeout: spec.Scale.ActivationTimeout.Duration,
	}
}

func (w *wiring) routes(v *v1alpha1.Vertex) []router.Route {
	var routes []router.Route
	for _, e := range v.Spec.Edges {
		to := v.Namespace + "/" + v.Spec.PipelineName + "/" + e.To
		routes = append(routes, router.Route{To: to, Filter: e.Filter, Out: w.buffers[to]})
	}
	return routes
}

func (w *wiring) dispatcher(v *v1alpha1.Vertex, routes []router.Route) (*router.Dispatcher, error) {
	path := vertexPath(v)
	d := &router.Dispatcher{
		Vertex:  path,
		In:      w.buffers[path],
		Routes:  routes,
		Grace:   w.cfg.Grace,
		Log:     w.cfg.Log,
		Metrics: w.metrics,
	}
	var dl *v1alpha1.Destination
	switch {
	case v.Spec.Function != nil:
		spec := v.Spec.Function
		key := functionKey(v)
		fn, err := w.startFunction(key, spec)
		if err != nil {
			return nil, err
		}
		fn.inputs = append(fn.inputs, d.In)
		d.Target = w.functionTarget(key, spec)
		d.Policy = delivery.PolicyFor(spec.Delivery)
		requests := int(*spec.Scale.Max) * int(*spec.Scale.ContainerConcurrency)
		d.MaxInFlight = min(requests, maxVertexInFlight)
		if spec.Batch != nil {
			// Every replica slot takes a whole batch.
			d.BatchSize = int(spec.Batch.MaxSize)
			d.BatchWait = spec.Batch.MaxWait.Duration
			d.MaxInFlight = min(requests, maxVertexInFlight) * d.BatchSize
		}
		dl = spec.Delivery.DeadLetterSink
	case v.Spec.Sink != nil:
		var policy v1alpha1.Delivery
		if v.Spec.Sink.Delivery != nil {
			policy = *v.Spec.Sink.Delivery
		}
		d.Policy = delivery.PolicyFor(policy)
		dl = policy.DeadLetterSink
		switch {
		case v.Spec.Sink.Log != nil:
			d.Target = logsink.New(path, w.cfg.Stdout)
		case v.Spec.Sink.HTTP != nil:
			d.Target = &httpsink.Sink{URL: v.Spec.Sink.HTTP.URI, Sender: w.sender, Timeout: d.Policy.Timeout}
		default:
			return nil, fmt.Errorf("vertex %s: sink has no kind", path)
		}
	default:
		return nil, fmt.Errorf("vertex %s: neither function nor sink", path)
	}
	var err error
	if d.DeadLetter, err = w.deadLetter(v, dl); err != nil {
		return nil, err
	}
	return d, nil
}

func (w *wiring) deadLetter(v *v1alpha1.Vertex, dl *v1alpha1.Destination) (router.DeadLetter, error) {
	switch {
	case dl == nil:
		return nil, nil
	case dl.Ref != nil:
		to := v.Namespace + "/" + v.Spec.PipelineName + "/" + dl.Ref.Name
		b, ok := w.buffers[to]
		if !ok || dl.Ref.Kind != "Vertex" {
			return nil, fmt.Errorf("vertex %s: deadLetterSink.ref must name a sink Vertex of the pipeline, not %s %q", vertexPath(v), dl.Ref.Kind, dl.Ref.Name)
		}
		return &router.BufferDeadLetter{To: to, Out: b}, nil
	default:
		return &router.HTTPDeadLetter{URL: dl.URI, Sender: w.sender, Timeout: v1alpha1.DefaultDeliveryTimeout}, nil
	}
}

// backlogCollector exposes every vertex's buffer backlog as a gauge.
func (w *wiring) backlogCollector() prometheus.Collector {
	return &backlog{buffers: w.buffers}
}

type backlog struct{ buffers map[string]buffer.Buffer }

var backlogDesc = prometheus.NewDesc("freshet_vertex_backlog", "Events written to a vertex's buffer and not yet acked.", []string{"vertex"}, nil)

func (b *backlog) Describe(ch chan<- *prometheus.Desc) { ch <- backlogDesc }

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	for path, buf := range b.buffers {
		n, err := buf.Pending(context.Background())
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(n), path)
	}
}
