package jetstream

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// Names of the JetStream objects behind a buffer.
const (
	streamPrefix  = "FRESHET_"
	subjectPrefix = "freshet.buffer."
	consumerName  = "freshet-reader"
)

var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// Buffer is one buffer.Buffer: a work-queue stream and its durable consumer.
// It is safe for concurrent use.
type Buffer struct {
	store    *Store
	name     string
	subject  string
	stream   js.Stream
	consumer js.Consumer

	mu     sync.Mutex
	closed bool
	reader *reader // started by the first Read
}

var _ buffer.Buffer = (*Buffer)(nil)

// openBuffer creates or updates the stream and consumer of name.
func openBuffer(ctx context.Context, s *Store, name string) (*Buffer, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("jetstream buffer %q: invalid name", name)
	}
	b := &Buffer{store: s, name: name, subject: subjectPrefix + name}
	var err error
	b.stream, err = s.js.CreateOrUpdateStream(ctx, js.StreamConfig{
		Name:        streamPrefix + name,
		Description: "Freshet buffer " + name,
		Subjects:    []string{b.subject},
		Retention:   js.WorkQueuePolicy,
		Storage:     js.FileStorage,
		Replicas:    s.cfg.Replicas,
		Duplicates:  s.cfg.DedupWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream buffer %s: stream: %w", name, err)
	}
	b.consumer, err = b.stream.CreateOrUpdateConsumer(ctx, js.ConsumerConfig{
		Durable:       consumerName,
		Description:   "Freshet buffer reader",
		AckPolicy:     js.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: s.cfg.MaxAckPending,
		DeliverPolicy: js.DeliverAllPolicy,
		Replicas:      s.cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream buffer %s: consumer: %w", name, err)
	}
	return b, nil
}

func (b *Buffer) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Write publishes msgs pipelined, with Nats-Msg-Id set to Message.ID, and
// returns once the server has acknowledged every one of them (stored, or
// dropped as a duplicate). On error some messages may be stored: writing
// the same messages again is safe within the dedup window.
func (b *Buffer) Write(ctx context.Context, msgs []buffer.Message) error {
	if b.isClosed() {
		return buffer.ErrClosed
	}
	limit := b.store.nc.MaxPayload()
	for i := range msgs {
		// Headers (the dedup id) travel in the same payload limit.
		if size := int64(len(msgs[i].Data) + len(msgs[i].ID) + 64); size > limit {
			return fmt.Errorf("jetstream buffer %s: write: %w: %d bytes, the server takes at most %d", b.name, buffer.ErrTooLarge, len(msgs[i].Data), limit)
		}
	}
	w := writer{slots: b.store.publishSlots}
	defer w.release()
	for i := range msgs {
		if err := w.acquire(ctx); err != nil {
			return fmt.Errorf("jetstream buffer %s: write: %w", b.name, err)
		}
		m := &nats.Msg{Subject: b.subject, Data: msgs[i].Data}
		if msgs[i].ID != "" {
			m.Header = nats.Header{js.MsgIDHeader: []string{msgs[i].ID}}
		}
		f, err := b.store.js.PublishMsgAsync(m)
		if err != nil {
			<-w.slots // the publish never went out
			return fmt.Errorf("jetstream buffer %s: write: %w", b.name, err)
		}
		w.inflight = append(w.inflight, f)
	}
	for len(w.inflight) > 0 {
		if err := w.awaitOldest(ctx); err != nil {
			return fmt.Errorf("jetstream buffer %s: write: %w", b.name, err)
		}
	}
	return nil
}

// Pending is the number of messages in the stream: written and not acked,
// whether undelivered, in flight, or nacked. Acked messages are removed
// before Ack returns, so the count is exact after Write and Ack return
// (on a cluster with Replicas > 1 it may lag an ack by a replication step).
func (b *Buffer) Pending(ctx context.Context) (int64, error) {
	if b.isClosed() {
		return 0, buffer.ErrClosed
	}
	info, err := b.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("jetstream buffer %s: pending: %w", b.name, err)
	}
	return int64(info.State.Msgs), nil
}

// Close makes Reads in flight return ErrClosed, hands back what they
// fetched for immediate redelivery and waits for them. Stored messages stay. Deliveries
// already returned by Read can still be acked until the Store closes.
func (b *Buffer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return buffer.ErrClosed
	}
	b.closed = true
	b.mu.Unlock()
	b.closeReader()
	b.store.forget(b)
	return nil
}

// writer tracks one Write's publishes in flight.
type writer struct {
	slots    chan struct{}
	inflight []js.PubAckFuture
}

// acquire takes a publish slot. When all are taken it first settles this
// Write's own oldest publish, so Writes never wait on each other forever.
func (w *writer) acquire(ctx context.Context) error {
	for {
		select {
		case w.slots <- struct{}{}:
			return nil
		default:
		}
		if len(w.inflight) == 0 {
			select {
			case w.slots <- struct{}{}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := w.awaitOldest(ctx); err != nil {
			return err
		}
	}
}

// awaitOldest waits for the oldest publish's acknowledgement.
func (w *writer) awaitOldest(ctx context.Context) error {
	f := w.inflight[0]
	select {
	case <-f.Ok():
	case err := <-f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	w.inflight = w.inflight[1:]
	<-w.slots
	return nil
}

// release frees the slots of publishes not awaited (after an error).
func (w *writer) release() {
	for range w.inflight {
		<-w.slots
	}
	w.inflight = nil
}
