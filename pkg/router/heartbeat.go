package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// heartbeat keeps the ack wait of a dispatcher's in-flight messages fresh:
// one ticker for all of them, instead of a timer per event.
type heartbeat struct {
	every  time.Duration
	log    *slog.Logger
	vertex string

	mu      sync.Mutex
	pending map[buffer.Delivery]struct{}
}

func newHeartbeat(every time.Duration, log *slog.Logger, vertex string) *heartbeat {
	return &heartbeat{every: every, log: log, vertex: vertex, pending: map[buffer.Delivery]struct{}{}}
}

func (h *heartbeat) add(msgs ...buffer.Delivery) {
	h.mu.Lock()
	for _, m := range msgs {
		h.pending[m] = struct{}{}
	}
	h.mu.Unlock()
}

// remove stops the heartbeat of msgs. Call it before settling them: once it
// returns, no InProgress for them can follow the Ack or Nack (both go out on
// the same connection, in order), which would undo a nack's delay.
func (h *heartbeat) remove(msgs ...buffer.Delivery) {
	h.mu.Lock()
	for _, m := range msgs {
		delete(h.pending, m)
	}
	h.mu.Unlock()
}

// run beats until ctx ends.
func (h *heartbeat) run(ctx context.Context) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		for m := range h.pending {
			if err := m.InProgress(ctx); err != nil && !errors.Is(err, context.Canceled) {
				h.log.Warn("heartbeat", "vertex", h.vertex, "error", err)
			}
		}
		h.mu.Unlock()
	}
}
