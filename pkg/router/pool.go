package router

import (
	"context"
	"fmt"
	"sync"
)

// Pool tracks the ready replicas of every function and hands out one with
// spare capacity per request: at most containerConcurrency requests in
// flight per replica, least-loaded first. It implements the interface the
// runtimes use to announce replicas and drain them.
type Pool struct {
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

// Acquire waits for a ready replica of fn with spare capacity and returns
// its URL and the function that gives the slot back (call it exactly once).
func (p *Pool) Acquire(ctx context.Context, fn string) (string, func(), error) {
	for {
		p.mu.Lock()
		s := p.set(fn)
		if r := s.pick(); r != nil {
			r.inflight++
			s.inflight++
			p.mu.Unlock()
			return r.url, p.releaser(fn, r), nil
		}
		changed := s.wait()
		p.mu.Unlock()
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

// InFlight is the number of requests in flight to replicas of fn.
func (p *Pool) InFlight(fn string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.fns[fn]; s != nil {
		return s.inflight
	}
	return 0
}
