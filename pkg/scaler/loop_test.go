package scaler

import (
	"context"
	"sync"
	"testing"
	"time"
)

// replicas records what the loop applies; a stand-in for a runtime in this
// unit test of the loop's own logic.
type replicas struct {
	mu  sync.Mutex
	set map[string]int
	hit chan string
}

func (r *replicas) SetReplicas(name string, n int) error {
	r.mu.Lock()
	r.set[name] = n
	r.mu.Unlock()
	r.hit <- name
	return nil
}

func (r *replicas) Status(name string) (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set[name], r.set[name]
}

// TestLoopPokeActsAtOnce: a poke applies a wake decision without waiting
// for the next tick, and the tick applies a later scale-down.
func TestLoopPokeActsAtOnce(t *testing.T) {
	rs := &replicas{set: map[string]int{}, hit: make(chan string, 10)}
	var mu sync.Mutex
	backlog := int64(0)
	loop := &Loop{Replicas: rs, Interval: time.Hour} // ticks never come: only pokes act
	loop.Add("fn", Spec{Min: 0, Max: 5, TargetBacklog: 10, IdleTimeout: 0}, 0, func(context.Context) (Observation, error) {
		mu.Lock()
		defer mu.Unlock()
		return Observation{Backlog: backlog}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	defer func() { cancel(); <-done }()

	mu.Lock()
	backlog = 35
	mu.Unlock()
	loop.Poke("fn")
	select {
	case <-rs.hit:
	case <-time.After(10 * time.Second):
		t.Fatal("a poke did not lead to a decision")
	}
	if _, n := rs.Status("fn"); n != 4 {
		t.Fatalf("replicas %d after a backlog of 35 with target 10, want 4", n)
	}
	loop.Poke("unknown") // ignored, no panic
}

// TestLoopTicks: without pokes, the loop evaluates on its interval.
func TestLoopTicks(t *testing.T) {
	rs := &replicas{set: map[string]int{}, hit: make(chan string, 10)}
	loop := &Loop{Replicas: rs, Interval: 20 * time.Millisecond}
	loop.Add("fn", Spec{Min: 2, Max: 2}, 0, func(context.Context) (Observation, error) { return Observation{}, nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-rs.hit:
	case <-time.After(10 * time.Second):
		t.Fatal("no decision on the interval")
	}
	if _, n := rs.Status("fn"); n != 2 {
		t.Fatalf("replicas %d, want the fixed 2", n)
	}
}

// TestLoopRemove: a removed function is no longer evaluated, even when
// poked, and Has tracks membership.
func TestLoopRemove(t *testing.T) {
	rs := &replicas{set: map[string]int{}, hit: make(chan string, 10)}
	loop := &Loop{Replicas: rs, Interval: time.Hour}
	observed := make(chan string, 10)
	obs := func(name string) Observer {
		return func(context.Context) (Observation, error) {
			observed <- name
			return Observation{Backlog: 50}, nil
		}
	}
	spec := Spec{Min: 0, Max: 5, TargetBacklog: 10}
	loop.Add("gone", spec, 0, obs("gone"))
	loop.Add("kept", spec, 0, obs("kept"))
	loop.Remove("gone")
	if loop.Has("gone") || !loop.Has("kept") {
		t.Fatalf("Has(gone)=%v Has(kept)=%v after removing gone", loop.Has("gone"), loop.Has("kept"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); loop.Run(ctx) }()
	defer func() { cancel(); <-done }()

	loop.Poke("gone")
	loop.Poke("kept")
	select {
	case name := <-rs.hit:
		if name != "kept" {
			t.Fatalf("scaled %q, want only kept", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the poke of kept led to no decision")
	}
	cancel()
	<-done
	close(observed)
	for name := range observed {
		if name == "gone" {
			t.Fatal("a removed function was observed")
		}
	}
}
