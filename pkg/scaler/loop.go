package scaler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Replicas is what the loop drives: the local process runtime, or a
// Kubernetes scale subresource.
type Replicas interface {
	SetReplicas(name string, n int) error
	// Status reports the replicas asked for and those ready.
	Status(name string) (desired, ready int)
}

// Observer measures one function. The loop fills in Current and Ready.
type Observer func(ctx context.Context) (Observation, error)

// Loop evaluates every function's decision at least once per Interval, and
// at once when poked, and applies it.
type Loop struct {
	Replicas Replicas
	// Interval between evaluations of every function. Default 1s.
	Interval time.Duration
	// Now is the clock. Default time.Now.
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *Metrics

	mu      sync.Mutex
	targets map[string]*target
	poked   map[string]bool
	wake    chan struct{} // a token when poked is not empty
}

type target struct {
	name    string
	decider *Decider
	observe Observer
	current int
}

// SpecFor turns a defaulted v1alpha1.Scale into a decision Spec.
func SpecFor(s v1alpha1.Scale) Spec {
	s.SetDefaults()
	spec := Spec{
		Min:                  int(*s.Min),
		Max:                  int(*s.Max),
		TargetBacklog:        int(*s.TargetBacklog),
		ContainerConcurrency: int(*s.ContainerConcurrency),
		ScaleDownWindow:      s.ScaleDownWindow.Duration,
		IdleTimeout:          s.IdleTimeout.Duration,
	}
	if s.TargetSeconds != nil {
		spec.TargetSeconds = s.TargetSeconds.Duration
	}
	return spec
}

func (l *Loop) init() {
	if l.targets == nil {
		l.targets = map[string]*target{}
		l.poked = map[string]bool{}
		l.wake = make(chan struct{}, 1)
	}
}

func (l *Loop) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Add starts scaling name, which runs current replicas now.
func (l *Loop) Add(name string, spec Spec, current int, observe Observer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	l.targets[name] = &target{name: name, decider: NewDecider(spec), observe: observe, current: current}
}

// Remove stops scaling name; its replicas stay as they are.
func (l *Loop) Remove(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	delete(l.targets, name)
	delete(l.poked, name)
}

// Has reports whether name is being scaled.
func (l *Loop) Has(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.targets[name]
	return ok
}

// Poke asks for an evaluation of name now (a cold function got work). It
// never blocks; pokes coalesce.
func (l *Loop) Poke(name string) {
	l.mu.Lock()
	l.init()
	l.poked[name] = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run evaluates until ctx ends.
func (l *Loop) Run(ctx context.Context) {
	l.mu.Lock()
	l.init()
	l.mu.Unlock()
	interval := l.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.evaluate(ctx, l.all())
		case <-l.wake:
			l.evaluate(ctx, l.takePoked())
		}
	}
}

func (l *Loop) all() []*target {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*target, 0, len(l.targets))
	for _, t := range l.targets {
		out = append(out, t)
	}
	return out
}

func (l *Loop) takePoked() []*target {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*target
	for name := range l.poked {
		if t := l.targets[name]; t != nil {
			out = append(out, t)
		}
		delete(l.poked, name)
	}
	return out
}

// evaluate decides and applies for each target. Only Run calls it, so a
// target's state is never touched concurrently.
func (l *Loop) evaluate(ctx context.Context, targets []*target) {
	for _, t := range targets {
		if err := l.step(ctx, t); err != nil && l.Log != nil {
			l.Log.Warn("scale", "function", t.name, "error", err)
		}
	}
}

func (l *Loop) step(ctx context.Context, t *target) error {
	obs, err := t.observe(ctx)
	if err != nil {
		return fmt.Errorf("observe: %w", err)
	}
	_, ready := l.Replicas.Status(t.name)
	obs.Current, obs.Ready = t.current, ready
	d := t.decider.Decide(l.now(), obs)
	l.Metrics.observe(t.name, obs, d.Desired)
	if l.Log != nil {
		l.Log.Debug("scale decision", "function", t.name, "desired", d.Desired, "current", obs.Current,
			"ready", obs.Ready, "backlog", obs.Backlog, "inflight", obs.InFlight, "waiting", obs.Waiting,
			"rate", obs.Rate, "upstream", obs.UpstreamBacklog, "reason", d.Reason)
	}
	if d.Desired == t.current {
		l.Metrics.decided(t.name, "hold")
		return nil
	}
	direction := "up"
	if d.Desired < t.current {
		direction = "down"
	}
	if err := l.Replicas.SetReplicas(t.name, d.Desired); err != nil {
		return fmt.Errorf("set replicas to %d: %w", d.Desired, err)
	}
	l.Metrics.decided(t.name, direction)
	if l.Log != nil {
		l.Log.Info("scaled", "function", t.name, "from", t.current, "to", d.Desired, "reason", d.Reason)
	}
	t.current = d.Desired
	return nil
}
