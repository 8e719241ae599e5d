package router

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	httpsource "github.com/freshetproj/freshet/pkg/source/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMaxBodyBytes is the default limit of an ingress request body (4 MiB).
const DefaultMaxBodyBytes = 4 << 20

// Ingress is the router's HTTP front: CloudEvents into HTTP source vertices,
// synchronous function invocation, health and metrics.
//
// Sources, Paused and Functions are what it serves at first; SetTable
// replaces them while it serves.
type Ingress struct {
	// Sources maps "namespace/pipeline/vertex" of every HTTP source to it;
	// a Pump writes its events into the buffers of its edges.
	Sources map[string]*httpsource.Source
	// Paused holds the sources of paused pipelines (which have no Source
	// running): they answer 503 and take nothing.
	Paused map[string]bool
	// Functions maps "namespace/name" to the invoker of a Function.
	Functions map[string]*Invoker
	// MaxBodyBytes limits a request body; larger gets 413. Default 4 MiB.
	MaxBodyBytes int64
	Gatherer     prometheus.Gatherer
	Metrics      *Metrics
	Log          *slog.Logger

	draining atomic.Bool
	mu       sync.RWMutex // guards Sources, Paused and Functions
}

// Table is what an Ingress serves; see the Ingress fields of the same names.
type Table struct {
	Sources   map[string]*httpsource.Source
	Paused    map[string]bool
	Functions map[string]*Invoker
}

// SetTable replaces what the ingress serves. Requests already admitted
// finish with what they found.
func (in *Ingress) SetTable(t Table) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.Sources, in.Paused, in.Functions = t.Sources, t.Paused, t.Functions
}

// source looks up the HTTP source key.
func (in *Ingress) source(key string) (src *httpsource.Source, found, paused bool) {
	in.mu.RLock()
	defer in.mu.RUnlock()
	src, found = in.Sources[key]
	paused = in.Paused[key]
	return src, found || paused, paused
}

// function looks up the Function key.
func (in *Ingress) function(key string) (*Invoker, bool) {
	in.mu.RLock()
	defer in.mu.RUnlock()
	inv, found := in.Functions[key]
	return inv, found
}

// SetDraining makes /readyz answer 503 and new events get 503, while the
// router shuts down.
func (in *Ingress) SetDraining() { in.draining.Store(true) }

// Handler returns the HTTP handler.
func (in *Ingress) Handler() http.Handler {
	if in.MaxBodyBytes <= 0 {
		in.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if in.Log == nil {
		in.Log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pipelines/{namespace}/{pipeline}/{vertex}", in.ingest)
	mux.HandleFunc("POST /functions/{namespace}/{function}", in.invoke)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if in.draining.Load() {
			writeError(w, http.StatusServiceUnavailable, errorBody{Error: "draining"})
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	if in.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(in.Gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error     string `json:"error"`
	Attribute string `json:"attribute,omitempty"`
	// Index is the position of the bad event in a batch.
	Index *int `json:"index,omitempty"`
}

func writeError(w http.ResponseWriter, code int, body errorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// admit answers 404 for an unknown target and 503 while draining, then
// reads the request's events; it returns false when it has answered.
func (in *Ingress) admit(w http.ResponseWriter, r *http.Request, found bool, notFound string) ([]*cloudevent.Event, bool) {
	if !found {
		in.Metrics.reject("404")
		writeError(w, http.StatusNotFound, errorBody{Error: notFound})
		return nil, false
	}
	if in.draining.Load() {
		in.Metrics.reject("503")
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "router is shutting down"})
		return nil, false
	}
	return in.readEvents(w, r)
}

// readEvents parses and validates the request's events (ReadRequest
// validates them), answering the error itself when it returns false.
func (in *Ingress) readEvents(w http.ResponseWriter, r *http.Request) ([]*cloudevent.Event, bool) {
	events, err := cloudevent.ReadRequest(r, in.MaxBodyBytes)
	if err == nil {
		return events, true
	}
	var v *cloudevent.ValidationError
	switch {
	case errors.Is(err, cloudevent.ErrTooLarge):
		in.Metrics.reject("413")
		writeError(w, http.StatusRequestEntityTooLarge, errorBody{Error: "request body is larger than " + strconv.FormatInt(in.MaxBodyBytes, 10) + " bytes"})
	case errors.As(err, &v):
		in.Metrics.reject("400")
		body := errorBody{Error: v.Error(), Attribute: v.Attribute}
		if v.Index >= 0 {
			body.Index = &v.Index
		}
		writeError(w, http.StatusBadRequest, body)
	default:
		in.Metrics.reject("400")
		writeError(w, http.StatusBadRequest, errorBody{Error: err.Error()})
	}
	return nil, false
}

// pausedRetryAfter is the Retry-After, in seconds, of a paused source's 503:
// a pause is an operator's decision, likely to last minutes.
const pausedRetryAfter = 30

// ingest hands the request's events to the HTTP source and answers 202
// only once all of them are durably buffered.
func (in *Ingress) ingest(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("namespace") + "/" + r.PathValue("pipeline") + "/" + r.PathValue("vertex")
	src, found, paused := in.source(key)
	if found && paused {
		in.Metrics.reject("503")
		w.Header().Set("Retry-After", strconv.Itoa(pausedRetryAfter))
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "pipeline " + r.PathValue("namespace") + "/" + r.PathValue("pipeline") + " is paused: it takes no events until resumed"})
		return
	}
	events, ok := in.admit(w, r, found, "no HTTP source vertex "+key)
	if !ok {
		return
	}
	err := src.Submit(r.Context(), events)
	var notStored *httpsource.NotStoredError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusAccepted)
	case errors.Is(err, buffer.ErrTooLarge):
		in.Metrics.reject("413")
		writeError(w, http.StatusRequestEntityTooLarge, errorBody{Error: "an event is larger than the buffer can store"})
	case errors.Is(err, httpsource.ErrBusy):
		in.Metrics.reject("429")
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, errorBody{Error: "source " + key + ": " + err.Error()})
	case errors.As(err, &notStored):
		in.Metrics.reject("503")
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(notStored.RetryAfter.Seconds())))))
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "could not store events: the buffer is unavailable; send them again"})
	default: // the source closed (reconfigured, shutting down) or the client left
		in.Metrics.reject("503")
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "source " + key + ": " + err.Error() + "; send the events again"})
	}
}
