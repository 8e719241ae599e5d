// Package http is the HTTP sink: each event is POSTed in binary mode to a
// URL, under the sink's delivery policy (the dispatcher retries and
// dead-letters).
package http

import (
	"context"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Sink POSTs events to URL.
type Sink struct {
	URL     string
	Sender  *delivery.Sender
	Timeout time.Duration // per attempt
}

// Deliver makes one attempt per event; replies are ignored (a sink ends the
// pipeline). It fails on the first event that fails.
func (s *Sink) Deliver(ctx context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	for _, e := range events {
		if _, err := s.Sender.Send(ctx, s.URL, []*cloudevent.Event{e}, false, s.Timeout); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
