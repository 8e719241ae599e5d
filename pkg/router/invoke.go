package router

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Invoker calls a Function synchronously, retrying under its delivery
// policy while the caller waits. It is the activator: a request that finds
// no free replica (the function is at zero, or every replica is busy) is
// held in a bounded queue while the function wakes, up to the activation
// timeout.
type Invoker struct {
	Target *FunctionTarget
	Policy delivery.Policy
	// MaxWaiting bounds the requests held for a replica; more get
	// ErrQueueFull. Default 1000.
	MaxWaiting int
	// ActivationTimeout bounds the wait for a replica; then ErrNotReady.
	// Default 60s.
	ActivationTimeout time.Duration

	waiting atomic.Int64
	active  atomic.Int64
}

// maxHeldRetryDelay is the longest wait between attempts a synchronous
// caller is held for.
const maxHeldRetryDelay = 10 * time.Second

var (
	// ErrQueueFull: too many requests already wait for a replica.
	ErrQueueFull = errors.New("too many requests are waiting for a replica")
	// ErrNotReady: no replica became free within the activation timeout.
	ErrNotReady = errors.New("the function did not become ready")
)

// Waiting is the number of requests held for a replica now.
func (v *Invoker) Waiting() int { return int(v.waiting.Load()) }

// InFlight is the number of requests being served by a replica now.
func (v *Invoker) InFlight() int { return int(v.active.Load()) }

// acquire takes a free replica at once, or waits in the bounded queue.
func (v *Invoker) acquire(ctx context.Context) (string, func(), error) {
	fn := v.Target.Function
	if url, release, ok := v.Target.Pool.TryAcquire(fn); ok {
		return url, release, nil
	}
	limit := v.MaxWaiting
	if limit <= 0 {
		limit = 1000
	}
	if v.waiting.Add(1) > int64(limit) {
		v.waiting.Add(-1)
		return "", nil, fmt.Errorf("function %s: %w (%d)", fn, ErrQueueFull, limit)
	}
	defer v.waiting.Add(-1)
	timeout := v.ActivationTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url, release, err := v.Target.Pool.Acquire(actx, fn)
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, err
		}
		return "", nil, fmt.Errorf("function %s: %w within %v", fn, ErrNotReady, timeout)
	}
	return url, release, nil
}

// Invoke delivers events and returns the replies, retrying retriable
// failures with backoff; the last failure is returned as a *delivery.Failure.
func (v *Invoker) Invoke(ctx context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	for attempt := 1; ; attempt++ {
		url, release, err := v.acquire(ctx)
		if err != nil {
			return nil, err
		}
		v.active.Add(1)
		replies, err := v.Target.send(ctx, url, events)
		v.active.Add(-1)
		release()
		if err == nil {
			return replies, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		f := delivery.AsFailure(v.Target.Function, err)
		dec := delivery.Decide(v.Policy, attempt, f)
		if dec.Action != delivery.Retry || dec.Delay > maxHeldRetryDelay {
			// A caller is waiting: rather than hold it for a long
			// Retry-After, hand the function's answer back.
			return nil, f
		}
		t := time.NewTimer(dec.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, f
		case <-t.C:
		}
	}
}

func (in *Ingress) invoke(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("namespace") + "/" + r.PathValue("function")
	inv, found := in.function(key)
	events, ok := in.admit(w, r, found, "no Function "+key)
	if !ok {
		return
	}
	if len(events) != 1 && !inv.Target.Batch {
		in.Metrics.reject("400")
		writeError(w, http.StatusBadRequest, errorBody{Error: "Function " + key + " takes one event at a time, not a batch of " + strconv.Itoa(len(events))})
		return
	}
	replies, err := inv.Invoke(r.Context(), events)
	if err != nil {
		writeInvokeError(w, err)
		return
	}
	switch {
	case len(replies) == 0:
		w.WriteHeader(http.StatusNoContent)
	case len(replies) == 1 && !inv.Target.Batch:
		cloudevent.WriteResponse(w, http.StatusOK, replies[0])
	default:
		body, err := cloudevent.MarshalBatch(replies)
		if err != nil {
			writeError(w, http.StatusBadGateway, errorBody{Error: "encode reply: " + err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/cloudevents-batch+json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// writeInvokeError answers a failed invocation: the function's own error
// status passes through; the activator's refusals are 429 and 503.
func writeInvokeError(w http.ResponseWriter, err error) {
	var f *delivery.Failure
	switch {
	case errors.Is(err, ErrQueueFull):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, errorBody{Error: err.Error()})
	case errors.Is(err, ErrNotReady):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: err.Error()})
	case errors.As(err, &f) && f.Code >= 400:
		// The function's own error answer, passed through with its
		// Retry-After; the replica's address stays inside.
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		writeError(w, f.Code, errorBody{Error: fmt.Sprintf("the function answered %d: %s", f.Code, f.Body)})
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, errorBody{Error: err.Error()})
	default:
		writeError(w, http.StatusBadGateway, errorBody{Error: err.Error()})
	}
}
