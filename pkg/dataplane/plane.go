// Package dataplane runs Freshet's data plane from resources: a buffer in
// front of every vertex, a dispatcher per running vertex, the HTTP sources
// and Function invokers the ingress serves, and a scaler entry per
// function. Apply takes the whole desired set each time and changes only
// what differs, so freshet dev (one Apply of static YAML) and the
// Kubernetes activator (an Apply on every watched change) share one code
// path.
package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/scaler"
	"github.com/freshetproj/freshet/pkg/sink"
	"github.com/freshetproj/freshet/pkg/source"
)

// Resources are what runs: Functions (each invocable and running its
// replicas) and the Vertices of every Pipeline.
type Resources struct {
	Functions []*v1alpha1.Function
	Vertices  []*v1alpha1.Vertex
}

// Function is one replica set the plane asks its Runner to run: a
// Function, or the function of a vertex.
type Function struct {
	// Key names it to the Pool, the scaler and the Runner.
	Key string
	// Namespace and Name are those of the Function or Vertex object it
	// comes from; Vertex says which.
	Namespace, Name string
	Vertex          bool
	// Spec is defaulted.
	Spec *v1alpha1.FunctionSpec
}

// Runner runs functions' replicas: local processes, or (in Kubernetes) the
// controller's Deployments, reached through the scale subresource.
type Runner interface {
	// Run makes fn run, starting its minimum of replicas if it is new; the
	// scaler decides after that.
	Run(fn Function) error
	// Stop stops running the function key.
	Stop(key string) error
	scaler.Replicas
}

// Config is what a Plane works with.
type Config struct {
	Store   buffer.Store
	Pool    *router.Pool
	Ingress *router.Ingress
	Scaler  *scaler.Loop
	Runner  Runner
	Sender  *delivery.Sender
	Metrics *router.Metrics
	// OpenSource connects a source vertex other than HTTP (which the plane
	// serves itself) to its system. Nil: only HTTP sources run.
	OpenSource func(v *v1alpha1.Vertex) (source.Source, error)
	// OpenSink connects a sink vertex other than log or HTTP (which the
	// plane writes itself) to its system. Nil: only log and HTTP sinks run.
	OpenSink func(v *v1alpha1.Vertex) (sink.Sink, error)
	// FunctionKey names the replica set that serves function vertex v.
	FunctionKey func(v *v1alpha1.Vertex) string
	// Stdout receives the log sinks' JSON lines. Default os.Stdout.
	Stdout io.Writer
	// Grace bounds how long a stopped dispatcher's in-flight deliveries
	// may finish.
	Grace time.Duration
	Log   *slog.Logger
}

// maxVertexInFlight caps a function vertex's concurrent deliveries.
const maxVertexInFlight = 1024

// Plane is the running data plane.
type Plane struct {
	cfg Config

	apply sync.Mutex // serialises Apply and Close

	mu          sync.Mutex // guards what follows
	base        context.Context
	cancel      context.CancelFunc
	buffers     map[string]buffer.Buffer // by vertex path
	dispatchers map[string]*running      // by vertex path
	pumps       map[string]*running      // by source vertex path
	functions   map[string]*function     // by key
	wg          sync.WaitGroup           // running dispatchers and pumps
	closed      bool
}

// running is one dispatcher or pump and what it was built from.
type running struct {
	built  v1alpha1.VertexSpec // the spec without what it does not use
	key    string              // a dispatcher's function's key
	source source.Source       // a pump's source
	cancel context.CancelFunc
}

// function is the state of one replica set.
type function struct {
	fn       Function
	invoker  *router.Invoker // for Functions, which are invocable
	inputs   []buffer.Buffer // buffers of the running vertices it serves
	upstream []backlogger    // buffers of the vertices (or sources) feeding those
	rate     rate            // touched only by the scaler's loop
}

// New returns a Plane that runs nothing yet.
func New(cfg Config) *Plane {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	base, cancel := context.WithCancel(context.Background())
	return &Plane{
		cfg:         cfg,
		base:        base,
		cancel:      cancel,
		buffers:     map[string]buffer.Buffer{},
		dispatchers: map[string]*running{},
		pumps:       map[string]*running{},
		functions:   map[string]*function{},
	}
}

// ErrClosed is returned by Apply after Close.
var ErrClosed = errors.New("data plane is closed")

// Apply makes the plane run res and nothing else. Objects with an invalid
// spec are left out and reported in the returned error, as are parts that
// failed to start; everything else is applied. If a buffer cannot be
// opened (the store is unreachable), nothing changes and Apply returns
// that error: the caller applies again later.
func (p *Plane) Apply(ctx context.Context, res Resources) error {
	p.apply.Lock()
	defer p.apply.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrClosed
	}
	want, errs := p.plan(res)
	if err := p.openBuffers(ctx, want.buffers); err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, p.runFunctions(want)...)
	errs = append(errs, p.runDispatchers(want)...)
	errs = append(errs, p.runPumps(want)...)
	p.link(want)
	p.cfg.Ingress.SetTable(p.table(want))
	return errors.Join(errs...)
}

// Close stops every dispatcher and waits for their in-flight deliveries
// (each up to Grace). Functions keep running: their Runner owns them.
func (p *Plane) Close() {
	p.apply.Lock()
	defer p.apply.Unlock()
	p.mu.Lock()
	p.closed = true
	p.cancel()
	p.mu.Unlock()
	p.wg.Wait()
}

// Pending is the backlog of the vertex at path ("namespace/pipeline/
// vertex"): of the buffer in front of it, or for a running source vertex,
// what waits in its system. False when the plane has neither.
func (p *Plane) Pending(ctx context.Context, path string) (int64, bool, error) {
	p.mu.Lock()
	b, r := p.buffers[path], p.pumps[path]
	p.mu.Unlock()
	switch {
	case b != nil:
		n, err := b.Pending(ctx)
		return n, true, err
	case r != nil:
		n, err := r.source.Backlog(ctx)
		return n, true, err
	}
	return 0, false, nil
}

// openBuffers opens the buffers of paths the plane does not have yet.
func (p *Plane) openBuffers(ctx context.Context, paths map[string]string) error {
	for path, name := range paths {
		p.mu.Lock()
		_, ok := p.buffers[path]
		p.mu.Unlock()
		if ok {
			continue
		}
		b, err := p.cfg.Store.Open(ctx, name)
		if err != nil {
			return fmt.Errorf("open the buffer of vertex %s: %w", path, err)
		}
		p.mu.Lock()
		p.buffers[path] = b
		p.mu.Unlock()
	}
	return nil
}

func (p *Plane) buffer(path string) buffer.Buffer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buffers[path]
}
