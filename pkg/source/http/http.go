// Package http is the HTTP source: events the router's ingress takes from
// POST /pipelines/<namespace>/<pipeline>/<vertex>. Submit holds the
// request until its events are durably buffered (acked) and the ingress
// answers 202; a nack or a close answers 503, and the client sends again.
// So the HTTP client is the system that redelivers, and the suite of
// package source holds for HTTP as for Kafka or SQS.
package http

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// DefaultMaxWaiting bounds the events submitted and not yet read.
const DefaultMaxWaiting = 10000

// ErrBusy is Submit's answer when MaxWaiting events already wait.
var ErrBusy = errors.New("too many events are waiting to be buffered")

// Source is one HTTP source vertex.
type Source struct {
	// MaxWaiting bounds the events submitted and not yet read; more get
	// ErrBusy. Default DefaultMaxWaiting.
	MaxWaiting int

	mu      sync.Mutex
	queue   []*message            // submitted, not yet read
	reading map[*message]struct{} // read, not yet settled
	arrived chan struct{}         // a token when queue became non-empty
	closed  bool
	unacked atomic.Int64 // submitted and not yet settled
}

// New returns an open Source.
func New() *Source {
	return &Source{arrived: make(chan struct{}, 1), reading: map[*message]struct{}{}}
}

// request is one Submit call: answered once all its events are acked, or
// at the first nack.
type request struct {
	left atomic.Int32
	done chan error // buffered 1: the first settlement answers
	once sync.Once
}

func (r *request) finish(err error) {
	r.once.Do(func() { r.done <- err })
}

type message struct {
	e       *cloudevent.Event
	req     *request
	src     *Source
	settled atomic.Bool
}

func (m *message) Event() *cloudevent.Event { return m.e }

// Ack counts the event durable; the request is answered when all are.
func (m *message) Ack(context.Context) error {
	if !m.settle() {
		return m.src.settledErr()
	}
	if m.req.left.Add(-1) == 0 {
		m.req.finish(nil)
	}
	return nil
}

// Nack answers the request 503 (the client sends again); delay becomes
// its Retry-After.
func (m *message) Nack(_ context.Context, delay time.Duration) error {
	if !m.settle() {
		return m.src.settledErr()
	}
	m.req.finish(&NotStoredError{RetryAfter: delay})
	return nil
}

// Reject answers the request with reason (the ingress answers 413 for a
// buffer.ErrTooLarge).
func (m *message) Reject(_ context.Context, reason error) error {
	if !m.settle() {
		return m.src.settledErr()
	}
	m.req.finish(reason)
	return nil
}

// settle marks m settled, once; false if it already was.
func (m *message) settle() bool {
	if !m.settled.CompareAndSwap(false, true) {
		return false
	}
	m.src.unacked.Add(-1)
	m.src.mu.Lock()
	delete(m.src.reading, m)
	m.src.mu.Unlock()
	return true
}

// settledErr is what settling a settled message returns: ErrClosed if
// Close settled it.
func (s *Source) settledErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return source.ErrClosed
	}
	return nil
}

// NotStoredError is Submit's answer when the events were not buffered; the
// client should send them again after RetryAfter.
type NotStoredError struct{ RetryAfter time.Duration }

func (e *NotStoredError) Error() string { return "the events could not be stored" }

// Submit hands events to the source and waits until they are all durably
// buffered (nil), or one could not be (a *NotStoredError, or the reason it
// was rejected, such as buffer.ErrTooLarge), the source closes
// (source.ErrClosed), MaxWaiting events already wait (ErrBusy) or ctx
// ends. Events already handed over are buffered all the same; a
// client that sends them again is deduplicated.
func (s *Source) Submit(ctx context.Context, events []*cloudevent.Event) error {
	if len(events) == 0 {
		return nil
	}
	req := &request{done: make(chan error, 1)}
	req.left.Store(int32(len(events)))
	s.mu.Lock()
	switch limit := s.maxWaiting(); {
	case s.closed:
		s.mu.Unlock()
		return source.ErrClosed
	case len(s.queue) > 0 && len(s.queue)+len(events) > limit:
		s.mu.Unlock()
		return ErrBusy
	}
	for _, e := range events {
		s.queue = append(s.queue, &message{e: e, req: req, src: s})
	}
	s.unacked.Add(int64(len(events)))
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Source) maxWaiting() int {
	if s.MaxWaiting > 0 {
		return s.MaxWaiting
	}
	return DefaultMaxWaiting
}

// Read returns up to max submitted events, waiting up to maxWait for one.
func (s *Source) Read(ctx context.Context, max int, maxWait time.Duration) ([]source.Message, error) {
	t := time.NewTimer(maxWait)
	defer t.Stop()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, source.ErrClosed
		}
		if n := min(max, len(s.queue)); n > 0 {
			out := make([]source.Message, n)
			for i, m := range s.queue[:n] {
				out[i] = m
				s.reading[m] = struct{}{}
			}
			s.queue = append(s.queue[:0], s.queue[n:]...)
			s.mu.Unlock()
			return out, nil
		}
		s.mu.Unlock()
		select {
		case <-s.arrived:
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Backlog is the number of events submitted and not yet settled.
func (s *Source) Backlog(context.Context) (int64, error) { return s.unacked.Load(), nil }

// Close answers source.ErrClosed to every request with an event not yet
// settled, read or not: its client sends it again.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := s.queue
	for m := range s.reading {
		open = append(open, m)
	}
	s.queue, s.reading = nil, nil
	s.mu.Unlock()
	for _, m := range open {
		if m.settled.CompareAndSwap(false, true) {
			s.unacked.Add(-1)
			m.req.finish(source.ErrClosed)
		}
	}
	return nil
}
