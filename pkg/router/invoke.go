package router

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// Invoker calls a Function synchronously, retrying under its delivery
// policy while the caller waits.
type Invoker struct {
	Target *FunctionTarget
	Policy delivery.Policy
}

// Invoke delivers events and returns the replies, retrying retriable
// failures with backoff; the last failure is returned as a *delivery.Failure.
func (v *Invoker) Invoke(ctx context.Context, events []*cloudevent.Event) ([]*cloudevent.Event, error) {
	for attempt := 1; ; attempt++ {
		replies, err := v.Target.Deliver(ctx, events)
		if err == nil {
			return replies, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		f := delivery.AsFailure(v.Target.Function, err)
		dec := delivery.Decide(v.Policy, attempt, f)
		if dec.Action != delivery.Retry {
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
	inv, ok := in.Functions[key]
	if !ok {
		in.Metrics.reject("404")
		writeError(w, http.StatusNotFound, errorBody{Error: "no Function " + key})
		return
	}
	if in.draining.Load() {
		in.Metrics.reject("503")
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "router is shutting down"})
		return
	}
	events, ok := in.readEvents(w, r)
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
		var f *delivery.Failure
		switch {
		case errors.As(err, &f) && f.Code >= 400:
			// The function's own error answer, passed through.
			writeError(w, f.Code, errorBody{Error: f.Error()})
		case errors.Is(err, context.DeadlineExceeded):
			writeError(w, http.StatusGatewayTimeout, errorBody{Error: err.Error()})
		default:
			writeError(w, http.StatusBadGateway, errorBody{Error: err.Error()})
		}
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
