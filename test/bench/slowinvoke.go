package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// slowDelay is how long the slow function holds each event.
const slowDelay = "100ms"

// slowReplicas and slowConcurrency pin the slow function: 2 × 128 slots
// for the ~100 requests in flight at 1,000/s × 100 ms, so nothing queues.
const (
	slowReplicas    = 2
	slowConcurrency = 128
)

// slowBlocks is how many alternating blocks each target's measured time is
// cut into.
const slowBlocks = 4

func slowYAML(fn string) string {
	return fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: slow
spec:
  container:
    command: [%q]
    env: [{name: DELAY, value: %q}]
  scale: {min: %d, max: %d, containerConcurrency: %d}
`, fn, slowDelay, slowReplicas, slowReplicas, slowConcurrency)
}

// openLoop calls op once per 1/rate for d, each call on its own goroutine
// at its scheduled time, whatever the calls before it are doing (an open
// loop: a slow reply never delays the next send). op gets its scheduled
// time, so latency measured from it includes any lateness of the sender.
// It returns once every call has returned, with how late the sends
// started (p99 and max).
func openLoop(rate float64, d time.Duration, op func(seq int, at time.Time)) (p99Lag, maxLag time.Duration) {
	iv := time.Duration(float64(time.Second) / rate)
	n := int(d / iv)
	lags := make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	start := time.Now()
	for seq := range n {
		at := start.Add(time.Duration(seq) * iv)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		lags = append(lags, time.Since(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			op(seq, at)
		}()
	}
	wg.Wait()
	slices.Sort(lags)
	if len(lags) == 0 {
		return 0, 0
	}
	return percentile(lags, 0.99), lags[len(lags)-1]
}

func benchSlowInvoke(o options, b bins, dir string, rep *report) error {
	body := payload(o.size)
	rate := o.slowRate
	block := o.duration / slowBlocks
	rep.section("6. Router overhead on a slow function (synchronous invoke, fixed rate)",
		fmt.Sprintf("test/bench/noopfn holding each event %s; through freshet dev as Function slow pinned at min = max = %d replicas with containerConcurrency %d (≈ %.0f requests in flight, so nothing waits for a slot), and directly to a separate process of the same function. Open loop at %s: each request is sent at its scheduled time on its own goroutine and its latency counts from that time (no coordinated omission); %d B events, keep-alive. %v of warm-up per target, then %v per target measured in %d alternating blocks of %v each (direct, freshet, direct, ...), so that drift hits both alike. Overhead = p95 via freshet − p95 direct, over all blocks.", slowDelay, slowReplicas, slowConcurrency, rate*0.1, fmtRate(rate), len(body), o.warmup, slowBlocks*block, slowBlocks, block))

	direct, err := startHelper(b.noopfn, dir, "noopfn-slow", "DELAY="+slowDelay)
	if err != nil {
		return err
	}
	defer direct.kill()
	path, err := writeFile(dir, "slow.yaml", slowYAML(b.noopfn))
	if err != nil {
		return err
	}
	f, err := startFreshet(b, dir, "slow", path)
	if err != nil {
		return err
	}
	defer f.kill()
	mc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := scrapeMetrics(mc, f.base)
		if err != nil {
			return err
		}
		if m.gauge("freshet_function_replicas_ready", "default/slow") >= slowReplicas {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slow invoke: %d replicas not ready within 30s", slowReplicas)
		}
		time.Sleep(metricsPoll)
	}

	inflight := int(rate*0.1) + 50
	c := newClient(inflight)
	targets := []string{direct.base + "/", f.base + "/functions/default/slow"}
	errs := []*errCount{{}, {}}
	var seq atomic.Int64
	run := func(i int, d time.Duration, keep bool) ([]time.Duration, time.Duration, time.Duration) {
		lat := make([]time.Duration, int(rate*d.Seconds())+1)
		var got atomic.Int64
		p99Lag, maxLag := openLoop(rate, d, func(k int, at time.Time) {
			id := "s" + strconv.FormatInt(seq.Add(1), 10)
			req, err := eventRequest(context.Background(), targets[i], body, id, time.Time{})
			if err != nil {
				errs[i].add(err.Error())
				return
			}
			code, _, _, err := post(c, req)
			took := time.Since(at)
			if !keep {
				return
			}
			switch {
			case err != nil:
				errs[i].add(err.Error())
			case code != http.StatusOK:
				errs[i].add("status " + strconv.Itoa(code))
			default:
				lat[k] = took
				got.Add(1)
			}
		})
		out := make([]time.Duration, 0, got.Load())
		for _, v := range lat {
			if v > 0 {
				out = append(out, v)
			}
		}
		return out, p99Lag, maxLag
	}
	logf("slowinvoke: %s to a %s function, direct and via freshet, %v warm-up + %v each", fmtRate(rate), slowDelay, o.warmup, slowBlocks*block)
	for i := range targets {
		run(i, o.warmup, false)
	}
	lat := make([][]time.Duration, len(targets))
	var lagP99, lagMax time.Duration
	cpus := make([]*cpuWatch, len(targets))
	cpus[0] = &cpuWatch{}
	cpus[0].add("direct function", func() []int { return []int{direct.pid()} })
	cpus[0].add("client", self)
	cpus[1] = &cpuWatch{}
	cpus[1].add("freshet", func() []int { return []int{f.pid()} })
	cpus[1].add("function replicas", func() []int { return children(f.pid()) })
	cpus[1].add("client", self)
	blockP95 := make([][]string, len(targets))
	for range slowBlocks {
		for i := range targets {
			cpus[i].begin()
			l, p99, mx := run(i, block, true)
			cpus[i].pause()
			lat[i] = append(lat[i], l...)
			lagP99, lagMax = max(lagP99, p99), max(lagMax, mx)
			blockP95[i] = append(blockP95[i], fmt.Sprintf("%.2f", float64(summarize(l).p95)/float64(time.Millisecond)))
		}
	}
	rep.cpu(fmt.Sprintf("6 direct, %s (all its blocks)", fmtRate(rate)), cpus[0].total())
	rep.cpu(fmt.Sprintf("6 via freshet, %s (all its blocks)", fmtRate(rate)), cpus[1].total())
	rep.note("Slow invoke, p95 of each block in order, in ms: direct %s; via freshet %s.", strings.Join(blockP95[0], ", "), strings.Join(blockP95[1], ", "))
	rep.errors("6 direct", errs[0])
	rep.errors("6 via freshet", errs[1])
	rep.note("Slow invoke: the load generator started its sends up to %s late (p99 %s), the same for both targets.", fmtDur(lagMax), fmtDur(lagP99))
	if err := f.stop(40 * time.Second); err != nil {
		rep.note("%v", err)
	}
	d, r := summarize(lat[0]), summarize(lat[1])
	errN := func(e *errCount) int {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.n
	}
	label := fmt.Sprintf("at %s, %s function", fmtRate(rate), slowDelay)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	rep.row("6", "sync invoke p50 "+label+" (direct → via router)", ms(d.p50), ms(r.p50), "", "")
	rep.row("6", "sync invoke p95 (direct → via router)", ms(d.p95), ms(r.p95), "", "")
	rep.row("6", "sync invoke p99 (direct → via router)", ms(d.p99), ms(r.p99), "", "")
	rep.row("6", "router's added latency p95", "", fmtAdded(r.p95-d.p95), "≤ +1 ms", verdict(r.p95-d.p95 <= time.Millisecond))
	rep.row("6", fmt.Sprintf("errors (of %d requests per target)", int(rate*slowBlocks*block.Seconds())), strconv.Itoa(errN(errs[0])), strconv.Itoa(errN(errs[1])), "0", verdict(errN(errs[1]) == 0))
	return nil
}
