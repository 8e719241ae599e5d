package dev

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/scaler"
)

// addToScaler hands every function to the scaling loop.
func (w *wiring) addToScaler(loop *scaler.Loop) {
	for key, fn := range w.functions {
		loop.Add(key, scaler.SpecFor(fn.spec.Scale), int(*fn.spec.Scale.Min), w.observer(fn))
	}
}

// minRateInterval is the shortest interval a processing rate is computed
// over; evaluations closer together (pokes) keep the last rate.
const minRateInterval = 500 * time.Millisecond

// observer measures fn: the backlog of the buffers it serves, the backlog
// of the vertices feeding them, in-flight and waiting requests, and its
// completions per second per ready replica.
func (w *wiring) observer(fn *function) scaler.Observer {
	var upstream []buffer.Buffer
	for _, path := range fn.feeds {
		if b := w.buffers[path]; b != nil && !slices.Contains(fn.inputs, b) {
			upstream = append(upstream, b)
		}
	}
	var (
		lastAt   time.Time
		lastDone uint64
		rate     float64
	)
	return func(ctx context.Context) (scaler.Observation, error) {
		var o scaler.Observation
		var err error
		if o.Backlog, err = pendingSum(ctx, fn.inputs); err != nil {
			return o, err
		}
		if o.UpstreamBacklog, err = pendingSum(ctx, upstream); err != nil {
			return o, err
		}
		if fn.invoker != nil {
			// Buffered events in flight are already in the backlog.
			o.InFlight, o.Waiting = fn.invoker.InFlight(), fn.invoker.Waiting()
		}
		now, done := time.Now(), w.pool.Completed(fn.key)
		_, ready := w.rt.Status(fn.key)
		if elapsed := now.Sub(lastAt); lastAt.IsZero() || elapsed >= minRateInterval {
			rate = 0
			if !lastAt.IsZero() && ready > 0 {
				rate = float64(done-lastDone) / elapsed.Seconds() / float64(ready)
			}
			lastAt, lastDone = now, done
		}
		o.Rate = rate
		return o, nil
	}
}

func pendingSum(ctx context.Context, bufs []buffer.Buffer) (int64, error) {
	var sum int64
	for _, b := range bufs {
		n, err := b.Pending(ctx)
		if err != nil {
			return 0, fmt.Errorf("pending: %w", err)
		}
		sum += n
	}
	return sum, nil
}
