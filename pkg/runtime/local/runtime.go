package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// ErrClosed is returned by calls on a Runtime after Close.
var ErrClosed = errors.New("local runtime: closed")

// Runtime runs functions as local child processes. It is safe for concurrent use.
type Runtime struct {
	cfg    Config
	client *http.Client // health probes
	logMu  sync.Mutex   // serialises lines written to cfg.Log

	// hurry is cancelled when Close runs out of time: stopping replicas then skip the
	// rest of their drain and are killed at once.
	hurry       context.Context
	cancelHurry context.CancelFunc
	wg          sync.WaitGroup // one per replica goroutine

	mu      sync.Mutex
	funcs   map[string]*function
	closed  bool
	changed chan struct{} // closed and replaced whenever replica state changes
}

// New returns a Runtime that runs no functions yet.
func New(cfg Config) *Runtime {
	hurry, cancel := context.WithCancel(context.Background())
	return &Runtime{
		cfg:         cfg.withDefaults(),
		client:      newProbeClient(),
		hurry:       hurry,
		cancelHurry: cancel,
		funcs:       make(map[string]*function),
		changed:     make(chan struct{}),
	}
}

// Apply defines the function name, or redefines it. A new function has no replicas until
// SetReplicas. Redefining a function with a different spec rolls its replicas: new ones
// start with the new spec, and each old one is drained and stopped as a new one becomes
// ready. Redefining it with the same spec changes nothing.
func (r *Runtime) Apply(name string, spec ProcessSpec) error {
	spec = spec.withDefaults()
	if name == "" {
		return errors.New("local runtime: apply: function name is required")
	}
	if err := spec.validate(); err != nil {
		return fmt.Errorf("local runtime: apply function %s: %w", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("apply function %s: %w", name, ErrClosed)
	}
	f := r.funcs[name]
	if f == nil {
		r.funcs[name] = &function{name: name, spec: spec}
		return nil
	}
	if f.spec.equal(spec) {
		return nil
	}
	f.spec = spec
	f.gen++
	r.reconcileLocked(f)
	return nil
}

// SetReplicas sets how many replicas of function name should run. Extra replicas are
// stopped newest first (replicas that are not ready before ready ones), each drained
// before its process is signalled; SetReplicas does not wait for that, nor for new
// replicas to become ready (see WaitReady).
func (r *Runtime) SetReplicas(name string, n int) error {
	if n < 0 {
		return fmt.Errorf("local runtime: set replicas of function %s: negative count %d", name, n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("set replicas of function %s: %w", name, ErrClosed)
	}
	f := r.funcs[name]
	if f == nil {
		return fmt.Errorf("local runtime: set replicas of function %s: not defined", name)
	}
	f.desired = n
	r.reconcileLocked(f)
	return nil
}

// Status returns the desired replicas of function name and how many replicas of its
// current spec are ready and not stopping. While a changed spec rolls out, ready
// replicas of the old spec still take events but are not counted.
func (r *Runtime) Status(name string) (desired, ready int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.funcs[name]
	if f == nil {
		return 0, 0
	}
	return f.desired, f.readyLocked()
}

// WaitReady returns when at least n replicas of function name's current spec are ready
// (as counted by Status), or with an error when ctx ends first.
func (r *Runtime) WaitReady(ctx context.Context, name string, n int) error {
	for {
		r.mu.Lock()
		f, closed, changed := r.funcs[name], r.closed, r.changed
		ready := 0
		if f != nil {
			ready = f.readyLocked()
		}
		r.mu.Unlock()
		switch {
		case f == nil:
			return fmt.Errorf("local runtime: wait for function %s: not defined", name)
		case ready >= n:
			return nil
		case closed:
			return fmt.Errorf("wait for function %s: %w", name, ErrClosed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("local runtime: wait for %d ready replicas of function %s (%d ready): %w",
				n, name, ready, ctx.Err())
		}
	}
}

// Pids returns the process ids (each also its process group id) of the running replica
// processes of function name, stopping ones included, oldest replica first.
func (r *Runtime) Pids(name string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.funcs[name]
	if f == nil {
		return nil
	}
	var pids []int
	for _, rep := range f.replicas {
		if rep.pid != 0 {
			pids = append(pids, rep.pid)
		}
	}
	return pids
}

// Close stops every replica of every function, each drained as on scale-down, and
// returns when all their processes and the runtime's goroutines have ended. If ctx ends
// first, the remaining replicas are killed at once (SIGKILL), Close still waits for them,
// and returns an error. Later calls on the Runtime return ErrClosed.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	for _, f := range r.funcs {
		f.desired = 0
		r.reconcileLocked(f)
	}
	r.mu.Unlock()

	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		r.cancelHurry()
		return nil
	case <-ctx.Done():
		r.cancelHurry()
		<-done
		return fmt.Errorf("local runtime: close: drain cut short, replicas killed: %w", ctx.Err())
	}
}

// notifyLocked wakes everyone waiting for a state change.
func (r *Runtime) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// logf writes a note of the runtime about a replica to the log.
func (r *Runtime) logf(prefix, format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.cfg.Log, "%slocal runtime: "+format+"\n", append([]any{prefix}, args...)...)
}
