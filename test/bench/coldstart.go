package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// coldFunctions is how many Functions the cold-start benchmark declares:
// the single wake-ups rotate over them, and all of them are woken at once.
const coldFunctions = 25

// scalerTick is freshet dev's scaler interval (dev.Config.ScaleInterval's
// default; freshet dev has no flag for it).
const scalerTick = time.Second

// metricsPoll is how often the benchmark scrapes /metrics while it waits
// for, or times, a scaling event.
const metricsPoll = 10 * time.Millisecond

func coldName(i int) string { return fmt.Sprintf("w%02d", i) }

// coldYAML declares n Functions w00, w01, ..., each noopfn at zero that
// returns to zero 1 s after its last request. Each replica gets its
// function's name as argv[1] (noopfn ignores it), so that the benchmark can
// tell the processes of one function from those of another.
func coldYAML(fn string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: %s
spec:
  container: {command: [%q], args: [%q]}
  scale: {min: 0, max: 1, idleTimeout: 1s, scaleDownWindow: 0s}
---
`, coldName(i), fn, coldName(i))
	}
	return b.String()
}

// coldState is what one scrape and one look at the processes say about
// the cold-start Functions.
type coldState struct {
	at       time.Time
	desired  map[string]float64 // by name (w00), -1 if not exposed yet
	ready    map[string]float64
	procs    map[string]int // live replica processes
	decision float64        // freshet_scale_decisions_total, all functions
}

// atZero: the scaler's last decision was 0 and saw 0 ready, and no process
// of the function is left.
func (s coldState) atZero(name string) bool {
	return s.desired[name] == 0 && s.ready[name] == 0 && s.procs[name] == 0
}

// stopping: a function was decided down to 0 but its process is still
// there (draining or exiting).
func (s coldState) stopping() bool {
	for name, d := range s.desired {
		if d == 0 && s.procs[name] > 0 {
			return true
		}
	}
	return false
}

func observeCold(c *http.Client, f *proc, names []string) (coldState, metricsSnap, error) {
	m, err := scrapeMetrics(c, f.base)
	if err != nil {
		return coldState{}, nil, err
	}
	s := coldState{at: time.Now(), desired: map[string]float64{}, ready: map[string]float64{}, procs: map[string]int{}}
	for _, n := range names {
		s.desired[n] = m.gauge("freshet_function_replicas_desired", "default/"+n)
		s.ready[n] = m.gauge("freshet_function_replicas_ready", "default/"+n)
	}
	for _, arg := range childArgs(f.pid()) {
		s.procs[arg]++
	}
	s.decision, _ = m.sum("freshet_scale_decisions_total")
	return s, m, nil
}

// tickWatch follows the scaler's ticks: every tick evaluates every
// function, so the decisions counter jumps by one per function at once;
// a wake-up adds 1.
type tickWatch struct {
	n        int // functions evaluated per tick
	last     time.Time
	lastSeen float64
	primed   bool
}

// see records a scrape taken with no request of ours in between.
func (t *tickWatch) see(s coldState) {
	if t.primed && s.decision-t.lastSeen >= float64(t.n)/2 {
		t.last = s.at
	}
	t.lastSeen, t.primed = s.decision, true
}

// rebase forgets the counter after our own wake-ups (which add to it).
func (t *tickWatch) rebase(s coldState) { t.lastSeen, t.primed = s.decision, true }

// sinceTick is the time since the last tick, assuming the 1 s period
// when one was missed.
func (t *tickWatch) sinceTick(now time.Time) time.Duration {
	if t.last.IsZero() {
		return -1
	}
	return now.Sub(t.last) % scalerTick
}

func benchColdStart(o options, b bins, dir string, rep *report) error {
	body := payload(o.size)
	names := make([]string, coldFunctions)
	for i := range names {
		names[i] = coldName(i)
	}
	rep.section("4. Cold start (process runtime, Go no-op function)",
		fmt.Sprintf("%d Functions of test/bench/noopfn at min 0 (idleTimeout 1s, scaleDownWindow 0s) in one freshet dev. *Single wake-ups:* %d synchronous invokes (POST /functions/default/wNN, %d B event, keep-alive connection), one at a time, each to a function that is back at zero (its replicas_desired and replicas_ready gauges 0 and no process of it left), rotating over the functions; they are sent between 30 ms and 850 ms after a scaler tick, so that no tick (and no other function's scale-down) falls inside a measured wake-up. Time = request sent → reply received. *Floor:* the same binary started %d times by the benchmark itself with PORT set, polling GET /healthz on a new connection every 0.1 ms: exec → first 200. *Burst:* all %d functions at zero, one request to each fired at the same moment, %d rounds; time = that moment → each reply; its floor is %d bare starts at once, each polled every 1 ms. The replicas' CPU is in \"everything else\" below: processes that live a few milliseconds are not counted reliably one by one.", coldFunctions, o.wakeups, len(body), o.wakeups, coldFunctions, o.rounds, coldFunctions))

	// Floor first, with no freshet running.
	logf("coldstart: floor, %d bare starts of noopfn", o.wakeups)
	floor, err := bareStarts(b.noopfn, o.wakeups)
	if err != nil {
		return err
	}
	fs := summarize(floor)
	logf("coldstart: floor, %d × %d bare starts at once", o.rounds, coldFunctions)
	var burstFloor []time.Duration
	for range o.rounds {
		d, err := bareStartsAtOnce(b.noopfn, coldFunctions, time.Millisecond)
		if err != nil {
			return err
		}
		burstFloor = append(burstFloor, d...)
		time.Sleep(200 * time.Millisecond) // let the killed processes go
	}
	bfs := summarize(burstFloor)

	path, err := writeFile(dir, "cold.yaml", coldYAML(b.noopfn, coldFunctions))
	if err != nil {
		return err
	}
	f, err := startFreshet(b, dir, "cold", path)
	if err != nil {
		return err
	}
	defer f.kill()
	mc := &http.Client{Timeout: 5 * time.Second}
	c := newClient(coldFunctions)
	call := func(ctx context.Context, name, id string) (time.Duration, error) {
		req, err := eventRequest(ctx, f.base+"/functions/default/"+name, body, id, time.Time{})
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		code, _, _, err := post(c, req)
		d := time.Since(t0)
		if err != nil {
			return d, err
		}
		if code != http.StatusOK {
			return d, fmt.Errorf("%s: status %d", name, code)
		}
		return d, nil
	}

	// Wait until every function has been decided at zero and the scaler's
	// tick phase is known.
	tw := &tickWatch{n: coldFunctions}
	var st coldState
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _, err = observeCold(mc, f, names); err != nil {
			return err
		}
		tw.see(st)
		all := true
		for _, n := range names {
			all = all && st.atZero(n)
		}
		if all && !tw.last.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cold start: functions not at zero (or no scaler tick seen) within 30s")
		}
		time.Sleep(metricsPoll)
	}
	_, m0, err := observeCold(mc, f, names)
	if err != nil {
		return err
	}

	logf("coldstart: %d single wake-ups over %d functions", o.wakeups, coldFunctions)
	cpu := &cpuWatch{}
	cpu.add("freshet", func() []int { return []int{f.pid()} })
	cpu.add("client", self)
	cpu.begin()
	var wakes []time.Duration
	cerr := &errCount{}
	next := 0 // rotation start
	deadline = time.Now().Add(time.Duration(o.wakeups)*scalerTick + time.Minute)
	for len(wakes) < o.wakeups {
		if time.Now().After(deadline) {
			return fmt.Errorf("cold start: only %d of %d wake-ups within the deadline (functions not returning to zero?)", len(wakes), o.wakeups)
		}
		if st, _, err = observeCold(mc, f, names); err != nil {
			return err
		}
		tw.see(st)
		since := tw.sinceTick(st.at)
		if since < 30*time.Millisecond || since > 850*time.Millisecond || st.stopping() {
			time.Sleep(metricsPoll)
			continue
		}
		woke, from := false, next
		for k := range names {
			name := names[(from+k)%len(names)]
			if !st.atZero(name) {
				continue
			}
			if s := tw.sinceTick(time.Now()); s > 850*time.Millisecond || len(wakes) >= o.wakeups {
				break
			}
			d, err := call(context.Background(), name, "c"+strconv.Itoa(len(wakes)))
			if err != nil {
				cerr.add(err.Error())
				continue
			}
			wakes = append(wakes, d)
			if os.Getenv("BENCH_DEBUG") != "" {
				logf("wake %s %v since tick %v st desired %v ready %v procs %v", name, d, tw.sinceTick(time.Now()), st.desired[name], st.ready[name], st.procs[name])
			}
			woke = true
			next = (from + k + 1) % len(names)
		}
		if woke {
			if st, _, err = observeCold(mc, f, names); err != nil {
				return err
			}
			tw.rebase(st)
		}
		time.Sleep(metricsPoll)
	}
	rep.cpu("4 cold start, single wake-ups (incl. waits for zero)", cpu.end())
	rep.errors("4 cold start, single wake-ups", cerr)
	_, m1, err := observeCold(mc, f, names)
	if err != nil {
		return err
	}
	var own histogram
	for _, n := range names {
		h := m1.hist("freshet_cold_start_seconds", "default/"+n).minus(m0.hist("freshet_cold_start_seconds", "default/"+n))
		own = own.add(h)
	}
	ws := summarize(wakes)
	if os.Getenv("BENCH_DEBUG") != "" {
		logf("wake-ups, sorted: %v", wakes)
		logf("floor, sorted: %v", floor)
	}
	var mean time.Duration
	for _, d := range wakes {
		mean += d
	}
	mean /= time.Duration(max(len(wakes), 1))

	// Burst: every function at zero, one request each at the same moment.
	logf("coldstart: %d functions woken at once, %d rounds", coldFunctions, o.rounds)
	var burst []time.Duration
	var roundP95 []time.Duration
	berr := &errCount{}
	bcpu := &cpuWatch{}
	bcpu.add("freshet", func() []int { return []int{f.pid()} })
	bcpu.add("client", self)
	var bcpuText []string
	for r := range o.rounds {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if st, _, err = observeCold(mc, f, names); err != nil {
				return err
			}
			tw.see(st)
			all := true
			for _, n := range names {
				all = all && st.atZero(n)
			}
			since := tw.sinceTick(st.at)
			if all && since >= 30*time.Millisecond && since <= 500*time.Millisecond {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cold start burst: functions not back at zero within 30s")
			}
			time.Sleep(metricsPoll)
		}
		start := make(chan struct{})
		var t0 time.Time
		lat := make([]time.Duration, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := eventRequest(context.Background(), f.base+"/functions/default/"+n, body, fmt.Sprintf("b%d-%d", r, i), time.Time{})
				if err != nil {
					berr.add(err.Error())
					return
				}
				<-start
				code, _, _, err := post(c, req)
				d := time.Since(t0)
				switch {
				case err != nil:
					berr.add(err.Error())
				case code != http.StatusOK:
					berr.add("status " + strconv.Itoa(code))
				default:
					lat[i] = d
				}
			}()
		}
		time.Sleep(5 * time.Millisecond) // every goroutine parked on start
		bcpu.begin()
		t0 = time.Now()
		close(start)
		wg.Wait()
		bcpuText = append(bcpuText, bcpu.end())
		var ok []time.Duration
		for _, d := range lat {
			if d > 0 {
				ok = append(ok, d)
			}
		}
		burst = append(burst, ok...)
		slices.Sort(ok)
		if len(ok) > 0 {
			roundP95 = append(roundP95, percentile(ok, 0.95))
		}
		if st, _, err = observeCold(mc, f, names); err != nil {
			return err
		}
		tw.rebase(st)
	}
	for i, t := range bcpuText {
		rep.cpu(fmt.Sprintf("4 burst round %d (%d functions at once, until the last reply)", i+1, coldFunctions), t)
	}
	rep.errors("4 cold start, burst", berr)
	if err := f.stop(40 * time.Second); err != nil {
		rep.note("%v", err)
	}
	bs := summarize(burst)
	bp95 := time.Duration(0)
	if len(burst) > 0 {
		bp95 = percentile(burst, 0.95)
	}
	var rounds []string
	for _, d := range roundP95 {
		rounds = append(rounds, fmtDur(d))
	}

	rep.row("4", fmt.Sprintf("cold start, first event → reply, p50 (%d wake-ups; floor = bare exec → /healthz 200)", len(wakes)), fmtDur(fs.p50), fmtDur(ws.p50), "≤ 15 ms", verdict(ws.n > 0 && ws.p50 <= 15*time.Millisecond))
	rep.row("4", "cold start p99 (floor: bare exec → /healthz 200)", fmtDur(fs.p99), fmtDur(ws.p99), "≤ 50 ms", verdict(ws.n > 0 && ws.p99 <= 50*time.Millisecond))
	rep.row("4", "cold start max / mean (floor: max / p50)", fmtDur(fs.max)+" / "+fmtDur(fs.p50), fmtDur(ws.max)+" / "+fmtDur(mean), "", "")
	if own.count > 0 {
		lo50, hi50 := own.bucketOf(0.5)
		lo99, hi99 := own.bucketOf(0.99)
		rep.row("4", "freshet_cold_start_seconds, same wake-ups: mean; p50, p99 bucket", "", fmt.Sprintf("%s; %s, %s", fmtDur(time.Duration(own.sum/own.count*float64(time.Second))), fmtBucket(lo50, hi50), fmtBucket(lo99, hi99)), "", "")
		if int(own.count) != len(wakes) {
			rep.note("Cold start: freshet recorded %d cold starts for the %d single wake-ups.", int(own.count), len(wakes))
		}
	}
	rep.row("4", fmt.Sprintf("%d functions woken at once: p95 of first replies (%d rounds pooled; floor: %d bare starts at once)", coldFunctions, o.rounds, coldFunctions), fmtDur(bfs.p95), fmtDur(bp95), "≤ 150 ms", verdict(len(burst) > 0 && bp95 <= 150*time.Millisecond))
	rep.row("4", fmt.Sprintf("%d at once: p50 / max; p95 of each round", coldFunctions), fmtDur(bfs.p50)+" / "+fmtDur(bfs.max), fmtDur(bs.p50)+" / "+fmtDur(bs.max)+"; "+strings.Join(rounds, ", "), "", "")
	return nil
}

func fmtBucket(lo, hi float64) string {
	if math.IsNaN(hi) {
		return "—"
	}
	if math.IsInf(hi, 1) {
		return fmt.Sprintf("> %s", fmtDur(time.Duration(lo*float64(time.Second))))
	}
	if lo <= 0 {
		return "≤ " + fmtDur(time.Duration(hi*float64(time.Second)))
	}
	return fmt.Sprintf("%s–%s", strings.TrimSuffix(fmtDur(time.Duration(lo*float64(time.Second))), " ms"), fmtDur(time.Duration(hi*float64(time.Second))))
}

// bareStarts starts bin n times, one after the other, and returns the
// times from exec to the first 200 of GET /healthz, polled every 0.1 ms.
func bareStarts(bin string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		d, err := bareStartsAtOnce(bin, 1, 100*time.Microsecond)
		if err != nil {
			return nil, err
		}
		out = append(out, d...)
	}
	return out, nil
}

// bareStartsAtOnce starts k processes of bin at the same moment, each with
// PORT set, polls each one's GET /healthz on a new connection every poll,
// and returns the times from that moment to each first 200. It kills them
// afterwards.
func bareStartsAtOnce(bin string, k int, poll time.Duration) ([]time.Duration, error) {
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   time.Second,
	}
	urls := make([]string, k)
	cmds := make([]*exec.Cmd, k)
	for i := range k {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, port, _ := net.SplitHostPort(addr)
		urls[i] = "http://" + addr + "/healthz"
		cmds[i] = exec.Command(bin)
		cmds[i].Env = append(os.Environ(), "PORT="+port)
	}
	out := make([]time.Duration, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmds[i].Start(); err != nil {
				errs[i] = err
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := client.Get(urls[i])
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						out[i] = time.Since(t0)
						return
					}
				}
				if time.Now().After(deadline) {
					errs[i] = fmt.Errorf("bare start of noopfn: no 200 on /healthz within 10s")
					return
				}
				time.Sleep(poll)
			}
		}()
	}
	wg.Wait()
	for _, c := range cmds {
		if c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
