// Package log is the log sink: one structured-mode JSON line per event.
package log

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Sink writes each event as one JSON line (CloudEvents JSON format) to its
// writer.
type Sink struct {
	name   string // for errors
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	closed bool
}

// New returns a sink called name writing to w.
func New(name string, w io.Writer) *Sink {
	return &Sink{name: name, w: w}
}

// Write writes the events' lines with one Write call, so an event is
// acked only after its line reached the writer and lines of concurrent
// calls never interleave. A failed write fails the attempt (retried); the
// next attempt writes afresh.
func (s *Sink) Write(_ context.Context, events []*cloudevent.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return delivery.AsFailure(s.name, errClosed)
	}
	s.buf = s.buf[:0]
	for _, e := range events {
		b, err := cloudevent.MarshalJSON(e)
		if err != nil {
			return delivery.Permanent(s.name, fmt.Errorf("encode event %s: %w", e.ID, err))
		}
		s.buf = append(append(s.buf, b...), '\n')
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return delivery.AsFailure(s.name, fmt.Errorf("write log sink: %w", err))
	}
	return nil
}

var errClosed = errors.New("log sink is closed")

// Close makes later writes fail; the writer is not the sink's to close.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
