package router

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// echoReply answers an event with a reply event derived from it.
func echoReply(w http.ResponseWriter, r *http.Request) {
	events, err := cloudevent.ReadRequest(r, 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply := events[0].Clone()
	reply.ID = events[0].ID + "-reply"
	reply.Type = "dev.freshet.reply"
	reply.Subject = "réponse"
	reply.DataContentType = "application/json"
	reply.Data = []byte(`{"echo":` + string(events[0].Data) + `}`)
	cloudevent.WriteResponse(w, http.StatusOK, reply)
}

func TestInvoke(t *testing.T) {
	single := func(id string) request {
		return request{header: binaryHeaders(id, map[string]string{"Content-Type": "application/json"}), body: `{"n":1}`}
	}
	cases := []struct {
		name     string
		handler  func(attempt int, w http.ResponseWriter, r *http.Request)
		batch    bool // the function takes batches
		retry    int
		timeout  time.Duration
		req      request
		status   int
		attempts int    // function calls made
		errHas   string // error body mentions this
		check    func(t *testing.T, a answer)
	}{
		{
			name:    "reply in binary mode",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) { echoReply(w, r) },
			req:     single("i1"), status: 200, attempts: 1,
			check: func(t *testing.T, a answer) {
				for k, v := range map[string]string{
					"Ce-Specversion": "1.0", "Ce-Id": "i1-reply", "Ce-Source": "/ingress/test",
					"Ce-Type": "dev.freshet.reply", "Ce-Subject": "r%C3%A9ponse", "Content-Type": "application/json",
				} {
					if got := a.header.Get(k); got != v {
						t.Fatalf("reply header %s = %q, want %q", k, got, v)
					}
				}
				mustEqual(t, "reply body", string(a.body), `{"echo":{"n":1}}`)
			},
		},
		{
			name:    "structured request, binary reply",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) { echoReply(w, r) },
			req: request{header: map[string]string{"Content-Type": structuredCT},
				body: `{"specversion":"1.0","id":"i2","source":"/ingress/test","type":"t","data":{"n":2}}`},
			status: 200, attempts: 1,
			check: func(t *testing.T, a answer) {
				mustEqual(t, "Ce-Id", a.header.Get("Ce-Id"), "i2-reply")
				mustEqual(t, "reply body", string(a.body), `{"echo":{"n":2}}`)
			},
		},
		{
			name:    "empty 204 reply",
			handler: func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) },
			req:     single("i3"), status: 204, attempts: 1,
		},
		{
			name:    "empty 200 reply",
			handler: func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) },
			req:     single("i4"), status: 204, attempts: 1,
		},
		{
			name: "422 passed through",
			handler: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusUnprocessableEntity)
				io.WriteString(w, "field n must be even")
			},
			retry: 3, req: single("i5"), status: 422, attempts: 1, errHas: "field n must be even",
		},
		{
			name: "400 passed through without retries",
			handler: func(_ int, w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "no thanks", http.StatusBadRequest)
			},
			retry: 3, req: single("i6"), status: 400, attempts: 1, errHas: "no thanks",
		},
		{
			name: "503 then 200",
			handler: func(attempt int, w http.ResponseWriter, r *http.Request) {
				if attempt == 1 {
					http.Error(w, "warming up", http.StatusServiceUnavailable)
					return
				}
				echoReply(w, r)
			},
			retry: 2, req: single("i7"), status: 200, attempts: 2,
			check: func(t *testing.T, a answer) { mustEqual(t, "Ce-Id", a.header.Get("Ce-Id"), "i7-reply") },
		},
		{
			name: "503 every time",
			handler: func(_ int, w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "still down", http.StatusServiceUnavailable)
			},
			retry: 2, req: single("i8"), status: 503, attempts: 3, errHas: "still down",
		},
		{
			name: "timeout",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-time.After(30 * time.Second):
				}
			},
			retry: 1, timeout: 200 * time.Millisecond, req: single("i9"), status: 504, attempts: 2,
		},
		{
			name:    "batch to a non-batch function",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) { echoReply(w, r) },
			req: request{header: map[string]string{"Content-Type": cloudevent.BatchContentType},
				body: `[{"specversion":"1.0","id":"j1","source":"/s","type":"t"},{"specversion":"1.0","id":"j2","source":"/s","type":"t"}]`},
			status: 400, attempts: 0, errHas: "batch",
		},
		{
			name:    "empty batch to a non-batch function",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) { echoReply(w, r) },
			req:     request{header: map[string]string{"Content-Type": cloudevent.BatchContentType}, body: `[]`},
			status:  400, attempts: 0, errHas: "batch",
		},
		{
			name: "batch to a batch function",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) {
				events, err := cloudevent.ReadRequest(r, 0)
				if err != nil || r.Header.Get("Content-Type") != cloudevent.BatchContentType {
					http.Error(w, "want a batch", 400)
					return
				}
				for _, e := range events {
					e.Type = "dev.freshet.scored"
				}
				b, _ := cloudevent.MarshalBatch(events)
				w.Header().Set("Content-Type", cloudevent.BatchContentType)
				w.Write(b)
			},
			batch: true,
			req: request{header: map[string]string{"Content-Type": cloudevent.BatchContentType},
				body: `[{"specversion":"1.0","id":"j1","source":"/s","type":"t"},{"specversion":"1.0","id":"j2","source":"/s","type":"t"}]`},
			status: 200, attempts: 1,
			check: func(t *testing.T, a answer) {
				mustEqual(t, "Content-Type", a.header.Get("Content-Type"), cloudevent.BatchContentType)
				events, err := cloudevent.ReadResponse(&http.Response{Header: a.header, Body: io.NopCloser(strings.NewReader(string(a.body))), ContentLength: -1}, 0)
				if err != nil || len(events) != 2 || events[1].ID != "j2" || events[0].Type != "dev.freshet.scored" {
					t.Fatalf("batch reply = %+v, %v", events, err)
				}
			},
		},
		{
			name:    "invalid event",
			handler: func(_ int, w http.ResponseWriter, r *http.Request) { echoReply(w, r) },
			req:     request{header: binaryHeaders("x", map[string]string{"ce-source": ""})},
			status:  400, attempts: 0, errHas: `"source"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := NewPool()
			var rec recorder
			serveFunction(t, pool, "ns/fn", func(w http.ResponseWriter, r *http.Request) {
				id := r.Header.Get("Ce-Id")
				if tc.batch {
					id = "batch"
				}
				tc.handler(rec.record(id), w, r)
			})
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			in := &Ingress{Functions: map[string]*Invoker{"ns/fn": {
				Target: &FunctionTarget{Function: "ns/fn", Pool: pool, Sender: newTestSender(), Timeout: timeout, Batch: tc.batch},
				Policy: fastPolicy(tc.retry),
			}}}
			srv := ingressServer(t, in)
			r := tc.req
			r.path = "/functions/ns/fn"
			a := do(t, srv.URL, r)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; headers %v; body %q", a.status, tc.status, a.header, a.body)
			}
			calls := 0
			rec.mu.Lock()
			for _, ts := range rec.attempts {
				calls += len(ts)
			}
			rec.mu.Unlock()
			mustEqual(t, "function calls", calls, tc.attempts)
			if tc.status >= 400 {
				e := a.errorBody(t)
				if !strings.Contains(e.Error, tc.errHas) {
					t.Fatalf("error %q does not mention %q", e.Error, tc.errHas)
				}
			}
			if tc.status == 204 && len(a.body) != 0 {
				t.Fatalf("204 with body %q", a.body)
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func TestInvokeUnknownFunction(t *testing.T) {
	pool := NewPool()
	serveFunction(t, pool, "ns/fn", echoReply)
	srv := ingressServer(t, &Ingress{Functions: map[string]*Invoker{"ns/fn": {
		Target: &FunctionTarget{Function: "ns/fn", Pool: pool, Sender: newTestSender(), Timeout: time.Second},
		Policy: fastPolicy(0),
	}}})
	for _, path := range []string{"/functions/ns/other", "/functions/other/fn"} {
		a := do(t, srv.URL, request{path: path, header: binaryHeaders("u1", nil)})
		mustEqual(t, path+" status", a.status, http.StatusNotFound)
		if e := a.errorBody(t); !strings.Contains(e.Error, strings.TrimPrefix(path, "/functions/")) {
			t.Fatalf("404 error %q does not name the function", e.Error)
		}
	}
	a := do(t, srv.URL, request{method: http.MethodGet, path: "/functions/ns/fn"})
	mustEqual(t, "GET status", a.status, http.StatusMethodNotAllowed)
}

// TestInvokeInvalidReply: a function that answers 2xx with something that
// is not a CloudEvent failed; the caller must get an error status, not a
// 2xx carrying an error body.
func TestInvokeInvalidReply(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"200 text/plain body", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello, not an event")
		}},
		{"201 event missing its source", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Ce-Specversion", "1.0")
			w.Header().Set("Ce-Id", "x")
			w.Header().Set("Ce-Type", "t")
			w.WriteHeader(http.StatusCreated)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool := NewPool()
			var rec recorder
			serveFunction(t, pool, "ns/fn", func(w http.ResponseWriter, r *http.Request) {
				rec.record(r.Header.Get("Ce-Id"))
				tc.handler(w, r)
			})
			srv := ingressServer(t, &Ingress{Functions: map[string]*Invoker{"ns/fn": {
				Target: &FunctionTarget{Function: "ns/fn", Pool: pool, Sender: newTestSender(), Timeout: 5 * time.Second},
				Policy: fastPolicy(3),
			}}})
			a := do(t, srv.URL, request{path: "/functions/ns/fn", header: binaryHeaders("v1", nil)})
			mustEqual(t, "function calls (an invalid reply is permanent)", rec.count("v1"), 1)
			if a.status < 500 {
				t.Fatalf("a 2xx reply that is not a valid CloudEvent gave the caller %d with body %q, want 502 Bad Gateway", a.status, a.body)
			}
			a.errorBody(t)
		})
	}
}

// TestInvokeWakesFromZero: an invocation with no ready replica is held
// until one appears, then answered.
func TestInvokeWakesFromZero(t *testing.T) {
	pool := NewPool()
	srv := ingressServer(t, &Ingress{Functions: map[string]*Invoker{"ns/fn": {
		Target: &FunctionTarget{Function: "ns/fn", Pool: pool, Sender: newTestSender(), Timeout: 5 * time.Second},
		Policy: fastPolicy(0),
	}}})
	done := make(chan answer, 1)
	go func() {
		// Not do(): t.Fatalf must not be called outside the test goroutine.
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/functions/ns/fn", nil)
		for k, v := range binaryHeaders("w1", nil) {
			req.Header[k] = []string{v}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	notYet(t, done, "invoke with no replica")
	serveFunction(t, pool, "ns/fn", echoReply)
	a := within(t, done, "invoke after a replica appeared")
	mustEqual(t, "status", a.status, http.StatusOK)
	mustEqual(t, "Ce-Id", a.header.Get("Ce-Id"), "w1-reply")
	mustEqual(t, "in flight", pool.InFlight("ns/fn"), 0)
}

// TestInvokerInvoke drives Invoker.Invoke directly: retries follow the
// policy and the last failure comes back as a *delivery.Failure.
func TestInvokerInvoke(t *testing.T) {
	pool := NewPool()
	var rec recorder
	serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
		n := rec.record(r.Header.Get("Ce-Id"))
		if r.Header.Get("Ce-Id") == "ok-on-3" && n == 3 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusTooManyRequests)
	})
	inv := &Invoker{
		Target: &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: 5 * time.Second},
		Policy: delivery.Policy{Retry: 2, Backoff: "linear", Delay: 100 * time.Millisecond, Timeout: 5 * time.Second},
	}
	start := time.Now()
	replies, err := inv.Invoke(context.Background(), []*cloudevent.Event{ev("ok-on-3", nil)})
	if err != nil || len(replies) != 0 {
		t.Fatalf("Invoke = %v, %v; want success with no replies", replies, err)
	}
	mustEqual(t, "attempts", rec.count("ok-on-3"), 3)
	// Backoff 100ms then 200ms: a lower bound only.
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Fatalf("3 attempts took %v, less than the 300ms of backoff", elapsed)
	}
	_, err = inv.Invoke(context.Background(), []*cloudevent.Event{ev("never", nil)})
	var f *delivery.Failure
	if !errors.As(err, &f) || f.Code != http.StatusTooManyRequests {
		t.Fatalf("Invoke = %v, want a 429 *delivery.Failure", err)
	}
	mustEqual(t, "attempts", rec.count("never"), 3)
	// A context that ends during the backoff stops the retries.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	inv.Policy.Delay = time.Minute
	start = time.Now()
	_, err = inv.Invoke(ctx, []*cloudevent.Event{ev("cut", nil)})
	if !errors.As(err, &f) {
		t.Fatalf("Invoke with a short context = %v, want a *delivery.Failure", err)
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Fatalf("Invoke waited %v, past its context and into the 1m backoff", elapsed)
	}
	if n := rec.count("cut"); n > 1 {
		t.Fatalf("%d attempts; the context ended during the first backoff", n)
	}
}
