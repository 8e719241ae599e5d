package main

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scaler reaction: the function's backlog is held at reactLow events, then
// jumps to reactHigh (10×).
const (
	reactLow       = 5
	reactHigh      = 50
	reactTarget    = 10 // targetBacklog
	reactMax       = 8
	reactDelay     = "50ms"
	reactFeeders   = 16
	reactSteadyFor = time.Second // steady state held before each jump (then up to one more tick)
)

// reactionYAML: Function react (noopfn holding each event 50 ms, one at a
// time per replica) and the pipeline in → react → the benchmark's sink.
func reactionYAML(fn, sinkURL string) string {
	return fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: react
spec:
  container:
    command: [%q]
    env: [{name: DELAY, value: %q}]
  scale: {min: 1, max: %d, targetBacklog: %d, containerConcurrency: 1, scaleDownWindow: 1s, idleTimeout: 30s}
---
apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: react
spec:
  vertices:
    - name: in
      source: {http: {}}
    - name: fn
      function: {ref: {name: react}}
    - name: out
      sink:
        http: {uri: %q}
  edges:
    - {from: in, to: fn}
    - {from: fn, to: out}
`, fn, reactDelay, reactMax, reactTarget, sinkURL)
}

// reactState is one look at the function: the scaler's gauges and
// counters, and its live processes.
type reactState struct {
	at             time.Time
	desired, ready float64
	backlog        float64
	ups            float64
	decisions      float64 // every decision of the function (hold included)
	procs          int
	answering      int // processes answering GET /healthz to the benchmark
}

func observeReact(c *http.Client, f *proc, pr *replicaProber) (reactState, error) {
	m, err := scrapeMetrics(c, f.base)
	if err != nil {
		return reactState{}, err
	}
	const fn = "default/react"
	s := reactState{
		at:      time.Now(),
		desired: m.gauge("freshet_function_replicas_desired", fn),
		ready:   m.gauge("freshet_function_replicas_ready", fn),
		backlog: m.gauge("freshet_function_backlog", fn),
	}
	pids := children(f.pid())
	s.procs = len(pids)
	if pr != nil {
		s.answering = pr.count(pids)
	}
	s.ups, _ = m.sum("freshet_scale_decisions_total", "function", fn, "direction", "up")
	s.decisions, _ = m.sum("freshet_scale_decisions_total", "function", fn)
	return s, nil
}

// replicaProber tells which replica processes answer GET /healthz, as the
// local runtime's probe would: the port is the PORT of the process's
// environment.
type replicaProber struct {
	client *http.Client
	port   map[int]string
	ready  map[int]bool
}

func newReplicaProber() *replicaProber {
	return &replicaProber{
		client: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 100 * time.Millisecond},
		port:   map[int]string{},
		ready:  map[int]bool{},
	}
}

// count probes the processes not seen ready yet and returns how many are.
func (p *replicaProber) count(pids []int) int {
	n := 0
	for _, pid := range pids {
		if p.ready[pid] {
			n++
			continue
		}
		port, ok := p.port[pid]
		if !ok {
			env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
			if err != nil {
				continue
			}
			for _, kv := range strings.Split(string(env), "\x00") {
				if v, ok := strings.CutPrefix(kv, "PORT="); ok {
					port = v
				}
			}
			if port == "" {
				continue
			}
			p.port[pid] = port
		}
		resp, err := p.client.Get("http://127.0.0.1:" + port + "/healthz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode < 500 {
			p.ready[pid] = true
			n++
		}
	}
	return n
}

func benchReaction(o options, b bins, dir string, rep *report) error {
	want := (reactHigh + reactTarget - 1) / reactTarget
	rep.section("5. Scaler reaction to a backlog jump",
		fmt.Sprintf("Function test/bench/noopfn holding each event %s, min 1, max %d, targetBacklog %d, containerConcurrency 1 (one replica does 20 events/s), fed through in → fn → the benchmark's HTTP sink. The function is first brought to 1 replica (at most 1 event in the pipeline); then %d feeders keep exactly %d events inside the pipeline (sent and not yet at the sink) for at least %v at 1 replica; then, at a set phase of the scaler's 1 s tick ((j+½)/%d of a tick after one, j = 0…%d, so the jumps sample the tick evenly), the window becomes %d: the backlog jumps 10× within ~15 ms and calls for %d replicas. Timed from the jump, by scraping /metrics every %v: the first scale-up decision (freshet_scale_decisions_total{direction=\"up\"}), freshet_function_replicas_desired reaching %d, %d replica processes running (children of freshet dev), %d of them answering GET /healthz (the benchmark probes each process's PORT, as the runtime does), and freshet_function_replicas_ready reaching %d (that gauge is set only when the scaler evaluates). Figures are the median and the worst of the %d jumps.", reactDelay, reactMax, reactTarget, reactFeeders, reactLow, reactSteadyFor, o.jumps, o.jumps-1, reactHigh, want, metricsPoll, want, want, want, want, o.jumps))

	sk, err := newSink()
	if err != nil {
		return err
	}
	defer sk.close()
	path, err := writeFile(dir, "react.yaml", reactionYAML(b.noopfn, sk.url))
	if err != nil {
		return err
	}
	f, err := startFreshet(b, dir, "react", path)
	if err != nil {
		return err
	}
	defer f.kill()
	mc := &http.Client{Timeout: 5 * time.Second}
	pr := newReplicaProber()
	c := newClient(reactFeeders)
	in := f.base + "/pipelines/default/react/in"
	body := payload(o.size)

	// Feeders: keep window events between send and arrival at the sink.
	var window atomic.Int64
	window.Store(reactLow)
	var sent, posted, postedGoal, postedAt atomic.Int64
	base := sk.distinct()
	stop := make(chan struct{})
	ferr := &errCount{}
	var wg sync.WaitGroup
	for range reactFeeders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := sent.Load()
				if s-int64(sk.distinct()-base) >= window.Load() || !sent.CompareAndSwap(s, s+1) {
					time.Sleep(time.Millisecond) // feeder poll interval
					continue
				}
				if msg := ingestUntilAccepted(c, in, body, "r"+strconv.FormatInt(s, 10), time.Now()); msg != "" {
					ferr.add(msg)
				}
				if posted.Add(1) == postedGoal.Load() {
					postedAt.Store(time.Now().UnixNano())
				}
			}
		}()
	}
	stopFeeders := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopFeeders()

	type jump struct {
		phase                                           time.Duration
		ingested, decide, desired, procs, probed, ready time.Duration
	}
	var jumps []jump
	var notes []string
	cpu := &cpuWatch{}
	cpu.add("freshet", func() []int { return []int{f.pid()} })
	cpu.add("function replicas", func() []int { return children(f.pid()) })
	cpu.add("load generator + sink", self)
	cpu.begin()
	for j := range o.jumps {
		// Back to 1 replica: with containerConcurrency 1 the scaler keeps
		// a replica per event in flight, so a window of 5 would hold up to
		// 5 replicas; at most 1 event in the pipeline brings it down.
		window.Store(1)
		deadline := time.Now().Add(45 * time.Second)
		var st reactState
		for {
			if st, err = observeReact(mc, f, pr); err != nil {
				return err
			}
			if st.desired == 1 && st.ready == 1 && st.procs == 1 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("reaction: not back at 1 replica within 45s (desired %.0f, ready %.0f, processes %d, backlog %.0f)", st.desired, st.ready, st.procs, st.backlog)
			}
			time.Sleep(metricsPoll)
		}
		// Steady state: backlog reactLow on 1 replica, decided, ready,
		// running, for reactSteadyFor.
		window.Store(reactLow)
		deadline = time.Now().Add(45 * time.Second)
		var steadySince time.Time
		for {
			if st, err = observeReact(mc, f, pr); err != nil {
				return err
			}
			if st.desired == 1 && st.ready == 1 && st.procs == 1 {
				if steadySince.IsZero() {
					steadySince = st.at
				}
				if st.at.Sub(steadySince) >= reactSteadyFor {
					break
				}
			} else {
				steadySince = time.Time{}
			}
			if time.Now().After(deadline) {
				if keep := os.Getenv("BENCH_KEEP_LOG"); keep != "" {
					data, _ := os.ReadFile(f.logPath)
					_ = os.WriteFile(keep, data, 0o644)
				}
				return fmt.Errorf("reaction: not steady at 1 replica with a backlog of %d within 45s (desired %.0f, ready %.0f, processes %d, backlog %.0f)", reactLow, st.desired, st.ready, st.procs, st.backlog)
			}
			time.Sleep(metricsPoll)
		}
		// Jump at a known phase of the scaler's 1 s tick: spread over the
		// jumps, (j+½)/jumps of a tick after one. A tick shows as a new
		// decision (hold) of the function.
		dec0 := st.decisions
		for st.decisions == dec0 {
			if st, err = observeReact(mc, f, pr); err != nil {
				return err
			}
			if time.Now().After(deadline.Add(5 * time.Second)) {
				return fmt.Errorf("reaction: no scaler evaluation seen")
			}
			if st.decisions == dec0 {
				time.Sleep(metricsPoll)
			}
		}
		phase := time.Duration((float64(j) + 0.5) / float64(o.jumps) * float64(scalerTick))
		time.Sleep(time.Until(st.at.Add(phase)))
		if st, err = observeReact(mc, f, pr); err != nil {
			return err
		}
		ups0, backlog0 := st.ups, st.backlog
		postedAt.Store(0)
		// The jump is in once the events sent after it have all been
		// answered 202 (sends still open now count towards it too).
		postedGoal.Store(sent.Load() + reactHigh - reactLow)
		t0 := time.Now()
		window.Store(reactHigh)
		jp := jump{phase: phase}
		firstDesired := 0.0
		deadline = t0.Add(30 * time.Second)
		for jp.ready == 0 {
			if st, err = observeReact(mc, f, pr); err != nil {
				return err
			}
			el := st.at.Sub(t0)
			if jp.decide == 0 && st.ups > ups0 {
				jp.decide, firstDesired = el, st.desired
			}
			if jp.desired == 0 && st.desired >= float64(want) {
				jp.desired = el
			}
			if jp.procs == 0 && st.procs >= want {
				jp.procs = el
			}
			if jp.probed == 0 && st.answering >= want {
				jp.probed = el
			}
			if jp.ready == 0 && st.ready >= float64(want) {
				jp.ready = el
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("reaction: %d replicas not ready within 30s of the jump (desired %.0f, ready %.0f, processes %d, backlog %.0f)", want, st.desired, st.ready, st.procs, st.backlog)
			}
			time.Sleep(metricsPoll)
		}
		if at := postedAt.Load(); at != 0 {
			jp.ingested = time.Unix(0, at).Sub(t0)
		}
		jumps = append(jumps, jp)
		notes = append(notes, fmt.Sprintf("jump %d, %s after a tick: backlog %.0f before; %d more events accepted after %s; first up decision after %s (to %.0f), desired %d after %s, %d processes after %s, answering /healthz after %s, replicas_ready %d after %s", j+1, fmtDur(jp.phase), backlog0, reactHigh-reactLow, fmtDur(jp.ingested), fmtDur(jp.decide), firstDesired, want, fmtDur(jp.desired), want, fmtDur(jp.procs), fmtDur(jp.probed), want, fmtDur(jp.ready)))
	}
	rep.cpu(fmt.Sprintf("5 reaction (%d jumps, steady phases included)", o.jumps), cpu.end())
	stopFeeders()
	rep.errors("5 reaction feeders", ferr)
	rep.note("Reaction: %s.", strings.Join(notes, "; "))
	if err := f.stop(40 * time.Second); err != nil {
		rep.note("%v", err)
	}
	if keep := os.Getenv("BENCH_KEEP_LOG"); keep != "" {
		data, _ := os.ReadFile(f.logPath)
		_ = os.WriteFile(keep, data, 0o644)
	}

	med := func(get func(jump) time.Duration) (time.Duration, time.Duration) {
		var v []time.Duration
		for _, j := range jumps {
			v = append(v, get(j))
		}
		slices.Sort(v)
		return v[(len(v)-1)/2], v[len(v)-1]
	}
	im, iw := med(func(j jump) time.Duration { return j.ingested })
	dm, dw := med(func(j jump) time.Duration { return j.decide })
	qm, qw := med(func(j jump) time.Duration { return j.desired })
	pm, pw := med(func(j jump) time.Duration { return j.procs })
	rm, rw := med(func(j jump) time.Duration { return j.ready })
	label := fmt.Sprintf("median / worst of %d", len(jumps))
	rep.row("5", fmt.Sprintf("backlog jump %d → %d (%s): the %d extra events accepted", reactLow, reactHigh, label, reactHigh-reactLow), "", fmtDur(im)+" / "+fmtDur(iw), "", "")
	rep.row("5", fmt.Sprintf("backlog jump %d → %d: first scale-up decision (%s)", reactLow, reactHigh, label), "", fmtDur(dm)+" / "+fmtDur(dw), "≤ 1 s", verdict(dw <= time.Second))
	rep.row("5", fmt.Sprintf("backlog jump: desired reaches %d", want), "", fmtDur(qm)+" / "+fmtDur(qw), "", "")
	rep.row("5", fmt.Sprintf("backlog jump: %d replica processes running", want), "", fmtDur(pm)+" / "+fmtDur(pw), "", "")
	am, aw := med(func(j jump) time.Duration { return j.probed })
	rep.row("5", fmt.Sprintf("backlog jump: %d replicas answering /healthz (probed by the benchmark)", want), "", fmtDur(am)+" / "+fmtDur(aw), "", "")
	rep.row("5", fmt.Sprintf("backlog jump: freshet_function_replicas_ready reaches %d", want), "", fmtDur(rm)+" / "+fmtDur(rw), "≤ 3 s", verdict(rw <= 3*time.Second))
	return nil
}
