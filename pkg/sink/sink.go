// Package sink is the contract every sink implements — log, HTTP, Kafka,
// SQS — and the delivery rules they all keep. A sink vertex's dispatcher
// hands a sink the events of its buffer and acks them only after Write
// returned nil.
//
// Delivery rules (sinktest checks them against every sink):
//
//  1. Write returns nil only once the system holds every event durably
//     (the broker acknowledged it, the endpoint answered 2xx, the line was
//     written): that is when the dispatcher acks them.
//  2. An error means some events may not be held: the dispatcher writes
//     the whole batch again under the vertex's delivery policy. Sinks are
//     at-least-once; an event may be held twice.
//  3. A refusal the system will repeat (an event too large, a 4xx) is a
//     permanent *delivery.Failure, so the policy dead-letters the events
//     instead of retrying them for ever.
//  4. Every CloudEvents attribute, extension and the data reach the
//     system, in the system's CloudEvents binding where it has one.
//  5. Write is safe for concurrent use. Close releases the connection;
//     Write after Close fails.
package sink

import (
	"context"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// Sink is one sink vertex's connection to its system.
type Sink interface {
	Write(ctx context.Context, events []*cloudevent.Event) error
	Close() error
}

// Target makes a Sink the target of a dispatcher, which expects replies:
// a sink ends the pipeline and has none.
type Target struct{ Sink Sink }

// Deliver writes events to the sink.
func (t Target) Deliver(ctx context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	return nil, t.Sink.Write(ctx, events)
}
