package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// settleTimeout bounds one ack or nack; settling uses its own context so
// that an input whose outputs are written is acked even when the grace
// period has just run out.
const settleTimeout = 5 * time.Second

// abandonDelay is the nack delay of an event left unfinished at shutdown: a
// delayed nack is stored by the buffer, so the event comes back at once
// after a restart (a plain one would wait out the ack wait).
const abandonDelay = time.Millisecond

// process delivers one event (or one batch), writes the replies along the
// routes, and settles every input: ack once its outputs are durable, or
// nack for a retry, or dead-letter. A failed batch is decided event by
// event, each by its own attempt count.
func (d *Dispatcher) process(ctx context.Context, beats *heartbeat, msgs []buffer.Delivery) {
	start := time.Now()
	events := make([]*cloudevent.Event, 0, len(msgs))
	ids := make([]string, 0, len(msgs))
	live := make([]buffer.Delivery, 0, len(msgs))
	for _, m := range msgs {
		msg := m.Message()
		e, err := cloudevent.UnmarshalRecord(msg.Data)
		if err != nil {
			// Nothing can ever read it: drop it loudly rather than loop.
			d.Log.Error("dropping unreadable record", "vertex", d.Vertex, "id", msg.ID, "error", err)
			d.ack(beats, m)
			continue
		}
		events = append(events, e)
		ids = append(ids, msg.ID)
		live = append(live, m)
	}
	if len(live) == 0 {
		return
	}
	replies, err := d.Target.Deliver(ctx, events)
	if err != nil && ctx.Err() != nil {
		// Shutting down: leave the events for redelivery.
		d.nack(beats, abandonDelay, live...)
		return
	}
	var failure *delivery.Failure
	if err != nil {
		failure = delivery.AsFailure(d.Vertex, err)
	} else if err := d.writeOutputs(ctx, replies, ids); err == nil {
		d.Metrics.attempt(d.Vertex, delivery.Done, time.Since(start))
		d.ack(beats, live...)
		return
	} else if errors.Is(err, buffer.ErrTooLarge) {
		failure = delivery.Permanent(d.Vertex, err)
	} else {
		// Freshet's own buffer failed, not the function: never give the
		// event up for that; try again, backing off further each time.
		d.Log.Error("write outputs", "vertex", d.Vertex, "error", err)
		for _, m := range live {
			d.nack(beats, d.Policy.BackoffAfter(m.Attempt()), m)
		}
		return
	}
	for i, m := range live {
		dec := delivery.Decide(d.Policy, m.Attempt(), failure)
		d.Metrics.attempt(d.Vertex, dec.Action, time.Since(start))
		switch dec.Action {
		case delivery.Retry:
			d.Log.Debug("retry", "vertex", d.Vertex, "id", events[i].ID, "attempt", m.Attempt(), "delay", dec.Delay, "error", failure)
			d.nack(beats, dec.Delay, m)
		default:
			d.deadLetter(ctx, beats, m, events[i], ids[i], failure)
		}
	}
}

// writeOutputs writes the replies along the routes, with dedup ids derived
// from the inputs.
func (d *Dispatcher) writeOutputs(ctx context.Context, replies []*cloudevent.Event, inputIDs []string) error {
	outIDs := make([]string, len(replies))
	for i := range replies {
		outIDs[i] = OutputID(d.Vertex, inputIDs, i)
	}
	if err := writeRoutes(ctx, d.Routes, replies, outIDs); err != nil {
		return fmt.Errorf("write outputs: %w", err)
	}
	return nil
}

// deadLetter hands a failed event to the dead-letter sink and acks it; if
// the sink cannot take it now, the event is retried later.
func (d *Dispatcher) deadLetter(ctx context.Context, beats *heartbeat, m buffer.Delivery, e *cloudevent.Event, id string, f *delivery.Failure) {
	if d.DeadLetter == nil {
		d.Log.Warn("dropping failed event: no dead-letter sink", "vertex", d.Vertex, "id", e.ID, "source", e.Source, "error", f)
		d.ack(beats, m)
		return
	}
	err := d.DeadLetter.DeadLetter(ctx, MarkFailed(e, f), OutputID(d.Vertex+"/deadletter", []string{id}, 0))
	switch {
	case err == nil:
		d.ack(beats, m)
	case errors.Is(err, buffer.ErrTooLarge):
		d.Log.Error("dropping failed event: too large for the dead-letter sink", "vertex", d.Vertex, "id", e.ID, "source", e.Source, "error", f)
		d.ack(beats, m)
	default:
		d.Log.Error("dead-letter", "vertex", d.Vertex, "id", e.ID, "error", err)
		d.nack(beats, d.Policy.BackoffAfter(m.Attempt()), m)
	}
}

// ack removes msgs for good.
func (d *Dispatcher) ack(beats *heartbeat, msgs ...buffer.Delivery) {
	beats.remove(msgs...)
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	for _, m := range msgs {
		if err := m.Ack(ctx); err != nil {
			// The buffer redelivers it after the ack wait; its outputs are
			// dropped downstream as duplicates within the dedup window.
			d.Log.Warn("ack", "vertex", d.Vertex, "error", err)
		}
	}
}

// nack asks for msgs again after delay.
func (d *Dispatcher) nack(beats *heartbeat, delay time.Duration, msgs ...buffer.Delivery) {
	beats.remove(msgs...)
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	for _, m := range msgs {
		if err := m.Nack(ctx, delay); err != nil {
			d.Log.Warn("nack", "vertex", d.Vertex, "error", err)
		}
	}
}
