package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// chainYAML is http → a → b → HTTP sink (the benchmark's own server); a and
// b are the pass-through function, one replica each.
func chainYAML(fn, sinkURL string) string {
	spec := fmt.Sprintf(`
          container: {command: [%q]}
          scale: {min: 1, max: 1, containerConcurrency: 64}`, fn)
	return fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: chain
spec:
  vertices:
    - name: in
      source: {http: {}}
    - name: a
      function:
        spec:%s
    - name: b
      function:
        spec:%s
    - name: out
      sink:
        http: {uri: %q}
  edges:
    - {from: in, to: a}
    - {from: a, to: b}
    - {from: b, to: out}
`, spec, spec, sinkURL)
}

// ingestUntilAccepted posts one event to a pipeline's HTTP source, retrying
// 503 (and connection errors) as an at-least-once client does.
func ingestUntilAccepted(c *http.Client, url string, body []byte, id string, sent time.Time) string {
	for attempt := 0; ; attempt++ {
		req, err := eventRequest(context.Background(), url, body, id, sent)
		if err != nil {
			return err.Error()
		}
		code, _, _, err := post(c, req)
		switch {
		case err == nil && code == http.StatusAccepted:
			return ""
		case err == nil && code != http.StatusServiceUnavailable:
			return "status " + strconv.Itoa(code)
		case attempt == 100:
			if err != nil {
				return err.Error()
			}
			return "status 503 after 100 attempts"
		}
		time.Sleep(20 * time.Millisecond) // client retry backoff
	}
}

// chainDirect is the baseline: the client itself calls a, then b with a's
// reply, then posts b's reply to the sink.
func chainDirect(c *http.Client, a, b, sinkURL string, body []byte, id string, sent time.Time) string {
	req, err := eventRequest(context.Background(), a, body, id, sent)
	if err != nil {
		return err.Error()
	}
	code, h, reply, err := post(c, req)
	if err != nil || code != http.StatusOK {
		return fmt.Sprintf("function a: %d %v", code, err)
	}
	code, h, reply, err = forward(context.Background(), c, b, h, reply)
	if err != nil || code != http.StatusOK {
		return fmt.Sprintf("function b: %d %v", code, err)
	}
	code, _, _, err = forward(context.Background(), c, sinkURL, h, reply)
	if err != nil || code != http.StatusAccepted {
		return fmt.Sprintf("sink: %d %v", code, err)
	}
	return ""
}

func benchPipeline(o options, b bins, dir string, rep *report) error {
	body := payload(o.size)
	rep.section("2. Pipeline http → fn → fn → sink (at-least-once)",
		fmt.Sprintf("Both functions are test/bench/noopfn (pass-through, pkg/function), one replica each with containerConcurrency 64. The sink is an HTTP server in the benchmark process; end-to-end latency is send time (carried in the ce-%s extension) → first arrival at the sink. Throughput: %d senders for %v after %v warm-up with at most %d events inside the pipeline at once (a sender waits for a free slot; the sink frees it), counted as distinct arrivals per second at the sink. Latency is then measured again at a fixed rate of half Freshet's throughput (unless -rate) for %v. Baseline: the client calls function a, then b with a's reply, then posts b's reply to the same sink (no buffer, no retries).", sentExt, o.senders, o.duration, o.warmup, o.window, o.paced))

	sk, err := newSink()
	if err != nil {
		return err
	}
	defer sk.close()
	fa, err := startHelper(b.noopfn, dir, "noopfn-a")
	if err != nil {
		return err
	}
	defer fa.kill()
	fb, err := startHelper(b.noopfn, dir, "noopfn-b")
	if err != nil {
		return err
	}
	defer fb.kill()
	path, err := writeFile(dir, "chain.yaml", chainYAML(b.noopfn, sk.url))
	if err != nil {
		return err
	}
	f, err := startFreshet(b, dir, "chain", path)
	if err != nil {
		return err
	}
	defer f.kill()
	c := newClient(o.senders)
	in := f.base + "/pipelines/default/chain/in"

	baseCPU := &cpuWatch{}
	baseCPU.add("functions", func() []int { return []int{fa.pid(), fb.pid()} })
	baseCPU.add("load generator + sink", self)
	freshetCPU := &cpuWatch{}
	freshetCPU.add("freshet", func() []int { return []int{f.pid()} })
	freshetCPU.add("functions", func() []int { return children(f.pid()) })
	freshetCPU.add("load generator + sink", self)

	// Saturation: baseline.
	logf("pipeline: baseline (client calls a, b, sink) for %v", o.warmup+o.duration)
	from := time.Now().Add(o.warmup)
	to := from.Add(o.duration)
	sk.phase(from, to, from, to, nil)
	rb := closedLoop(o.senders, o.warmup, o.duration, baseCPU, func(w, seq int) string {
		return chainDirect(c, fa.base+"/", fb.base+"/", sk.url, body, "b"+strconv.Itoa(w)+"-"+strconv.Itoa(seq), time.Now())
	})
	bCount, bLat := sk.result()
	bRate := float64(bCount) / o.duration.Seconds()
	bStats := summarize(bLat)
	rep.cpu("2 baseline, saturation", rb.cpu)
	rep.errors("2 baseline, saturation", rb.errs)

	// Saturation: Freshet, with a bounded number of events in flight.
	logf("pipeline: freshet, saturation for %v", o.warmup+o.duration)
	before := sk.distinct()
	slots := make(chan struct{}, o.window)
	var accepted atomic.Int64
	from = time.Now().Add(o.warmup)
	to = from.Add(o.duration)
	sk.phase(from, to, from, to, slots)
	rf := closedLoop(o.senders, o.warmup, o.duration, freshetCPU, func(w, seq int) string {
		slots <- struct{}{}
		msg := ingestUntilAccepted(c, in, body, "f"+strconv.Itoa(w)+"-"+strconv.Itoa(seq), time.Now())
		if msg != "" {
			<-slots
			return msg
		}
		accepted.Add(1)
		return ""
	})
	if !sk.waitFor(before+int(accepted.Load()), time.Minute) {
		rep.note("Pipeline: only %d of %d accepted events reached the sink within 1 minute of the end of the saturation run.", sk.distinct()-before, accepted.Load())
	}
	fCount, fLat := sk.result()
	fRate := float64(fCount) / o.duration.Seconds()
	fStats := summarize(fLat)
	rep.cpu("2 freshet, saturation", rf.cpu)
	rep.errors("2 freshet, saturation", rf.errs)

	// Latency at a fixed rate.
	rate := o.rate
	if rate <= 0 {
		rate = math.Max(100, math.Round(fRate/2/100)*100)
	}
	logf("pipeline: freshet at %.0f events/s for %v", rate, o.paced)
	accepted.Store(0)
	before = sk.distinct()
	start := time.Now()
	sk.phase(start, start.Add(o.paced), start, start.Add(o.paced), nil)
	perr := &errCount{}
	freshetCPU.begin()
	late := paced(o.senders, rate, o.paced, func(w, seq int, at time.Time) {
		if msg := ingestUntilAccepted(c, in, body, "p"+strconv.Itoa(seq), at); msg != "" {
			perr.add(msg)
			return
		}
		accepted.Add(1)
	})
	pcpu := freshetCPU.end()
	if !sk.waitFor(before+int(accepted.Load()), time.Minute) {
		rep.note("Pipeline: only %d of %d accepted events reached the sink within 1 minute of the end of the fixed-rate run.", sk.distinct()-before, accepted.Load())
	}
	_, fpLat := sk.result()
	fpStats := summarize(fpLat)
	rep.cpu(fmt.Sprintf("2 freshet at %.0f/s", rate), pcpu)
	rep.errors("2 freshet, fixed rate", perr)
	if late > 0 {
		rep.note("Freshet at %.0f/s: %d sends started more than 100 ms behind schedule (all %d senders busy).", rate, late, o.senders)
	}

	logf("pipeline: baseline at %.0f events/s for %v", rate, o.paced)
	start = time.Now()
	sk.phase(start, start.Add(o.paced), start, start.Add(o.paced), nil)
	berr := &errCount{}
	baseCPU.begin()
	blate := paced(o.senders, rate, o.paced, func(w, seq int, at time.Time) {
		if msg := chainDirect(c, fa.base+"/", fb.base+"/", sk.url, body, "q"+strconv.Itoa(seq), at); msg != "" {
			berr.add(msg)
		}
	})
	bpcpu := baseCPU.end()
	_, bpLat := sk.result()
	bpStats := summarize(bpLat)
	rep.cpu(fmt.Sprintf("2 baseline at %.0f/s", rate), bpcpu)
	rep.errors("2 baseline, fixed rate", berr)
	if blate > 0 {
		rep.note("Baseline at %.0f/s: %d sends started more than 100 ms behind schedule.", rate, blate)
	}
	if d := sk.duplicates(); d > 0 {
		rep.note("The sink received %d duplicate deliveries (at-least-once redeliveries).", d)
	} else {
		rep.note("Check (pipeline): every accepted event reached the sink, no duplicates.")
	}
	if err := f.stop(40 * time.Second); err != nil {
		rep.note("%v", err)
	}

	rep.row("2", "pipeline throughput (distinct events/s at the sink)", fmtRate(bRate), fmtRate(fRate), "≥ 5,000/s", verdict(fRate >= 5000))
	rep.row("2", fmt.Sprintf("end-to-end p50 at saturation (≤ %d in flight)", o.window), fmtDur(bStats.p50), fmtDur(fStats.p50), "", "")
	rep.row("2", fmt.Sprintf("end-to-end p99 at saturation (≤ %d in flight)", o.window), fmtDur(bStats.p99), fmtDur(fStats.p99), "", "")
	rep.row("2", fmt.Sprintf("end-to-end p50 at %s", fmtRate(rate)), fmtDur(bpStats.p50), fmtDur(fpStats.p50), "", "")
	rep.row("2", fmt.Sprintf("end-to-end p99 at %s", fmtRate(rate)), fmtDur(bpStats.p99), fmtDur(fpStats.p99), "", "")
	return nil
}
