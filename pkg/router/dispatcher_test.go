package router

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// TestDeliveryAttempts checks, against a real JetStream buffer and a real
// HTTP function, that retriable failures are attempted retry+1 times and
// permanent ones once, and that the dead-letter sink then receives the
// event exactly once with the error extensions.
func TestDeliveryAttempts(t *testing.T) {
	const retry = 2
	cases := []struct {
		name     string
		code     int // 0: the handler hangs past the attempt timeout
		attempts int
	}{
		{"500", 500, retry + 1},
		{"502", 502, retry + 1},
		{"503", 503, retry + 1},
		{"404", 404, retry + 1},
		{"408", 408, retry + 1},
		{"409", 409, retry + 1},
		{"429", 429, retry + 1},
		{"timeout", 0, retry + 1},
		{"400", 400, 1},
		{"401", 401, 1},
		{"403", 403, 1},
		{"422", 422, 1},
	}
	store := newStore(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := NewPool()
			var rec recorder
			serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
				rec.record(r.Header.Get("Ce-Id"))
				io.Copy(io.Discard, r.Body) // so the server notices the client leaving
				if tc.code == 0 {
					select {
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
					return
				}
				w.WriteHeader(tc.code)
				io.WriteString(w, "failed with "+strconv.Itoa(tc.code))
			})
			in := openBuffer(t, store, "attempts_in_"+tc.name)
			dlq := openBuffer(t, store, "attempts_dlq_"+tc.name)
			policy := fastPolicy(retry)
			if tc.code == 0 {
				policy.Timeout = 200 * time.Millisecond
			}
			runDispatcher(t, &Dispatcher{
				Vertex:     "ns/p/fn",
				In:         in,
				Target:     &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: policy.Timeout},
				Policy:     policy,
				DeadLetter: &BufferDeadLetter{To: "ns/p/dlq", Out: dlq},
			})
			e := testEvent(1)
			write(t, in, e)
			waitFor(t, 30*time.Second, "input to be settled", func() bool { return pending(t, in) == 0 })
			mustEqual(t, "attempts", rec.count(e.ID), tc.attempts)
			mustEqual(t, "dead letters pending", pending(t, dlq), int64(1))
			got := drain(t, dlq, 1, 5*time.Second)
			mustEqual(t, "dead letters", len(got), 1)
			dl := got[0]
			mustEqual(t, "dead letter id", dl.ID, e.ID)
			mustEqual(t, "dead letter data", string(dl.Data), string(e.Data))
			wantCode := strconv.Itoa(tc.code)
			mustEqual(t, ExtErrorCode, dl.Extensions[ExtErrorCode], wantCode)
			if dest := dl.Extensions[ExtErrorDest]; dest == "" {
				t.Fatalf("%s is empty", ExtErrorDest)
			}
			body, err := base64.StdEncoding.DecodeString(dl.Extensions[ExtErrorData])
			if err != nil {
				t.Fatalf("%s is not base64: %v", ExtErrorData, err)
			}
			if tc.code != 0 {
				mustEqual(t, "dead letter body", string(body), "failed with "+wantCode)
			} else if len(body) == 0 {
				t.Fatalf("timeout dead letter has no error text")
			}
		})
	}
}

// TestConnectionErrorIsRetried points the function at a closed port.
func TestConnectionErrorIsRetried(t *testing.T) {
	store := newStore(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	pool := NewPool()
	pool.SetConcurrency("fn", 1)
	pool.SetEndpoints("fn", []string{url})
	in := openBuffer(t, store, "connerr_in")
	dlq := openBuffer(t, store, "connerr_dlq")
	d := &Dispatcher{
		Vertex:     "ns/p/fn",
		In:         in,
		Target:     &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: time.Second},
		Policy:     fastPolicy(3),
		DeadLetter: &BufferDeadLetter{To: "ns/p/dlq", Out: dlq},
		Metrics:    nil,
	}
	runDispatcher(t, d)
	write(t, in, testEvent(1))
	waitFor(t, 30*time.Second, "input to be settled", func() bool { return pending(t, in) == 0 })
	got := drain(t, dlq, 1, 5*time.Second)
	mustEqual(t, "dead letters", len(got), 1)
	mustEqual(t, ExtErrorCode, got[0].Extensions[ExtErrorCode], "0")
}

// TestRetryAfterHonoured: a 429 with Retry-After: 1 delays the next attempt
// by at least a second although the policy's backoff is 10ms.
func TestRetryAfterHonoured(t *testing.T) {
	store := newStore(t)
	pool := NewPool()
	var rec recorder
	serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
		if rec.record(r.Header.Get("Ce-Id")) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	in := openBuffer(t, store, "retryafter_in")
	runDispatcher(t, &Dispatcher{
		Vertex: "ns/p/fn",
		In:     in,
		Target: &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: time.Second},
		Policy: fastPolicy(3),
	})
	e := testEvent(1)
	write(t, in, e)
	waitFor(t, 30*time.Second, "input to be settled", func() bool { return pending(t, in) == 0 })
	times := rec.times(e.ID)
	mustEqual(t, "attempts", len(times), 2)
	// A lower bound only: a busy machine can make the gap longer, never shorter.
	if gap := times[1].Sub(times[0]); gap < 950*time.Millisecond {
		t.Fatalf("second attempt came %v after the first; Retry-After asked for 1s", gap)
	}
}

// TestRoutesFilterAndFanOut: a reply goes along every edge whose filter
// matches; an empty reply goes nowhere; the input is acked in both cases.
func TestRoutesFilterAndFanOut(t *testing.T) {
	store := newStore(t)
	pool := NewPool()
	serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
		events, err := cloudevent.ReadRequest(r, 0)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		e := events[0]
		if e.ID == "e2" {
			w.WriteHeader(http.StatusNoContent) // filtered out by the function
			return
		}
		reply := e.Clone()
		reply.ID = e.ID + "-out"
		reply.Type = "dev.freshet.long"
		reply.SetExtension("tenant", "acme-eu")
		cloudevent.WriteResponse(w, http.StatusOK, reply)
	})
	in := openBuffer(t, store, "fanout_in")
	long := openBuffer(t, store, "fanout_long")
	short := openBuffer(t, store, "fanout_short")
	all := openBuffer(t, store, "fanout_all")
	acme := openBuffer(t, store, "fanout_acme")
	runDispatcher(t, &Dispatcher{
		Vertex: "ns/p/fn",
		In:     in,
		Target: &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: time.Second},
		Policy: fastPolicy(1),
		Routes: []Route{
			{To: "long", Out: long, Filter: filter(map[string]string{"type": "dev.freshet.long"}, nil)},
			{To: "short", Out: short, Filter: filter(map[string]string{"type": "dev.freshet.short"}, nil)},
			{To: "all", Out: all},
			{To: "acme", Out: acme, Filter: filter(nil, map[string]string{"tenant": "acme-", "type": "dev.freshet."})},
		},
	})
	write(t, in, testEvent(1), testEvent(2))
	waitFor(t, 30*time.Second, "inputs to be settled", func() bool { return pending(t, in) == 0 })
	mustEqual(t, "long", pending(t, long), int64(1))
	mustEqual(t, "short", pending(t, short), int64(0))
	mustEqual(t, "all", pending(t, all), int64(1))
	mustEqual(t, "acme", pending(t, acme), int64(1))
	got := drain(t, all, 1, 5*time.Second)
	mustEqual(t, "reply id", got[0].ID, "e1-out")
}

// TestBatches: a batching function receives batch requests of at most
// MaxSize events and its batch reply is routed on.
func TestBatches(t *testing.T) {
	store := newStore(t)
	pool := NewPool()
	var rec recorder
	serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/cloudevents-batch+json" {
			http.Error(w, "not a batch: "+ct, 400)
			return
		}
		events, err := cloudevent.ReadRequest(r, 0)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rec.mu.Lock()
		rec.batches = append(rec.batches, len(events))
		rec.mu.Unlock()
		for _, e := range events {
			e.Type = "dev.freshet.scored"
		}
		body, _ := cloudevent.MarshalBatch(events)
		w.Header().Set("Content-Type", "application/cloudevents-batch+json")
		w.Write(body)
	})
	in := openBuffer(t, store, "batch_in")
	out := openBuffer(t, store, "batch_out")
	const n = 40
	var events []*cloudevent.Event
	for i := range n {
		events = append(events, testEvent(i))
	}
	write(t, in, events...)
	runDispatcher(t, &Dispatcher{
		Vertex:    "ns/p/fn",
		In:        in,
		Target:    &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: time.Second, Batch: true},
		Policy:    fastPolicy(1),
		Routes:    []Route{{To: "out", Out: out}},
		BatchSize: 8,
		BatchWait: 50 * time.Millisecond,
	})
	waitFor(t, 30*time.Second, "inputs to be settled", func() bool { return pending(t, in) == 0 })
	mustEqual(t, "outputs", pending(t, out), int64(n))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	total := 0
	for _, size := range rec.batches {
		if size < 1 || size > 8 {
			t.Fatalf("batch of %d events, want 1..8", size)
		}
		total += size
	}
	mustEqual(t, "events in batches", total, n)
	if len(rec.batches) >= n {
		t.Fatalf("%d requests for %d events: nothing was batched", len(rec.batches), n)
	}
}
