package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Dispatcher reads one vertex's buffer and delivers each event (or batch) to
// the vertex's target. An input is acked only after its outputs are durably
// written along every matching route (or it was dead-lettered); a failed
// attempt is nacked with the policy's backoff, so retries survive crashes.
type Dispatcher struct {
	// Vertex names the vertex in logs and metrics ("namespace/pipeline/vertex").
	Vertex string
	In     buffer.Buffer
	Target Target
	Policy delivery.Policy
	Routes []Route
	// DeadLetter takes failed events; nil logs and drops them.
	DeadLetter DeadLetter
	// MaxInFlight bounds the events being delivered at once. Default 64.
	MaxInFlight int
	// BatchSize > 0 delivers batches of up to BatchSize events, waiting up to
	// BatchWait for a batch to fill.
	BatchSize int
	BatchWait time.Duration
	// Heartbeat is how often an event still being worked on tells the buffer
	// so (resetting its ack wait). Default 10s.
	Heartbeat time.Duration
	// Grace is how long in-flight deliveries may finish after Run's context
	// ends; then they are abandoned unacked and redelivered later. Default 30s.
	Grace   time.Duration
	Log     *slog.Logger
	Metrics *Metrics
}

func (d *Dispatcher) defaults() {
	if d.MaxInFlight <= 0 {
		d.MaxInFlight = 64
	}
	if d.Heartbeat <= 0 {
		d.Heartbeat = 10 * time.Second
	}
	if d.Grace <= 0 {
		d.Grace = 30 * time.Second
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.BatchSize > 0 {
		d.MaxInFlight = max(d.MaxInFlight, d.BatchSize)
	}
}

// readWait is how long one Read waits for the first message; it bounds how
// quickly Run notices its context ending.
const readWait = 500 * time.Millisecond

// Run dispatches until ctx ends, then waits for in-flight deliveries (up to
// Grace) and returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.defaults()
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(d.Grace, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	slots := make(chan struct{}, d.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		n, ok := d.takeSlots(ctx, slots)
		if !ok {
			return nil
		}
		msgs, err := d.read(ctx, n)
		for i := len(msgs); i < n; i++ {
			<-slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.Log.Error("read buffer", "vertex", d.Vertex, "error", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		if d.BatchSize > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.process(work, msgs)
				for range msgs {
					<-slots
				}
			}()
			continue
		}
		for _, m := range msgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.process(work, []buffer.Delivery{m})
				<-slots
			}()
		}
	}
	return nil
}

// takeSlots takes delivery slots for the next read: at least one (waiting
// for it), then every free one. While most slots are busy it waits until a
// refill's worth (a quarter of them) is free, so that under load each read
// fetches a batch rather than one message per buffer round trip; the
// events in flight keep the function busy meanwhile.
func (d *Dispatcher) takeSlots(ctx context.Context, slots chan struct{}) (int, bool) {
	want, refill := d.MaxInFlight, max(d.MaxInFlight/4, 1)
	if d.BatchSize > 0 {
		want, refill = d.BatchSize, 1
	}
	n := 0
	for n < want {
		select {
		case slots <- struct{}{}:
			n++
			continue
		default:
		}
		if n >= refill {
			return n, true
		}
		// Every slot is taken; deliveries in flight will free some.
		select {
		case slots <- struct{}{}:
			n++
		case <-ctx.Done():
			for range n {
				<-slots
			}
			return 0, false
		}
	}
	return n, true
}

// read returns up to n messages; in batch mode it keeps reading until the
// batch is full or BatchWait has passed since the first message.
func (d *Dispatcher) read(ctx context.Context, n int) ([]buffer.Delivery, error) {
	msgs, err := d.In.Read(ctx, n, readWait)
	if err != nil || d.BatchSize == 0 || len(msgs) == 0 || len(msgs) >= n {
		return msgs, err
	}
	deadline := time.Now().Add(d.BatchWait)
	for len(msgs) < n {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more, err := d.In.Read(ctx, n-len(msgs), left)
		if err != nil {
			// Deliver what we have; the error shows again on the next read.
			break
		}
		msgs = append(msgs, more...)
	}
	return msgs, nil
}

// process delivers one event (or one batch) and settles its messages.
func (d *Dispatcher) process(ctx context.Context, msgs []buffer.Delivery) {
	start := time.Now()
	events := make([]*cloudevent.Event, 0, len(msgs))
	ids := make([]string, 0, len(msgs))
	live := msgs[:0:0]
	attempt := 0
	for _, m := range msgs {
		e, err := cloudevent.UnmarshalRecord(m.Message().Data)
		if err != nil {
			// Nothing can ever read it: drop it loudly rather than loop.
			d.Log.Error("dropping unreadable record", "vertex", d.Vertex, "id", m.Message().ID, "error", err)
			d.settle(ctx, m, 0, true)
			continue
		}
		events = append(events, e)
		ids = append(ids, m.Message().ID)
		live = append(live, m)
		attempt = max(attempt, m.Attempt())
	}
	if len(live) == 0 {
		return
	}
	stopBeat := d.heartbeat(ctx, live)
	replies, err := d.Target.Deliver(ctx, events)
	var failure *delivery.Failure
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down: leave the events for redelivery.
			stopBeat()
			d.settleAll(context.WithoutCancel(ctx), live, 0, false)
			return
		}
		failure = delivery.AsFailure(d.Vertex, err)
	}
	dec := delivery.Decide(d.Policy, attempt, failure)
	d.Metrics.attempt(d.Vertex, dec.Action, time.Since(start))
	switch dec.Action {
	case delivery.Done:
		outIDs := make([]string, len(replies))
		for i := range replies {
			outIDs[i] = OutputID(d.Vertex, ids, i)
		}
		if _, err := writeRoutes(ctx, d.Routes, replies, outIDs); err != nil {
			stopBeat()
			d.Log.Error("write outputs", "vertex", d.Vertex, "error", err)
			d.settleAll(ctx, live, d.Policy.BackoffAfter(1), false)
			return
		}
	case delivery.Retry:
		stopBeat()
		d.Log.Debug("retry", "vertex", d.Vertex, "attempt", attempt, "delay", dec.Delay, "error", failure)
		d.settleAll(ctx, live, dec.Delay, false)
		return
	case delivery.DeadLetter:
		if err := d.deadLetter(ctx, events, ids, failure); err != nil {
			stopBeat()
			d.Log.Error("dead-letter", "vertex", d.Vertex, "error", err)
			d.settleAll(ctx, live, d.Policy.BackoffAfter(attempt), false)
			return
		}
	}
	stopBeat()
	d.settleAll(ctx, live, 0, true)
}

func (d *Dispatcher) deadLetter(ctx context.Context, events []*cloudevent.Event, ids []string, f *delivery.Failure) error {
	for i, e := range events {
		if d.DeadLetter == nil {
			d.Log.Warn("dropping failed event: no dead-letter sink", "vertex", d.Vertex, "id", e.ID, "source", e.Source, "error", f)
			continue
		}
		if err := d.DeadLetter.DeadLetter(ctx, MarkFailed(e, f), OutputID(d.Vertex+"/deadletter", ids[i:i+1], 0)); err != nil {
			return err
		}
	}
	return nil
}

// heartbeat tells the buffer, every Heartbeat, that msgs are still being
// worked on; the returned function stops it.
func (d *Dispatcher) heartbeat(ctx context.Context, msgs []buffer.Delivery) func() {
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	t = time.AfterFunc(d.Heartbeat, func() {
		for _, m := range msgs {
			if err := m.InProgress(ctx); err != nil && !errors.Is(err, context.Canceled) {
				d.Log.Warn("heartbeat", "vertex", d.Vertex, "error", err)
			}
		}
		mu.Lock()
		if !stopped {
			t.Reset(d.Heartbeat)
		}
		mu.Unlock()
	})
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

func (d *Dispatcher) settleAll(ctx context.Context, msgs []buffer.Delivery, delay time.Duration, ack bool) {
	for _, m := range msgs {
		d.settle(ctx, m, delay, ack)
	}
}

func (d *Dispatcher) settle(ctx context.Context, m buffer.Delivery, delay time.Duration, ack bool) {
	var err error
	if ack {
		err = m.Ack(ctx)
	} else {
		err = m.Nack(ctx, delay)
	}
	if err != nil {
		// The buffer redelivers it after the ack wait.
		d.Log.Warn("settle message", "vertex", d.Vertex, "ack", ack, "error", err)
	}
}
