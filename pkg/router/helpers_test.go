package router

import (
	"context"
	httpsource "github.com/freshetproj/freshet/pkg/source/http"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// newStore opens a real embedded JetStream store for one test.
func newStore(t *testing.T) *jetstream.Store {
	t.Helper()
	s, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openBuffer(t *testing.T, s buffer.Store, name string) buffer.Buffer {
	t.Helper()
	b, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("open buffer %s: %v", name, err)
	}
	return b
}

func testEvent(i int) *cloudevent.Event {
	return &cloudevent.Event{
		SpecVersion:     "1.0",
		ID:              "e" + strconv.Itoa(i),
		Source:          "/test",
		Type:            "dev.freshet.test",
		DataContentType: "application/json",
		Data:            []byte(`{"n":` + strconv.Itoa(i) + `}`),
	}
}

// write puts events into b as the ingress would.
func write(t *testing.T, b buffer.Buffer, events ...*cloudevent.Event) {
	t.Helper()
	msgs := make([]buffer.Message, len(events))
	for i, e := range events {
		msgs[i] = buffer.Message{ID: EventID(e), Data: cloudevent.MarshalRecord(e)}
	}
	if err := b.Write(context.Background(), msgs); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// drain reads and acks every message in b until it has want of them or the
// deadline passes, and returns the events.
func drain(t *testing.T, b buffer.Buffer, want int, within time.Duration) []*cloudevent.Event {
	t.Helper()
	var out []*cloudevent.Event
	deadline := time.Now().Add(within)
	for len(out) < want && time.Now().Before(deadline) {
		ds, err := b.Read(context.Background(), 100, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, d := range ds {
			e, err := cloudevent.UnmarshalRecord(d.Message().Data)
			if err != nil {
				t.Fatalf("record: %v", err)
			}
			out = append(out, e)
			if err := d.Ack(context.Background()); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not a wait for an outcome
	}
}

func pending(t *testing.T, b buffer.Buffer) int64 {
	t.Helper()
	n, err := b.Pending(context.Background())
	if err != nil {
		t.Fatalf("pending: %v", err)
	}
	return n
}

// recorder is a real HTTP function that records every attempt.
type recorder struct {
	mu       sync.Mutex
	attempts map[string][]time.Time // by event id
	batches  []int                  // sizes of batch requests
}

func (r *recorder) record(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.attempts == nil {
		r.attempts = map[string][]time.Time{}
	}
	r.attempts[id] = append(r.attempts[id], time.Now())
	return len(r.attempts[id])
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.attempts[id])
}

func (r *recorder) times(id string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.attempts[id]...)
}

// serveFunction starts a real HTTP server running h for each event and
// registers it as the only replica of fn in pool.
func serveFunction(t *testing.T, pool *Pool, fn string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	pool.SetConcurrency(fn, 16)
	pool.SetEndpoints(fn, []string{srv.URL})
	return srv
}

// runDispatcher runs d until the test ends.
func runDispatcher(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			t.Errorf("dispatcher: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func fastPolicy(retry int) delivery.Policy {
	return delivery.Policy{Retry: retry, Backoff: "linear", Delay: 10 * time.Millisecond, Timeout: 2 * time.Second}
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func newTestSender() *delivery.Sender { return delivery.NewSender() }

func filter(exact, prefix map[string]string) *v1alpha1.Filter {
	return &v1alpha1.Filter{Exact: exact, Prefix: prefix}
}

// sources makes an HTTP source for each key, with a Pump writing its
// events along the key's routes (and counting them in metrics, if given),
// as the data plane runs them.
func sources(t *testing.T, routes map[string][]Route, metrics ...*Metrics) map[string]*httpsource.Source {
	t.Helper()
	out := map[string]*httpsource.Source{}
	for key, rs := range routes {
		src := httpsource.New()
		p := &Pump{Vertex: key, Source: src, Routes: rs, Grace: 5 * time.Second, RetryDelay: 100 * time.Millisecond}
		if len(metrics) > 0 {
			p.Metrics = metrics[0]
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = p.Run(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
			_ = src.Close()
		})
		out[key] = src
	}
	return out
}
