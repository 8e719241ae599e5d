package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// newClient returns an HTTP client whose transport keeps a connection per
// concurrent sender alive (the default of 2 idle connections per host would
// churn through loopback ports).
func newClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * conns
	t.MaxIdleConnsPerHost = 2 * conns
	t.IdleConnTimeout = 90 * time.Second
	t.DisableCompression = true
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}

// payload is JSON data of exactly size bytes (at least 12).
func payload(size int) []byte {
	const head, tail = `{"pad":"`, `"}`
	n := max(size-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", n) + tail)
}

// sentExt is the extension that carries an event's send time (Unix
// nanoseconds) to the sink.
const sentExt = "benchsent"

// eventRequest is a binary-mode CloudEvent POST.
func eventRequest(ctx context.Context, url string, body []byte, id string, sent time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Ce-Specversion"] = []string{"1.0"}
	h["Ce-Id"] = []string{id}
	h["Ce-Source"] = []string{"/freshet/bench"}
	h["Ce-Type"] = []string{"dev.freshet.bench"}
	h["Content-Type"] = []string{"application/json"}
	if !sent.IsZero() {
		h["Ce-"+strings.ToUpper(sentExt[:1])+sentExt[1:]] = []string{strconv.FormatInt(sent.UnixNano(), 10)}
	}
	return req, nil
}

// post sends req and returns the status, the response headers and body.
func post(c *http.Client, req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, body, nil
}

// forward posts a binary-mode reply (headers and body of a function's
// answer) on to url, as the next hop would receive it.
func forward(ctx context.Context, c *http.Client, url string, h http.Header, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range h {
		if strings.HasPrefix(k, "Ce-") || k == "Content-Type" {
			req.Header[k] = v
		}
	}
	return post(c, req)
}

// stats summarises latency samples.
type stats struct {
	n             int
	p50, p95, p99 time.Duration
	max           time.Duration
}

func summarize(samples []time.Duration) stats {
	if len(samples) == 0 {
		return stats{}
	}
	slices.Sort(samples)
	return stats{n: len(samples), p50: percentile(samples, 0.50), p95: percentile(samples, 0.95), p99: percentile(samples, 0.99), max: samples[len(samples)-1]}
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// errCount counts failures and keeps the first few distinct messages.
type errCount struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (e *errCount) add(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.first) < 3 && !slices.Contains(e.first, msg) {
		e.first = append(e.first, msg)
	}
}

func (e *errCount) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d failed (%s)", e.n, strings.Join(e.first, "; "))
}

// loopResult is what a closed-loop run measured.
type loopResult struct {
	ops     int           // operations completed inside the window
	elapsed time.Duration // the window
	lat     stats
	errs    *errCount
	cpu     string
}

func (r loopResult) rate() float64 { return float64(r.ops) / r.elapsed.Seconds() }

// closedLoop runs op on senders goroutines, each one after the other, for
// warm then window. Operations that finish inside the window count, and
// their latencies are kept. op returns an error message ("" for success).
func closedLoop(senders int, warm, window time.Duration, cpu *cpuWatch, op func(worker, seq int) string) loopResult {
	start := time.Now()
	from, to := start.Add(warm), start.Add(warm+window)
	errs := &errCount{}
	samples := make([][]time.Duration, senders)
	cpuTimer := time.AfterFunc(warm, cpu.begin)
	defer cpuTimer.Stop()
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<15)
			for seq := 0; ; seq++ {
				t0 := time.Now()
				if !t0.Before(to) {
					break
				}
				msg := op(w, seq)
				t1 := time.Now()
				if t1.Before(from) || !t1.Before(to) {
					continue
				}
				if msg != "" {
					errs.add(msg)
					continue
				}
				lat = append(lat, t1.Sub(t0))
			}
			samples[w] = lat
		}()
	}
	time.Sleep(time.Until(to))
	usage := cpu.end()
	wg.Wait()
	all := slices.Concat(samples...)
	return loopResult{ops: len(all), elapsed: window, lat: summarize(all), errs: errs, cpu: usage}
}

// paced sends at a fixed rate for d: a generator schedules one send every
// 1/rate and senders goroutines take the scheduled times in order. op gets
// the scheduled time, so latency measured from it includes any wait for a
// free sender (no coordinated omission). It returns how many sends could
// not start within 100 ms of their schedule.
func paced(senders int, rate float64, d time.Duration, op func(worker, seq int, at time.Time)) (late int) {
	type slot struct {
		seq int
		at  time.Time
	}
	work := make(chan slot, 1<<16)
	var lateN atomic.Int64
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				if time.Since(s.at) > 100*time.Millisecond {
					lateN.Add(1)
				}
				op(w, s.seq, s.at)
			}
		}()
	}
	iv := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	n := int(d / iv)
	for seq := range n {
		at := start.Add(time.Duration(seq) * iv)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		}
		work <- slot{seq: seq, at: at}
	}
	close(work)
	wg.Wait()
	return int(lateN.Load())
}
