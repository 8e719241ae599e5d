// Package log is the log sink: one structured-mode JSON line per event.
package log

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Sink writes each event as one JSON line (CloudEvents JSON format) to its
// writer.
type Sink struct {
	name string // for errors
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
}

// New returns a sink called name writing to w.
func New(name string, w io.Writer) *Sink {
	return &Sink{name: name, w: w}
}

// Deliver writes the events' lines with one Write call, so an event is
// acked only after its line reached the writer and lines of concurrent
// calls never interleave. A failed write fails the attempt (retried); the
// next attempt writes afresh.
func (s *Sink) Deliver(_ context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.buf[:0]
	for _, e := range events {
		b, err := cloudevent.MarshalJSON(e)
		if err != nil {
			return nil, delivery.Permanent(s.name, fmt.Errorf("encode event %s: %w", e.ID, err))
		}
		s.buf = append(append(s.buf, b...), '\n')
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return nil, delivery.AsFailure(s.name, fmt.Errorf("write log sink: %w", err))
	}
	return nil, nil
}
