// Package http is the HTTP sink: each event is POSTed in binary mode to a
// URL, under the sink's delivery policy (the dispatcher retries and
// dead-letters).
package http

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Sink POSTs events to URL.
type Sink struct {
	URL     string
	Sender  *delivery.Sender
	Timeout time.Duration // per attempt

	closed atomic.Bool
}

// Write makes one attempt per event; replies are ignored (a sink ends the
// pipeline). It fails on the first event that fails.
func (s *Sink) Write(ctx context.Context, events []*cloudevent.Event) error {
	if s.closed.Load() {
		return delivery.AsFailure(s.URL, errors.New("http sink is closed"))
	}
	for _, e := range events {
		if _, err := s.Sender.Send(ctx, s.URL, []*cloudevent.Event{e}, false, s.Timeout); err != nil {
			return err
		}
	}
	return nil
}

// Close makes later writes fail; the Sender's connections are shared and
// stay open.
func (s *Sink) Close() error {
	s.closed.Store(true)
	return nil
}
