package router

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Pool tracks the ready replicas of every function and hands out one with
// spare capacity per request: at most containerConcurrency requests in
// flight per replica, least-loaded first. It implements the interface the
// runtimes use to announce replicas and drain them.
type Pool struct {
	// Wake, if set, is called (outside the pool's lock, at most once per
	// wait) when a request has to wait because the function has no ready
	// replica: the scaler uses it to wake the function at once. (Waiting
	// for a busy replica is seen by the scaler's regular evaluation.)
	Wake func(fn string)
	// ColdStart, if set, is told how long a cold function took from the
	// first request that found it with no ready replica to that request's
	// reply (the release of its slot). It is called with the pool's lock
	// held and must not call the pool.
	ColdStart func(fn string, d time.Duration)
	// Now is the clock. Default time.Now.
	Now func() time.Time

	mu  sync.Mutex
	fns map[string]*replicaSet
}

type replicaSet struct {
	concurrency int
	ready       []*replica          // replicas that take new requests
	byURL       map[string]*replica // ready ones and withdrawn ones still busy
	next        int                 // round-robin start among equally loaded replicas
	changed     chan struct{}       // closed and replaced on a change someone waits for
	waiters     int                 // goroutines waiting on changed
	inflight    int
	completed   uint64    // slots released, for the processing rate
	coldSince   time.Time // when a request found no ready replica; zero when warm
	coldLease   *replica  // the replica that took that first request, until it replies
}

type replica struct {
	url      string
	inflight int
	ready    bool
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{fns: map[string]*replicaSet{}} }

func (p *Pool) set(fn string) *replicaSet {
	s := p.fns[fn]
	if s == nil {
		s = &replicaSet{concurrency: 1, byURL: map[string]*replica{}, changed: make(chan struct{})}
		p.fns[fn] = s
	}
	return s
}

// notify wakes every waiter; without waiters it costs nothing, which keeps
// the release of a slot cheap on the hot path.
func (s *replicaSet) notify() {
	if s.waiters == 0 {
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.waiters = 0
}

// wait returns the channel closed at the next notify, counting the caller
// as a waiter. Call it with the pool's lock held.
func (s *replicaSet) wait() <-chan struct{} {
	s.waiters++
	return s.changed
}

// SetConcurrency sets how many requests one replica of fn takes at a time
// (at least 1).
func (p *Pool) SetConcurrency(fn string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.set(fn)
	s.concurrency = max(n, 1)
	s.notify()
}

// SetEndpoints replaces the set of ready replicas of fn. Replicas left out
// take no new requests; those still busy are tracked until idle.
func (p *Pool) SetEndpoints(fn string, urls []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.set(fn)
	keep := make(map[string]bool, len(urls))
	s.ready = s.ready[:0]
	for _, u := range urls {
		keep[u] = true
		r := s.byURL[u]
		if r == nil {
			r = &replica{url: u}
			s.byURL[u] = r
		}
		r.ready = true
		s.ready = append(s.ready, r)
	}
	for u, r := range s.byURL {
		if !keep[u] {
			r.ready = false
			if r.inflight == 0 {
				delete(s.byURL, u)
			}
		}
	}
	s.notify()
}

func (p *Pool) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// TryAcquire takes a slot on a ready replica of fn if one is free now,
// without waiting.
func (p *Pool) TryAcquire(fn string) (string, func(), bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.set(fn)
	r := s.pick()
	if r == nil {
		return "", nil, false
	}
	return r.url, p.take(fn, s, r), true
}

// take gives the caller a slot on r. Call with the lock held.
func (p *Pool) take(fn string, s *replicaSet, r *replica) func() {
	r.inflight++
	s.inflight++
	if !s.coldSince.IsZero() && s.coldLease == nil {
		s.coldLease = r
	}
	return p.releaser(fn, r)
}

// Acquire waits for a ready replica of fn with spare capacity and returns
// its URL and the function that gives the slot back (call it exactly once).
func (p *Pool) Acquire(ctx context.Context, fn string) (string, func(), error) {
	woke := false
	for {
		p.mu.Lock()
		s := p.set(fn)
		if r := s.pick(); r != nil {
			release := p.take(fn, s, r)
			p.mu.Unlock()
			return r.url, release, nil
		}
		cold := len(s.ready) == 0
		if cold && s.coldSince.IsZero() {
			s.coldSince = p.now()
		}
		changed := s.wait()
		p.mu.Unlock()
		if cold && !woke && p.Wake != nil {
			woke = true
			p.Wake(fn)
		}
		select {
		case <-ctx.Done():
			return "", nil, fmt.Errorf("waiting for a ready replica of %s: %w", fn, ctx.Err())
		case <-changed:
		}
	}
}

// pick returns the least-loaded ready replica with spare capacity, starting
// the scan after the last pick so equal loads spread round-robin.
func (s *replicaSet) pick() *replica {
	var best *replica
	n := len(s.ready)
	for i := 0; i < n; i++ {
		r := s.ready[(s.next+i)%n]
		if r.inflight < s.concurrency && (best == nil || r.inflight < best.inflight) {
			best = r
		}
	}
	if n > 0 {
		s.next = (s.next + 1) % n
	}
	return best
}

func (p *Pool) releaser(fn string, r *replica) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			s := p.fns[fn]
			r.inflight--
			s.inflight--
			s.completed++
			if s.coldLease == r {
				if p.ColdStart != nil {
					p.ColdStart(fn, p.now().Sub(s.coldSince))
				}
				s.coldSince, s.coldLease = time.Time{}, nil
			}
			if !r.ready && r.inflight == 0 && s.byURL[r.url] == r {
				delete(s.byURL, r.url)
			}
			s.notify()
		})
	}
}

// WaitIdle returns when no request is in flight to url of fn, or ctx ends.
func (p *Pool) WaitIdle(ctx context.Context, fn, url string) error {
	for {
		p.mu.Lock()
		s := p.set(fn)
		r := s.byURL[url]
		if r == nil || r.inflight == 0 {
			p.mu.Unlock()
			return nil
		}
		changed := s.wait()
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("draining %s of %s: %w", url, fn, ctx.Err())
		case <-changed:
		}
	}
}

// Completed is the number of requests to replicas of fn that have ended.
func (p *Pool) Completed(fn string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.fns[fn]; s != nil {
		return s.completed
	}
	return 0
}

// InFlight is the number of requests in flight to replicas of fn.
func (p *Pool) InFlight(fn string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.fns[fn]; s != nil {
		return s.inflight
	}
	return 0
}
