package router

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestActivatorNotReady: a cold function that never becomes ready is
// answered 503 with Retry-After and a message saying so, after the
// activation timeout.
func TestActivatorNotReady(t *testing.T) {
	pool := NewPool()
	srv := ingressServer(t, &Ingress{Functions: map[string]*Invoker{"ns/cold": {
		Target:            &FunctionTarget{Function: "ns/cold", Pool: pool, Sender: newTestSender(), Timeout: time.Second},
		Policy:            fastPolicy(0),
		ActivationTimeout: 300 * time.Millisecond,
	}}})
	start := time.Now()
	a := do(t, srv.URL, request{path: "/functions/ns/cold", header: binaryHeaders("c1", nil)})
	mustEqual(t, "status", a.status, http.StatusServiceUnavailable)
	if a.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if msg := a.errorBody(t).Error; !strings.Contains(msg, "did not become ready") || !strings.Contains(msg, "ns/cold") {
		t.Fatalf("message %q does not say the function did not become ready", msg)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("answered after %v, before the activation timeout", waited)
	}
}

// TestActivatorQueueFull: with every replica busy and the queue full, a
// further request is answered 429 at once; the held ones are served when a
// replica frees up.
func TestActivatorQueueFull(t *testing.T) {
	pool := NewPool()
	release := make(chan struct{})
	var once sync.Once
	serveFunction(t, pool, "ns/busy", func(w http.ResponseWriter, r *http.Request) {
		<-release
		echoReply(w, r)
	})
	pool.SetConcurrency("ns/busy", 1)
	inv := &Invoker{
		Target:     &FunctionTarget{Function: "ns/busy", Pool: pool, Sender: newTestSender(), Timeout: 10 * time.Second},
		Policy:     fastPolicy(0),
		MaxWaiting: 2,
	}
	srv := ingressServer(t, &Ingress{Functions: map[string]*Invoker{"ns/busy": inv}})
	t.Cleanup(func() { once.Do(func() { close(release) }) })

	results := make(chan int, 3)
	for i := range 3 { // one in flight, two held
		go func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/functions/ns/busy", nil)
			for k, v := range binaryHeaders("q"+string(rune('0'+i)), nil) {
				req.Header[k] = []string{v}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- -1
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	waitFor(t, 10*time.Second, "one request in flight and two held", func() bool {
		return pool.InFlight("ns/busy") == 1 && inv.Waiting() == 2
	})
	a := do(t, srv.URL, request{path: "/functions/ns/busy", header: binaryHeaders("q9", nil)})
	mustEqual(t, "status of the fourth request", a.status, http.StatusTooManyRequests)
	once.Do(func() { close(release) })
	for range 3 {
		select {
		case code := <-results:
			mustEqual(t, "status of a held request", code, http.StatusOK)
		case <-time.After(20 * time.Second):
			t.Fatal("held requests were not served")
		}
	}
}

// TestPoolWakeAndColdStart: a request that finds no ready replica wakes the
// function once, and the cold start is measured from that request to its
// reply.
func TestPoolWakeAndColdStart(t *testing.T) {
	pool := NewPool()
	var mu sync.Mutex
	var woken []string
	var cold []time.Duration
	pool.Wake = func(fn string) {
		mu.Lock()
		woken = append(woken, fn)
		mu.Unlock()
	}
	pool.ColdStart = func(fn string, d time.Duration) { cold = append(cold, d) } // under the pool's lock
	pool.SetConcurrency("fn", 4)

	got := make(chan func(), 1)
	go func() {
		_, release, err := pool.Acquire(context.Background(), "fn")
		if err != nil {
			close(got)
			return
		}
		got <- release
	}()
	waitFor(t, 10*time.Second, "the waiting request to wake the function", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(woken) == 1 && woken[0] == "fn"
	})
	const wake = 50 * time.Millisecond
	time.Sleep(wake) // the function's start-up time in this scenario, not a wait for an outcome
	pool.SetEndpoints("fn", []string{"http://127.0.0.1:1"})
	release, ok := <-got
	if !ok {
		t.Fatal("Acquire failed")
	}
	if _, _, ok := pool.TryAcquire("fn"); !ok {
		t.Fatal("TryAcquire found no free slot on a replica with 3 free")
	}
	release()
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if len(cold) != 1 || cold[0] < wake {
		t.Fatalf("cold starts %v, want one of at least %v", cold, wake)
	}
	if n := pool.fns["fn"].completed; n != 1 {
		t.Fatalf("completed %d, want 1", n)
	}
}

// TestPoolServesWaitersInOrder: freed slots go to waiting requests first
// come, first served, and a request that arrives later does not jump the
// queue through TryAcquire.
func TestPoolServesWaitersInOrder(t *testing.T) {
	pool := NewPool()
	pool.SetConcurrency("fn", 1)
	pool.SetEndpoints("fn", []string{"http://127.0.0.1:1"})
	_, first, err := pool.Acquire(context.Background(), "fn")
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	releases := make(chan func(), 3)
	for i := range 3 {
		go func() {
			_, release, err := pool.Acquire(context.Background(), "fn")
			if err != nil {
				return
			}
			order <- i
			releases <- release
		}()
		waitFor(t, 10*time.Second, "the request to queue", func() bool { return pool.Waiting("fn") == i+1 })
	}
	if _, _, ok := pool.TryAcquire("fn"); ok {
		t.Fatal("TryAcquire jumped the queue")
	}
	first()
	for want := range 3 {
		got := within(t, order, "a waiter to be served")
		mustEqual(t, "served", got, want)
		(<-releases)()
	}
	mustEqual(t, "in flight", pool.InFlight("fn"), 0)
}
