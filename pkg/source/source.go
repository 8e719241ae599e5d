// Package source is the contract every event source implements — HTTP,
// Kafka, SQS, Pulsar — and the delivery rules they all keep. A source
// vertex runs one Source; the router's pump reads it, writes each event
// durably into the buffers of the vertex's edges, and only then acks.
//
// Delivery rules (sourcetest checks each one against every source):
//
//  1. Read returns up to max messages, waiting at most maxWait for the
//     first; none (and no error) when nothing arrived in time. Read is
//     called from one goroutine at a time.
//  2. Nothing is lost: the source tells its system a message is done
//     (commits the offset, deletes it, acks it, answers 202) only when the
//     message is acked. A message never acked is delivered again — after a
//     Nack, a Close, a crash, a rebalance or a visibility timeout.
//  3. Ack may be asynchronous (queued and sent in batches), but Close
//     sends every ack made before it: after a clean Close, acked messages
//     are not delivered again. After a crash they may be; that is
//     at-least-once, and the dedup id (below) lets the buffer drop them.
//  4. Messages may be acked in any order. A source whose system tracks a
//     position (Kafka offsets) moves it only past messages all acked.
//  5. Nack asks for the message again, no sooner than delay (as far as the
//     system allows).
//  6. Every message carries a CloudEvent whose source and id are the same
//     on every delivery, so router.EventID is a stable dedup id. A message
//     that is not a CloudEvent in its system's binding is wrapped in one
//     (the source's configured type and source, an id from the message's
//     identity in the system). One that claims to be a CloudEvent but is
//     malformed is wrapped the same way, with the problem in the
//     "fresheterror" extension: nothing is dropped.
//  7. Backlog is how many messages wait in the system for this source,
//     read or not, not yet acked, as well as the system can tell (Kafka:
//     consumer-group lag; SQS: approximate visible + in flight). It falls
//     to 0 once everything is acked. The scaler uses it to wake the
//     functions downstream.
//  8. A message the buffer can never store (larger than its largest
//     message) is Rejected when the message is a Rejecter — the HTTP
//     source answers 413 — and otherwise nacked and logged.
//  9. Close stops reading and releases the system's resources; Ack and
//     Nack after Close return ErrClosed (harmless: unacked is redelivered).
package source

import (
	"context"
	"errors"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// Source is one source vertex's connection to its system.
type Source interface {
	Read(ctx context.Context, max int, maxWait time.Duration) ([]Message, error)
	Backlog(ctx context.Context) (int64, error)
	Close() error
}

// Message is one event read from a source, settled by Ack or Nack once.
type Message interface {
	Event() *cloudevent.Event
	Ack(ctx context.Context) error
	Nack(ctx context.Context, delay time.Duration) error
}

// Rejecter is a Message its source can refuse to its sender for good.
type Rejecter interface {
	Reject(ctx context.Context, reason error) error
}

// ErrClosed is returned by a closed Source's methods.
var ErrClosed = errors.New("source is closed")

// ErrorExtension is the CloudEvents extension a wrapped malformed message
// carries, naming what was wrong.
const ErrorExtension = "fresheterror"
