// Package log is the log sink: one structured-mode JSON line per event.
package log

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Sink writes each event as one JSON line (CloudEvents JSON format) to W.
type Sink struct {
	Name string // for errors
	mu   sync.Mutex
	w    *bufio.Writer
}

// New returns a sink writing to w.
func New(name string, w io.Writer) *Sink {
	return &Sink{Name: name, w: bufio.NewWriterSize(w, 64<<10)}
}

// Deliver writes the events and flushes them before returning, so an event
// is acked only after its line reached W.
func (s *Sink) Deliver(_ context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	lines := make([][]byte, len(events))
	for i, e := range events {
		b, err := cloudevent.MarshalJSON(e)
		if err != nil {
			return nil, delivery.Permanent(s.Name, fmt.Errorf("encode event %s: %w", e.ID, err))
		}
		lines[i] = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range lines {
		s.w.Write(b)
		s.w.WriteByte('\n')
	}
	if err := s.w.Flush(); err != nil {
		return nil, delivery.AsFailure(s.Name, fmt.Errorf("write log sink: %w", err))
	}
	return nil, nil
}
