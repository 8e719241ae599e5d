package jetstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	js "github.com/nats-io/nats.go/jetstream"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// drainTimeout bounds how long closing a reader waits for its subscription
// to hand back the messages it holds.
const drainTimeout = 5 * time.Second

// reader keeps up to Prefetch messages fetched ahead of Read calls, so that
// a Read finds them in memory instead of making a round trip to the server.
type reader struct {
	consume js.ConsumeContext
	msgs    chan js.Msg   // prefetched, not yet handed out
	done    chan struct{} // closed when the reader stops

	mu  sync.Mutex
	err error // why the subscription stopped on its own, if it did
}

// startReader starts the buffer's reader if it is not running.
func (b *Buffer) startReader() (*reader, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, buffer.ErrClosed
	}
	if b.reader != nil {
		select {
		case <-b.reader.consume.Closed():
			// The subscription ended on its own (e.g. the consumer was
			// deleted): report it once and start afresh on the next Read.
			r := b.reader
			b.reader = nil
			r.stop()
			return nil, r.failure()
		default:
			return b.reader, nil
		}
	}
	r := &reader{
		msgs: make(chan js.Msg, b.store.cfg.Prefetch),
		done: make(chan struct{}),
	}
	cc, err := b.consumer.Consume(r.handle,
		js.PullMaxMessages(b.store.cfg.Prefetch),
		js.ConsumeErrHandler(r.onError))
	if err != nil {
		return nil, fmt.Errorf("jetstream buffer %s: read: %w", b.name, err)
	}
	r.consume = cc
	b.reader = r
	return r, nil
}

// handle queues one message for Read, or hands it back if the reader stopped.
func (r *reader) handle(m js.Msg) {
	select {
	case r.msgs <- m:
	case <-r.done:
		_ = m.Nak()
	}
}

func (r *reader) onError(_ js.ConsumeContext, err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *reader) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("%w: %w", errReaderStopped, r.err)
	}
	return errReaderStopped
}

// stop ends the subscription and naks every message it holds, so they are
// redelivered at once rather than after AckWait.
func (r *reader) stop() {
	close(r.done)
	r.consume.Drain()
	select {
	case <-r.consume.Closed():
	case <-time.After(drainTimeout):
		r.consume.Stop()
	}
	for {
		select {
		case m := <-r.msgs:
			_ = m.Nak()
		default:
			return
		}
	}
}

// closeReader stops the reader, if one runs.
func (b *Buffer) closeReader() {
	b.mu.Lock()
	r := b.reader
	b.reader = nil
	b.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// Read returns between 1 and max prefetched messages, waiting up to maxWait
// for the first; it returns no messages and no error when none arrived.
func (b *Buffer) Read(ctx context.Context, max int, maxWait time.Duration) ([]buffer.Delivery, error) {
	if max < 1 {
		return nil, fmt.Errorf("jetstream buffer %s: read: max %d < 1", b.name, max)
	}
	r, err := b.startReader()
	if err != nil {
		return nil, fmt.Errorf("jetstream buffer %s: read: %w", b.name, err)
	}
	var first js.Msg
	select {
	case first = <-r.msgs:
	default:
		timer := time.NewTimer(maxWait)
		defer timer.Stop()
		select {
		case first = <-r.msgs:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.done:
			return nil, buffer.ErrClosed
		case <-r.consume.Closed():
			return nil, fmt.Errorf("jetstream buffer %s: read: %w", b.name, r.failure())
		}
	}
	out := make([]buffer.Delivery, 0, min(max, 1+len(r.msgs)))
	for m := first; ; {
		d, err := newDelivery(m)
		if err != nil {
			return out, fmt.Errorf("jetstream buffer %s: read: %w", b.name, err)
		}
		out = append(out, d)
		if len(out) == max {
			return out, nil
		}
		select {
		case m = <-r.msgs:
		default:
			return out, nil
		}
	}
}
