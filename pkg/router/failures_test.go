package router

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/cloudevent"
)

// TestReplyTooLargeIsDeadLettered: a reply larger than the buffer can store
// can never be written downstream; the input goes to the dead-letter sink
// instead of being retried forever.
func TestReplyTooLargeIsDeadLettered(t *testing.T) {
	store := newStore(t)
	pool := NewPool()
	var calls atomic.Int64
	serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		reply := testEvent(99)
		reply.Data = bytes.Repeat([]byte("x"), jetstream.EmbeddedMaxPayload+1)
		reply.DataContentType = "application/octet-stream"
		cloudevent.WriteResponse(w, http.StatusOK, reply)
	})
	in := openBuffer(t, store, "big_in")
	out := openBuffer(t, store, "big_out")
	dlq := openBuffer(t, store, "big_dlq")
	runDispatcher(t, &Dispatcher{
		Vertex:     "ns/p/fn",
		In:         in,
		Target:     &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: 10 * time.Second},
		Policy:     fastPolicy(3),
		Routes:     []Route{{To: "out", Out: out}},
		DeadLetter: &BufferDeadLetter{To: "dlq", Out: dlq},
	})
	write(t, in, testEvent(1))
	waitFor(t, 60*time.Second, "input to be settled", func() bool { return pending(t, in) == 0 })
	mustEqual(t, "function calls", calls.Load(), int64(1))
	mustEqual(t, "outputs", pending(t, out), int64(0))
	mustEqual(t, "dead letters", pending(t, dlq), int64(1))
}

// TestOutputWriteFailureIsRetriedNotDropped: when Freshet's own buffer
// cannot take the outputs, the input is retried (the function runs again),
// never dead-lettered.
func TestOutputWriteFailureIsRetriedNotDropped(t *testing.T) {
	store := newStore(t)
	pool := NewPool()
	var calls atomic.Int64
	serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		echoReply(w, r)
	})
	in := openBuffer(t, store, "wfail_in")
	dlq := openBuffer(t, store, "wfail_dlq")
	broken := openBuffer(t, newStore(t), "wfail_out")
	broken.Close() // every write fails
	runDispatcher(t, &Dispatcher{
		Vertex:     "ns/p/fn",
		In:         in,
		Target:     &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: time.Second},
		Policy:     fastPolicy(1), // would dead-letter after 2 attempts if this were the function's fault
		Routes:     []Route{{To: "out", Out: broken}},
		DeadLetter: &BufferDeadLetter{To: "dlq", Out: dlq},
	})
	write(t, in, testEvent(1))
	waitFor(t, 60*time.Second, "four attempts", func() bool { return calls.Load() >= 4 })
	mustEqual(t, "dead letters", pending(t, dlq), int64(0))
	mustEqual(t, "input still pending", pending(t, in), int64(1))
}

// TestBatchFailureDecidedPerEvent: when a batch fails, each event is
// retried or dead-lettered by its own attempt count, so an event on its
// last attempt does not take fresh ones with it.
func TestBatchFailureDecidedPerEvent(t *testing.T) {
	store := newStore(t)
	pool := NewPool()
	var rec recorder
	serveFunction(t, pool, "fn", func(w http.ResponseWriter, r *http.Request) {
		events, err := cloudevent.ReadRequest(r, 0)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for _, e := range events {
			rec.record(e.ID)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	in := openBuffer(t, store, "pbatch_in")
	dlq := openBuffer(t, store, "pbatch_dlq")
	const retry, n = 2, 6
	runDispatcher(t, &Dispatcher{
		Vertex:     "ns/p/fn",
		In:         in,
		Target:     &FunctionTarget{Function: "fn", Pool: pool, Sender: newTestSender(), Timeout: time.Second, Batch: true},
		Policy:     fastPolicy(retry),
		DeadLetter: &BufferDeadLetter{To: "dlq", Out: dlq},
		BatchSize:  4,
		BatchWait:  20 * time.Millisecond,
	})
	var events []*cloudevent.Event
	for i := range n {
		events = append(events, testEvent(i))
	}
	write(t, in, events...)
	waitFor(t, 60*time.Second, "inputs to be settled", func() bool { return pending(t, in) == 0 })
	mustEqual(t, "dead letters", pending(t, dlq), int64(n))
	for i := range n {
		id := "e" + strconv.Itoa(i)
		mustEqual(t, "attempts of "+id, rec.count(id), retry+1)
	}
}

// TestIngressTooLargeForBuffer: an event the body limit allows but the
// buffer cannot store gets 413, not a 503 to retry forever.
func TestIngressTooLargeForBuffer(t *testing.T) {
	store := newStore(t)
	out := openBuffer(t, store, "ingbig_out")
	srv := ingressServer(t, &Ingress{
		Sources:      sources(t, map[string][]Route{"ns/p/in": {{To: "out", Out: out}}}),
		MaxBodyBytes: 2 * jetstream.EmbeddedMaxPayload,
	})
	body := string(bytes.Repeat([]byte("x"), jetstream.EmbeddedMaxPayload+1))
	a := do(t, srv.URL, request{path: "/pipelines/ns/p/in", header: binaryHeaders("big", map[string]string{"Content-Type": "text/plain"}), body: body})
	mustEqual(t, "status", a.status, http.StatusRequestEntityTooLarge)
	mustEqual(t, "stored", pending(t, out), int64(0))
}
