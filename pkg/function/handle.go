package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// MaxRequestBytes is the largest request body Handle accepts.
const MaxRequestBytes = cloudevent.DefaultMaxBytes

// Handle returns the HTTP handler of a function:
//
//   - GET /healthz answers 200.
//   - POST / accepts one event (binary or structured mode) or a batch. A
//     single event is answered with the reply in binary mode (200), or 204
//     with no body when h returns nil, nil. A batch calls h for each event in
//     order and answers application/cloudevents-batch+json with the non-nil
//     replies; the first error fails the whole batch.
//   - Bad input is answered 400 (413 when too large) with {"error": "..."}.
//   - An error from h is answered 500 with {"error": "..."}, or 422 when it
//     is Permanent. A panic in h is answered 500.
func Handle(h Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		serveEvents(w, r, h)
	})
	return mux
}

func serveEvents(w http.ResponseWriter, r *http.Request, h Handler) {
	events, err := cloudevent.ReadRequest(r, MaxRequestBytes)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, cloudevent.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, err)
		return
	}
	if cloudevent.ModeOf(r.Header.Get("Content-Type")) != cloudevent.Batch {
		reply, err := call(r.Context(), h, events[0])
		if err != nil {
			writeError(w, errorStatus(err), err)
			return
		}
		if reply == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		cloudevent.WriteResponse(w, http.StatusOK, reply)
		return
	}
	replies := make([]*cloudevent.Event, 0, len(events))
	for i, e := range events {
		reply, err := call(r.Context(), h, e)
		if err != nil {
			writeError(w, errorStatus(err), fmt.Errorf("event %d (id %q): %w", i, e.ID, err))
			return
		}
		if reply != nil {
			replies = append(replies, reply)
		}
	}
	body, err := cloudevent.MarshalBatch(replies) // validated by call already
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", cloudevent.BatchContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// call runs h, turning a panic into an error and checking the reply.
func call(ctx context.Context, h Handler, e *cloudevent.Event) (reply *cloudevent.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("function: handler panicked", "id", e.ID, "panic", p)
			reply, err = nil, fmt.Errorf("handler panicked: %v", p)
		}
	}()
	reply, err = h(ctx, e)
	if err != nil {
		return nil, err
	}
	if reply != nil {
		if verr := reply.Validate(); verr != nil {
			return nil, fmt.Errorf("handler returned an invalid event: %w", verr)
		}
	}
	return reply, nil
}

func errorStatus(err error) int {
	if IsPermanent(err) {
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// writeError answers {"error": err.Error()} with the given status.
func writeError(w http.ResponseWriter, status int, err error) {
	body, _ := json.Marshal(map[string]string{"error": err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
