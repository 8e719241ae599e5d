// Package buffer is the contract of Freshet's durable buffer: the queue in
// front of every pipeline vertex.
//
// Delivery rules every implementation keeps (checked by package buffertest):
//   - Write returns nil only after every message is durably stored: a crash of
//     the process right after Write returns loses none of them.
//   - A message whose ID was already written to the same buffer inside the
//     dedup window is dropped silently (Write still returns nil). Across a
//     restart of the store, only IDs of messages not yet acked are
//     remembered (JetStream rebuilds its dedup table from stored messages).
//   - A read message is redelivered if it is nacked (after the nack delay) or
//     if it is neither acked nor nacked within the ack wait.
//   - The ack wait of a message starts when Read hands it out. A message the
//     buffer has taken from its store but not yet handed out by Read is never
//     redelivered because of its ack wait, however slowly the caller Reads:
//     an implementation either holds no messages ahead of Read or keeps the
//     ack wait of those it holds from running out.
//   - Ordering is not guaranteed.
//   - Pending counts messages written and not yet acked, including those
//     delivered and in flight: it is the vertex's backlog.
//   - Everything else above survives a restart of the process on the same
//     store.
package buffer

import (
	"context"
	"errors"
	"time"
)

// Message is one record in a buffer.
type Message struct {
	// ID is the dedup id. Writers derive it from the event (source and id),
	// so a retried write of the same event is stored once.
	ID string
	// Data is the encoded record.
	Data []byte
}

// Store opens named buffers. Names are [a-zA-Z0-9_-]+.
type Store interface {
	// Open returns the buffer called name, creating it if needed.
	Open(ctx context.Context, name string) (Buffer, error)
	Close() error
}

// Buffer is one durable queue.
type Buffer interface {
	// Write stores msgs durably; see the package rules.
	Write(ctx context.Context, msgs []Message) error
	// Read returns between 1 and max messages, waiting up to maxWait for the
	// first one. It returns an empty slice and no error when none arrived.
	Read(ctx context.Context, max int, maxWait time.Duration) ([]Delivery, error)
	// Pending is the number of messages written and not yet acked.
	Pending(ctx context.Context) (int64, error)
	// Close releases the buffer's resources; stored messages stay.
	Close() error
}

// Delivery is one message handed to a reader. Exactly one of Ack or Nack
// settles it; a settled delivery ignores later calls.
type Delivery interface {
	Message() Message
	// Attempt is 1 on the first delivery and grows with each redelivery.
	Attempt() int
	// Ack removes the message for good.
	Ack(ctx context.Context) error
	// Nack asks for redelivery after delay (0: as soon as possible).
	Nack(ctx context.Context, delay time.Duration) error
	// InProgress resets the ack wait: the reader is still working on it.
	InProgress(ctx context.Context) error
}

// ErrClosed is returned by a Buffer or Store used after Close.
var ErrClosed = errors.New("buffer: closed")

// ErrTooLarge is wrapped by a Write error when a message is larger than the
// buffer can store; writing it again cannot succeed.
var ErrTooLarge = errors.New("buffer: message too large")
