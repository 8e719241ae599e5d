package jetstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// drainTimeout bounds how long closing a reader waits for its subscription
// to hand back the messages it holds, and then for the server to confirm
// that it took them back.
const drainTimeout = 5 * time.Second

// handBackNak is the nak a closing reader sends for each message it holds.
// A plain "-NAK" only queues the message for redelivery in the server's
// memory: the consumer's stored state keeps the original delivery time, so
// after a restart of the server (the embedded one shuts down with the
// Store) the message only comes back once its AckWait has run out. A nak
// with a delay makes the server rewrite that time in the stored state, as
// if the AckWait had run out already; 1ns is the smallest delay it accepts.
var handBackNak = []byte(`-NAK {"delay": 1}`)

// reader keeps up to Prefetch messages fetched ahead of Read calls, so that
// a Read finds them in memory instead of making a round trip to the server.
type reader struct {
	consume js.ConsumeContext
	msgs    chan js.Msg   // prefetched, not yet handed out
	done    chan struct{} // closed when the reader stops

	mu         sync.Mutex
	err        error    // why the subscription stopped on its own, if it did
	returned   []js.Msg // received after done was closed, to hand back
	handedBack bool     // stop has collected returned
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
			r.stop(b.store.nc)
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

// handle queues one message for Read or, once the reader is stopping, for
// stop to hand back.
func (r *reader) handle(m js.Msg) {
	select {
	case r.msgs <- m:
		return
	case <-r.done:
	}
	r.mu.Lock()
	late := r.handedBack
	if !late {
		r.returned = append(r.returned, m)
	}
	r.mu.Unlock()
	if late { // only after a drain that timed out
		_ = m.NakWithDelay(time.Nanosecond)
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

// stop ends the subscription and hands every message it holds back to the
// server for immediate redelivery, rather than after AckWait, and waits for
// the server to confirm it.
//
// The subscription is drained first: that takes the reader's interest away
// on the server, so that it delivers nothing more, and passes the messages
// already on their way to handle. Handing them back only then means that a
// message handed back is not redelivered to this reader's own outstanding
// pull request, whose subscription is going away. Each nak is a request
// that the server answers once it has processed it, so that a Store.Close
// right after does not shut the embedded server down before it has.
func (r *reader) stop(nc *nats.Conn) {
	close(r.done)
	r.consume.Drain()
	deadline := time.NewTimer(drainTimeout)
	defer deadline.Stop()
	select {
	case <-r.consume.Closed():
	case <-deadline.C:
		r.consume.Stop()
	}
	r.mu.Lock()
	held := r.returned
	r.returned = nil
	r.handedBack = true
	r.mu.Unlock()
collect:
	for {
		select {
		case m := <-r.msgs:
			held = append(held, m)
		default:
			break collect
		}
	}
	_ = handBack(nc, held, drainTimeout)
}

// handBack naks msgs with handBackNak, pipelined, and waits until the
// server has confirmed every nak, for at most timeout.
func handBack(nc *nats.Conn, msgs []js.Msg, timeout time.Duration) error {
	if len(msgs) == 0 {
		return nil
	}
	confirmed := make(chan *nats.Msg, len(msgs))
	inbox := nc.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, confirmed)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	for _, m := range msgs {
		if err := nc.PublishRequest(m.Reply(), inbox, handBackNak); err != nil {
			return err
		}
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for range msgs {
		select {
		case <-confirmed:
		case <-deadline.C:
			return fmt.Errorf("hand back: timed out")
		}
	}
	return nil
}

// closeReader stops the reader, if one runs.
func (b *Buffer) closeReader() {
	b.mu.Lock()
	r := b.reader
	b.reader = nil
	b.mu.Unlock()
	if r != nil {
		r.stop(b.store.nc)
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
