// Package traffic is the end-to-end tests' client and downstream: a Sender
// that posts CloudEvents to an HTTP source until each is accepted, and a
// Sink, a real HTTP server that counts the event ids reaching it.
package traffic

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Sink is a real HTTP server standing in for a downstream system: it
// records how often each event id arrived.
type Sink struct {
	Srv *httptest.Server
	mu  sync.Mutex
	ids map[string]int
}

func NewSink(t *testing.T) *Sink {
	s := &Sink{ids: map[string]int{}}
	s.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Ce-Id")
		if id == "" {
			http.Error(w, "no ce-id", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.ids[id]++
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.Srv.Close)
	return s
}

// Counts returns the number of distinct ids and of deliveries.
func (s *Sink) Counts() (distinct, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.ids {
		total += n
	}
	return len(s.ids), total
}

// WaitDistinct polls until the sink has seen n distinct ids.
func (s *Sink) WaitDistinct(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		d, _ := s.Counts()
		if d >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink has %d distinct events after %v, want %d", d, within, n)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// CheckExactly fails unless the sink saw exactly the ids want (each at
// least once) and nothing else; it returns the number of duplicates.
func (s *Sink) CheckExactly(t *testing.T, want map[string]bool) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	dups := 0
	for id, n := range s.ids {
		if !want[id] {
			t.Errorf("unexpected event %q at the sink", id)
		}
		dups += n - 1
	}
	for id := range want {
		if s.ids[id] == 0 {
			t.Errorf("event %q never reached the sink", id)
		}
	}
	return dups
}

// Sender posts events to an HTTP source, retrying each until it gets a
// 202, as a client of an at-least-once ingest would.
type Sender struct {
	url      string
	client   *http.Client
	Accepted atomic.Int64
}

func NewSender(url string) *Sender {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &Sender{url: url, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// SendAll sends events e0..e(n-1) with the given number of concurrent
// workers, each retried until accepted or ctx ends.
func (s *Sender) SendAll(ctx context.Context, n, workers int) error {
	ids := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				if err := s.SendOne(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() {
		defer close(ids)
		for i := range n {
			select {
			case ids <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	return <-errs
}

func (s *Sender) SendOne(ctx context.Context, i int) error {
	text := strings.Repeat("x", i%32) // half short, half long
	body := fmt.Sprintf(`{"text": %q}`, text)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", fmt.Sprintf("e%d", i))
		req.Header.Set("Ce-Source", "/e2e")
		req.Header.Set("Ce-Type", "dev.freshet.e2e.text")
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				s.Accepted.Add(1)
				return nil
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				return fmt.Errorf("event e%d: status %d", i, resp.StatusCode)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("event e%d never accepted: %w", i, ctx.Err())
		case <-time.After(20 * time.Millisecond): // client retry backoff
		}
	}
}

// Expected returns the ids the e2e pipeline produces for events 0..n-1.
func Expected(n int) map[string]bool {
	want := make(map[string]bool, n)
	for i := range n {
		want[fmt.Sprintf("e%d-enriched-classified", i)] = true
	}
	return want
}
