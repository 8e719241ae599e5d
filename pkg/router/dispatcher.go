package router

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
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
	// MaxInFlight bounds the events being delivered at once (in batch mode,
	// the events in all batches in flight). Default 64.
	MaxInFlight int
	// BatchSize > 0 delivers batches of up to BatchSize events, waiting up to
	// BatchWait for a batch to fill.
	BatchSize int
	BatchWait time.Duration
	// Heartbeat is how often events still being worked on tell the buffer
	// so (resetting their ack wait); keep it well under the buffer's ack
	// wait. Default 10s.
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

	beats := newHeartbeat(d.Heartbeat, d.Log, d.Vertex)
	go beats.run(work)

	// Long-lived workers (rather than a goroutine per event) keep their
	// grown stacks: an HTTP round trip needs a deep one.
	slots := make(chan struct{}, d.MaxInFlight)
	workers := d.MaxInFlight
	if d.BatchSize > 0 {
		workers = (d.MaxInFlight + d.BatchSize - 1) / d.BatchSize
	}
	jobs := make(chan []buffer.Delivery, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msgs := range jobs {
				d.process(work, beats, msgs)
				for range msgs {
					<-slots
				}
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()

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
		beats.add(msgs...)
		if d.BatchSize > 0 {
			jobs <- msgs
			continue
		}
		for i := range msgs {
			jobs <- msgs[i : i+1 : i+1]
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
