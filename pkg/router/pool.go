package router

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Pool tracks the ready replicas of every function and hands out one with
// spare capacity per request: at most containerConcurrency requests in
// flight per replica, least-loaded first. Requests that must wait are served
// first come, first served: a freed slot goes straight to the oldest waiter.
// It implements the interface the runtimes use to announce replicas and
// drain them.
type Pool struct {
	// Wake, if set, is called (outside the pool's lock) when a request has
	// to wait: at once for each request that finds the function with no
	// ready replica, and at most every WakeInterval while requests wait for
	// busy replicas. The scaler uses it to act without waiting for its tick.
	Wake func(fn string)
	// WakeInterval bounds how often waits for busy replicas call Wake.
	// Default 100ms.
	WakeInterval time.Duration
	// ColdStart, if set, is told how long a cold function took from the
	// first request that found it with no ready replica to that request's
	// reply (the release of its slot). It is called outside the pool's lock.
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
	queue       []*waiter           // requests waiting for a slot, oldest first
	idle        chan struct{}       // closed and replaced when a withdrawn replica may have gone idle
	inflight    int
	completed   uint64    // slots released, for the processing rate
	lastWake    time.Time // when a wait for busy replicas last called Wake
	coldSince   time.Time // when a request found no ready replica; zero when warm
	coldWaiter  *waiter   // the request that found it cold, until it is served or leaves
	coldLease   *lease    // that request's slot, until it replies
}

type replica struct {
	url      string
	inflight int
	ready    bool
}

// waiter is one request waiting for a slot; the pool sends it the slot.
type waiter struct {
	got chan *lease // buffered: the pool never blocks handing over
}

// lease is one slot on one replica.
type lease struct {
	r        *replica
	released bool
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{fns: map[string]*replicaSet{}} }

func (p *Pool) set(fn string) *replicaSet {
	s := p.fns[fn]
	if s == nil {
		s = &replicaSet{concurrency: 1, byURL: map[string]*replica{}, idle: make(chan struct{})}
		p.fns[fn] = s
	}
	return s
}

func (p *Pool) wakeInterval() time.Duration {
	if p.WakeInterval > 0 {
		return p.WakeInterval
	}
	return 100 * time.Millisecond
}

func (p *Pool) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// SetConcurrency sets how many requests one replica of fn takes at a time
// (at least 1).
func (p *Pool) SetConcurrency(fn string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.set(fn)
	s.concurrency = max(n, 1)
	s.serveQueue()
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
	s.serveQueue()
	s.signalIdle()
}

// TryAcquire takes a slot on a ready replica of fn if one is free now and
// nobody is waiting for one, without waiting.
func (p *Pool) TryAcquire(fn string) (string, func(), bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.set(fn)
	if len(s.queue) > 0 {
		return "", nil, false
	}
	r := s.pick()
	if r == nil {
		return "", nil, false
	}
	l := s.take(r)
	return r.url, p.releaser(fn, l), true
}

// Acquire waits for a slot on a ready replica of fn and returns the
// replica's URL and the function that gives the slot back (call it exactly
// once). Waiting requests are served in arrival order.
func (p *Pool) Acquire(ctx context.Context, fn string) (string, func(), error) {
	p.mu.Lock()
	s := p.set(fn)
	if len(s.queue) == 0 {
		if r := s.pick(); r != nil {
			l := s.take(r)
			p.mu.Unlock()
			return r.url, p.releaser(fn, l), nil
		}
	}
	w := &waiter{got: make(chan *lease, 1)}
	s.queue = append(s.queue, w)
	now := p.now()
	cold := len(s.ready) == 0
	if cold && s.coldSince.IsZero() {
		s.coldSince, s.coldWaiter = now, w
	}
	wake := cold || now.Sub(s.lastWake) >= p.wakeInterval()
	if wake && !cold {
		s.lastWake = now
	}
	p.mu.Unlock()
	if wake && p.Wake != nil {
		p.Wake(fn)
	}
	select {
	case l := <-w.got:
		return l.r.url, p.releaser(fn, l), nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	served := !s.dequeue(w)
	if s.coldWaiter == w && s.coldLease == nil {
		// The request that found the function cold gave up: nothing to
		// measure (a later one starts its own measurement).
		s.coldSince, s.coldWaiter = time.Time{}, nil
	}
	p.mu.Unlock()
	if served {
		// A slot was handed over just as the wait ended: pass it on.
		p.releaser(fn, <-w.got)()
	}
	return "", nil, fmt.Errorf("waiting for a ready replica of %s: %w", fn, ctx.Err())
}

// dequeue removes w from the queue; false if it is no longer there (it was
// served).
func (s *replicaSet) dequeue(w *waiter) bool {
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// serveQueue hands free slots to waiting requests, oldest first. Call it
// with the pool's lock held whenever capacity may have grown.
func (s *replicaSet) serveQueue() {
	for len(s.queue) > 0 {
		r := s.pick()
		if r == nil {
			return
		}
		w := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		w.got <- s.takeFor(r, w)
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

func (s *replicaSet) take(r *replica) *lease { return s.takeFor(r, nil) }

// takeFor gives a slot on r to w (nil: a request that did not wait).
func (s *replicaSet) takeFor(r *replica, w *waiter) *lease {
	r.inflight++
	s.inflight++
	l := &lease{r: r}
	if w != nil && w == s.coldWaiter {
		s.coldLease, s.coldWaiter = l, nil
	}
	return l
}

func (s *replicaSet) signalIdle() {
	close(s.idle)
	s.idle = make(chan struct{})
}

func (p *Pool) releaser(fn string, l *lease) func() {
	return func() {
		p.mu.Lock()
		if l.released {
			p.mu.Unlock()
			return
		}
		l.released = true
		s := p.fns[fn]
		r := l.r
		r.inflight--
		s.inflight--
		s.completed++
		var cold time.Duration
		if s.coldLease == l {
			cold = p.now().Sub(s.coldSince)
			s.coldSince, s.coldLease = time.Time{}, nil
		}
		if !r.ready && r.inflight == 0 {
			if s.byURL[r.url] == r {
				delete(s.byURL, r.url)
			}
			s.signalIdle()
		}
		s.serveQueue()
		p.mu.Unlock()
		if cold > 0 && p.ColdStart != nil {
			p.ColdStart(fn, cold)
		}
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
		idle := s.idle
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("draining %s of %s: %w", url, fn, ctx.Err())
		case <-idle:
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

// Waiting is the number of requests waiting for a slot on fn.
func (p *Pool) Waiting(fn string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.fns[fn]; s != nil {
		return len(s.queue)
	}
	return 0
}
