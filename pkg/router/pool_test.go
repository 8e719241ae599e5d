package router

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// acquired is one held slot.
type acquired struct {
	url     string
	release func()
}

func mustAcquire(t *testing.T, p *Pool, fn string) acquired {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url, release, err := p.Acquire(ctx, fn)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", fn, err)
	}
	return acquired{url, release}
}

// acquireAsync starts an Acquire and returns a channel with its result.
func acquireAsync(ctx context.Context, p *Pool, fn string) <-chan acquiredErr {
	ch := make(chan acquiredErr, 1)
	go func() {
		url, release, err := p.Acquire(ctx, fn)
		ch <- acquiredErr{acquired{url, release}, err}
	}()
	return ch
}

type acquiredErr struct {
	acquired
	err error
}

// notYet fails if ch delivers within a short window: used to show that a
// call is blocked. A slow machine can only make this pass more easily, never
// fail spuriously.
func notYet[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s returned early: %+v", what, v)
	case <-time.After(150 * time.Millisecond):
	}
}

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestPoolLeastLoaded(t *testing.T) {
	p := NewPool()
	p.SetConcurrency("fn", 10)
	p.SetEndpoints("fn", []string{"a", "b", "c"})
	// Three acquisitions land on three different replicas.
	held := map[string]acquired{}
	for range 3 {
		x := mustAcquire(t, p, "fn")
		if _, dup := held[x.url]; dup {
			t.Fatalf("second acquisition on %s while other replicas were idle (held: %v)", x.url, keys(held))
		}
		held[x.url] = x
	}
	// a idle, b and c busy: every pick goes to a, whatever the round-robin
	// position.
	held["a"].release()
	for i := range 5 {
		x := mustAcquire(t, p, "fn")
		mustEqual(t, fmt.Sprintf("pick %d with only a idle", i), x.url, "a")
		x.release()
	}
	// Equal loads again (1 each): three more go one to each.
	mustAcquire(t, p, "fn")
	counts := map[string]int{}
	for range 3 {
		counts[mustAcquire(t, p, "fn").url]++
	}
	if counts["a"] != 1 || counts["b"] != 1 || counts["c"] != 1 {
		t.Fatalf("with equal loads 3 acquisitions went %v, want one each", counts)
	}
	mustEqual(t, "in flight", p.InFlight("fn"), 6)
}

// TestPoolPicksTheLeastLoaded builds uneven loads and checks each pick.
func TestPoolPicksTheLeastLoaded(t *testing.T) {
	cases := []struct {
		name  string
		loads map[string]int // held slots per replica before the pick
		want  string
	}{
		{"first idle", map[string]int{"a": 0, "b": 2, "c": 3}, "a"},
		{"middle idle", map[string]int{"a": 2, "b": 0, "c": 3}, "b"},
		{"last lowest", map[string]int{"a": 3, "b": 2, "c": 1}, "c"},
		{"full skipped", map[string]int{"a": 4, "b": 4, "c": 3}, "c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool()
			p.SetConcurrency("fn", 4)
			for _, u := range []string{"a", "b", "c"} {
				// Build the load on u alone so the picks are forced.
				p.SetEndpoints("fn", []string{u})
				for range tc.loads[u] {
					mustAcquire(t, p, "fn")
				}
			}
			p.SetEndpoints("fn", []string{"a", "b", "c"})
			for i := range 4 {
				// Whatever the round-robin position, the pick is the same.
				x := mustAcquire(t, p, "fn")
				mustEqual(t, fmt.Sprintf("pick %d", i), x.url, tc.want)
				x.release()
			}
		})
	}
}

func TestPoolRoundRobinAmongEqualLoads(t *testing.T) {
	p := NewPool()
	p.SetConcurrency("fn", 1)
	urls := []string{"a", "b", "c", "d"}
	p.SetEndpoints("fn", urls)
	counts := map[string]int{}
	prev := ""
	const n = 400
	for i := range n {
		x := mustAcquire(t, p, "fn")
		if x.url == prev {
			t.Fatalf("pick %d went to %s twice in a row with all replicas idle", i, x.url)
		}
		prev = x.url
		counts[x.url]++
		x.release()
	}
	for _, u := range urls {
		mustEqual(t, "picks of "+u, counts[u], n/len(urls))
	}
}

// TestPoolConcurrencyLimit hammers the pool from many goroutines and checks
// no replica ever has more than its concurrency in flight.
func TestPoolConcurrencyLimit(t *testing.T) {
	const (
		concurrency = 3
		goroutines  = 400
		rounds      = 50
	)
	urls := []string{"r0", "r1", "r2", "r3"}
	p := NewPool()
	p.SetConcurrency("fn", concurrency)
	p.SetEndpoints("fn", urls)
	var inUse [4]atomic.Int32
	var peak [4]atomic.Int32
	var total atomic.Int64
	index := map[string]int{"r0": 0, "r1": 1, "r2": 2, "r3": 3}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				url, release, err := p.Acquire(ctx, "fn")
				if err != nil {
					errs <- err
					return
				}
				i, ok := index[url]
				if !ok {
					errs <- fmt.Errorf("unknown url %q", url)
					return
				}
				n := inUse[i].Add(1)
				for {
					old := peak[i].Load()
					if n <= old || peak[i].CompareAndSwap(old, n) {
						break
					}
				}
				if f := p.InFlight("fn"); f > concurrency*len(urls) {
					errs <- fmt.Errorf("InFlight = %d > %d", f, concurrency*len(urls))
				}
				total.Add(1)
				runtime.Gosched() // let others try to take the slot meanwhile
				inUse[i].Add(-1)
				release()
				release() // a second call must be a no-op
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustEqual(t, "acquisitions", total.Load(), int64(goroutines*rounds))
	for i, u := range urls {
		if pk := peak[i].Load(); pk > concurrency {
			t.Fatalf("replica %s had %d requests in flight, concurrency is %d", u, pk, concurrency)
		}
		if pk := peak[i].Load(); pk == 0 {
			t.Fatalf("replica %s never used", u)
		}
	}
	mustEqual(t, "in flight after all releases", p.InFlight("fn"), 0)
}

func TestPoolAcquireWaitsForCapacity(t *testing.T) {
	p := NewPool()
	p.SetConcurrency("fn", 2)
	p.SetEndpoints("fn", []string{"a"})
	h1 := mustAcquire(t, p, "fn")
	mustAcquire(t, p, "fn")
	ch := acquireAsync(context.Background(), p, "fn")
	notYet(t, ch, "Acquire on a full replica")
	h1.release()
	got := within(t, ch, "Acquire after a release")
	if got.err != nil || got.url != "a" {
		t.Fatalf("Acquire = %q, %v", got.url, got.err)
	}
	// Raising the concurrency also frees a waiter.
	ch = acquireAsync(context.Background(), p, "fn")
	notYet(t, ch, "Acquire on a full replica")
	p.SetConcurrency("fn", 3)
	got = within(t, ch, "Acquire after SetConcurrency")
	if got.err != nil || got.url != "a" {
		t.Fatalf("Acquire = %q, %v", got.url, got.err)
	}
	mustEqual(t, "in flight", p.InFlight("fn"), 3)
}

func TestPoolAcquireWaitsForAReplica(t *testing.T) {
	p := NewPool()
	ch := acquireAsync(context.Background(), p, "cold")
	notYet(t, ch, "Acquire with no replica")
	p.SetEndpoints("cold", nil) // still none
	notYet(t, ch, "Acquire with no replica")
	p.SetEndpoints("other", []string{"x"}) // another function's replica
	notYet(t, ch, "Acquire with only another function's replica")
	p.SetEndpoints("cold", []string{"http://warm"})
	got := within(t, ch, "Acquire after SetEndpoints")
	if got.err != nil || got.url != "http://warm" {
		t.Fatalf("Acquire = %q, %v; want http://warm", got.url, got.err)
	}
	mustEqual(t, "in flight", p.InFlight("cold"), 1)
	got.release()
	mustEqual(t, "in flight", p.InFlight("cold"), 0)
}

func TestPoolAcquireContextEnds(t *testing.T) {
	cases := []struct {
		name string
		// replicas present but full, or none at all
		full bool
		want error
	}{
		{"no replica, deadline", false, context.DeadlineExceeded},
		{"no replica, cancel", false, context.Canceled},
		{"full replica, deadline", true, context.DeadlineExceeded},
		{"full replica, cancel", true, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool()
			if tc.full {
				p.SetConcurrency("fn", 1)
				p.SetEndpoints("fn", []string{"a"})
				mustAcquire(t, p, "fn")
			}
			var ctx context.Context
			var cancel context.CancelFunc
			const wait = 200 * time.Millisecond
			if tc.want == context.DeadlineExceeded {
				ctx, cancel = context.WithTimeout(context.Background(), wait)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
			}
			defer cancel()
			start := time.Now()
			ch := acquireAsync(ctx, p, "fn")
			if tc.want == context.Canceled {
				notYet(t, ch, "Acquire before cancel")
				cancel()
			}
			got := within(t, ch, "Acquire to give up")
			if !errors.Is(got.err, tc.want) {
				t.Fatalf("Acquire error = %v, want %v", got.err, tc.want)
			}
			if got.release != nil || got.url != "" {
				t.Fatalf("failed Acquire returned %q and a release func", got.url)
			}
			if tc.want == context.DeadlineExceeded && time.Since(start) < wait {
				t.Fatalf("Acquire gave up after %v, before the %v deadline", time.Since(start), wait)
			}
			want := 0
			if tc.full {
				want = 1
			}
			mustEqual(t, "in flight", p.InFlight("fn"), want)
		})
	}
}

func TestPoolWithdrawnReplica(t *testing.T) {
	p := NewPool()
	p.SetConcurrency("fn", 4)
	p.SetEndpoints("fn", []string{"a"})
	h1 := mustAcquire(t, p, "fn")
	h2 := mustAcquire(t, p, "fn")
	// Replace a by b: a takes no new requests but is still busy.
	p.SetEndpoints("fn", []string{"b"})
	for range 6 {
		x := mustAcquire(t, p, "fn")
		mustEqual(t, "pick after a was withdrawn", x.url, "b")
		x.release()
	}
	idle := make(chan error, 1)
	go func() { idle <- p.WaitIdle(context.Background(), "fn", "a") }()
	notYet(t, idle, "WaitIdle with two requests in flight")
	h1.release()
	notYet(t, idle, "WaitIdle with one request in flight")
	h1.release() // double release must not count twice
	notYet(t, idle, "WaitIdle after a double release")
	h2.release()
	if err := within(t, idle, "WaitIdle after the last release"); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	mustEqual(t, "in flight", p.InFlight("fn"), 0)
	// Unknown and idle replicas are idle at once.
	for _, u := range []string{"a", "b", "never-seen"} {
		if err := p.WaitIdle(context.Background(), "fn", u); err != nil {
			t.Fatalf("WaitIdle(%s): %v", u, err)
		}
	}
	if err := p.WaitIdle(context.Background(), "no-such-fn", "a"); err != nil {
		t.Fatalf("WaitIdle(no-such-fn): %v", err)
	}
}

func TestPoolWaitIdleContextEnds(t *testing.T) {
	p := NewPool()
	p.SetEndpoints("fn", []string{"a"})
	mustAcquire(t, p, "fn")
	p.SetEndpoints("fn", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.WaitIdle(ctx, "fn", "a")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIdle = %v, want DeadlineExceeded", err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("WaitIdle gave up after %v", time.Since(start))
	}
}

// TestPoolReaddedReplica: a replica withdrawn while busy and then announced
// again keeps its in-flight count, so its limit holds across the change.
func TestPoolReaddedReplica(t *testing.T) {
	p := NewPool()
	p.SetConcurrency("fn", 2)
	p.SetEndpoints("fn", []string{"a"})
	h1 := mustAcquire(t, p, "fn")
	h2 := mustAcquire(t, p, "fn")
	p.SetEndpoints("fn", nil)
	p.SetEndpoints("fn", []string{"a"})
	ch := acquireAsync(context.Background(), p, "fn")
	notYet(t, ch, "Acquire on a re-added replica that is still full")
	h1.release()
	got := within(t, ch, "Acquire after a release")
	mustEqual(t, "url", got.url, "a")
	h2.release()
	got.release()
	mustEqual(t, "in flight", p.InFlight("fn"), 0)
	// Withdrawn while idle and re-added: works as new.
	p.SetEndpoints("fn", nil)
	p.SetEndpoints("fn", []string{"a"})
	x := mustAcquire(t, p, "fn")
	y := mustAcquire(t, p, "fn")
	mustEqual(t, "in flight", p.InFlight("fn"), 2)
	x.release()
	y.release()
}

// TestPoolConcurrentChurn changes endpoints while many goroutines acquire,
// under the race detector: every slot ends released and no replica exceeds
// its concurrency.
func TestPoolConcurrentChurn(t *testing.T) {
	const concurrency = 2
	p := NewPool()
	p.SetConcurrency("fn", concurrency)
	p.SetEndpoints("fn", []string{"a", "b"})
	var mu sync.Mutex
	inUse := map[string]int{}
	var bad atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	churnDone := make(chan struct{})
	go func() {
		defer close(churnDone)
		sets := [][]string{{"a", "b"}, {"b", "c"}, {"c"}, {"a", "b", "c"}, {"a"}}
		for i := 0; ; i++ {
			select {
			case <-stop:
				p.SetEndpoints("fn", []string{"a", "b", "c"})
				return
			default:
			}
			p.SetEndpoints("fn", sets[i%len(sets)])
			// Yield without sleeping so acquirers make progress.
			_ = p.InFlight("fn")
		}
	}()
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				url, release, err := p.Acquire(ctx, "fn")
				if err != nil {
					bad.Store(err.Error())
					return
				}
				mu.Lock()
				inUse[url]++
				if inUse[url] > concurrency {
					bad.Store(fmt.Sprintf("%s has %d in flight", url, inUse[url]))
				}
				mu.Unlock()
				mu.Lock()
				inUse[url]--
				mu.Unlock()
				release()
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-churnDone
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	mustEqual(t, "in flight", p.InFlight("fn"), 0)
	for _, u := range []string{"a", "b", "c"} {
		if err := p.WaitIdle(context.Background(), "fn", u); err != nil {
			t.Fatal(err)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
