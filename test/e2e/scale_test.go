package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshetproj/freshet/internal/poll"
	"github.com/freshetproj/freshet/test/internal/traffic"
)

// writeScaled writes a Function "fn" (noopfn holding each event for
// delay) with the given scale block, and a pipeline "p": in → fn → an HTTP
// sink at sinkURL.
func writeScaled(t *testing.T, sinkURL, delay, scale string) string {
	t.Helper()
	yaml := fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: fn
spec:
  container:
    command: [%q]
    env: [{name: DELAY, value: %q}]
  scale: %s
  delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: 50ms}
---
apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: p
spec:
  vertices:
    - name: in
      source: {http: {}}
    - name: fn
      function: {ref: {name: fn}}
    - name: out
      sink:
        http: {uri: %q}
  edges:
    - {from: in, to: fn}
    - {from: fn, to: out}
`, bins.noop, delay, scale, sinkURL)
	path := filepath.Join(t.TempDir(), "scaled.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestScaleFromZeroAndBack: a function at zero wakes on one event, which is
// processed, and returns to zero after its idle time.
func TestScaleFromZeroAndBack(t *testing.T) {
	sk := traffic.NewSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(),
		writeScaled(t, sk.Srv.URL, "0s", `{min: 0, max: 2, idleTimeout: 2s, scaleDownWindow: 1s}`))
	if n := in.ready(t, "default/fn"); n != 0 {
		t.Fatalf("%d replicas ready before any event, want 0", n)
	}
	if pids := in.childPids(bins.noop); len(pids) != 0 {
		t.Fatalf("function processes running before any event: %v", pids)
	}
	if code := post(t, in.base+"/pipelines/default/p/in", "z1", `{"n":1}`); code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	sk.WaitDistinct(t, 1, time.Minute)
	if n, _ := in.metric(t, "freshet_cold_start_seconds_count", `function="default/fn"`); n < 1 {
		t.Fatalf("no cold start recorded")
	}
	poll.True(t, time.Minute, "the function to return to zero", func() bool {
		return in.ready(t, "default/fn") == 0 && len(in.childPids(bins.noop)) == 0
	})
	in.stop()
}

// TestBurstScalesUpAndDown: 5,000 events into a function at zero raise its
// replicas (never above max), drain the backlog, and return it to zero.
func TestBurstScalesUpAndDown(t *testing.T) {
	const n, maxReplicas = 5000, 4
	sk := traffic.NewSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(),
		writeScaled(t, sk.Srv.URL, "2ms", `{min: 0, max: 4, targetBacklog: 50, containerConcurrency: 4, idleTimeout: 2s, scaleDownWindow: 1s}`))
	var peak atomic.Int64
	stopWatch := watchReplicas(t, in, "default/fn", &peak)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := traffic.NewSender(in.base + "/pipelines/default/p/in")
	if err := s.SendAll(ctx, n, 32); err != nil {
		t.Fatal(err)
	}
	sk.WaitDistinct(t, n, 5*time.Minute)
	poll.True(t, time.Minute, "the function to return to zero", func() bool {
		return in.ready(t, "default/fn") == 0 && len(in.childPids(bins.noop)) == 0
	})
	stopWatch()
	// Processes include replicas still draining after a scale-down, so
	// their peak shows the scale-up; the scaler's own count shows the bound.
	if p := peak.Load(); p < 2 {
		t.Fatalf("peak of %d function processes, want at least 2", p)
	}
	asked := maxScaledTo(in.stderr.snapshot())
	if asked < 2 || asked > maxReplicas {
		t.Fatalf("the scaler asked for at most %d replicas, want 2..%d", asked, maxReplicas)
	}
	_, total := sk.Counts()
	t.Logf("%d events, peak %d processes, %d replicas asked for, %d deliveries at the sink", n, peak.Load(), asked, total)
	in.stop()
}

// maxScaledTo is the most replicas the scaler's "scaled" log lines asked for.
func maxScaledTo(log []string) int {
	most := 0
	for _, line := range log {
		if !strings.Contains(line, "scaled") {
			continue
		}
		_, after, ok := strings.Cut(line, " to=")
		if !ok {
			continue
		}
		to, _, _ := strings.Cut(after, " ")
		if n, err := strconv.Atoi(to); err == nil {
			most = max(most, n)
		}
	}
	return most
}

// watchReplicas records the peak number of the function's processes until
// the returned function is called.
func watchReplicas(t *testing.T, in *instance, fn string, peak *atomic.Int64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n := int64(len(in.childPids(bins.noop))); n > peak.Load() {
				peak.Store(n)
			}

			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond): // sampling interval
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// TestColdSynchronousBurst: 100 concurrent synchronous requests to a cold
// function with containerConcurrency 1 are all held while it wakes and all
// answered 200.
func TestColdSynchronousBurst(t *testing.T) {
	sk := traffic.NewSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(),
		writeScaled(t, sk.Srv.URL, "5ms", `{min: 0, max: 4, containerConcurrency: 1, idleTimeout: 5s}`))
	codes := invokeConcurrently(t, in.base+"/functions/default/fn", 100, 100)
	for code, count := range codes {
		if code != http.StatusOK {
			t.Errorf("%d requests answered %d", count, code)
		}
	}
	if codes[http.StatusOK] != 100 {
		t.Fatalf("answers %v, want 100 × 200", codes)
	}
	in.stop()
}

// invokeConcurrently sends n synchronous invokes from the given number of
// goroutines and counts the answers by status (-1: transport error).
func invokeConcurrently(t *testing.T, url string, n, workers int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	codes := map[int]int{}
	ids := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 2 * time.Minute}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				code := -1
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"n":1}`))
				setCE(req.Header, fmt.Sprintf("sync-%d", i))
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	return codes
}

// TestShrinkUnderTraffic: steady synchronous and pipeline traffic while the
// function shrinks from 4 replicas to 1: no request fails, no event is lost.
func TestShrinkUnderTraffic(t *testing.T) {
	sk := traffic.NewSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(),
		writeScaled(t, sk.Srv.URL, "20ms", `{min: 1, max: 4, targetBacklog: 5, containerConcurrency: 2, idleTimeout: 2s, scaleDownWindow: 2s}`))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A burst brings the function to 4 replicas.
	s := traffic.NewSender(in.base + "/pipelines/default/p/in")
	burst := 2000
	if err := s.SendAll(ctx, burst, 32); err != nil {
		t.Fatal(err)
	}
	poll.True(t, 2*time.Minute, "4 replicas", func() bool { return len(in.childPids(bins.noop)) == 4 })

	// Steady traffic, well within one replica, until the function is down to 1.
	var failed, sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // synchronous requests
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond): // the traffic's pace
			}
			req, _ := http.NewRequest(http.MethodPost, in.base+"/functions/default/fn", strings.NewReader(`{"n":1}`))
			setCE(req.Header, fmt.Sprintf("steady-%d", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	go func() { // pipeline events e<burst>... at the same pace
		defer wg.Done()
		for i := burst; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond): // the traffic's pace
			}
			if err := s.SendOne(ctx, i); err != nil {
				failed.Add(1)
				return
			}
			sent.Store(int64(i + 1))
		}
	}()
	poll.True(t, 2*time.Minute, "the function to shrink to 1 replica", func() bool { return len(in.childPids(bins.noop)) == 1 })
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d requests failed while the function shrank", f)
	}
	total := int(sent.Load())
	sk.WaitDistinct(t, total, 2*time.Minute)
	want := make(map[string]bool, total)
	for i := range total {
		want[fmt.Sprintf("e%d", i)] = true
	}
	dups := sk.CheckExactly(t, want)
	t.Logf("%d events and steady requests through a scale-down from 4 to 1; %d duplicates", total, dups)
	in.stop()
}
