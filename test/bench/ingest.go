package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ingestYAML is a pipeline whose HTTP source feeds the vertex "out". Held,
// "out" is a function that never becomes ready (sleep, which answers no
// health probe): nothing drains its buffer, and the benchmark measures
// ingest alone (parse, validate, durable write, 202) while the events pile
// up. (A paused pipeline would not do: its source takes no events.)
// Running, "out" is a log sink draining the buffer (to /dev/null) at the
// same time, competing for the cores.
func ingestYAML(name string, held bool) string {
	out := `sink: {log: {}}`
	edges := `- {from: in, to: out}`
	if held {
		out = `function: {spec: {container: {command: [sleep, "3600"]}, scale: {min: 0, max: 1, containerConcurrency: 1, activationTimeout: 1h}}}
    - name: sink
      sink: {log: {}}`
		edges += `
    - {from: out, to: sink}`
	}
	return fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: %s
spec:
  vertices:
    - name: in
      source: {http: {}}
    - name: out
      %s
  edges:
    %s
`, name, out, edges)
}

func writeFile(dir, name, content string) (string, error) {
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, []byte(content), 0o644)
}

// ingestOp posts one event to url and expects 202.
func ingestOp(c *http.Client, url string, body []byte, prefix string, accepted *atomic.Int64) func(worker, seq int) string {
	return func(worker, seq int) string {
		id := prefix + strconv.Itoa(worker) + "-" + strconv.Itoa(seq)
		req, err := eventRequest(context.Background(), url, body, id, time.Time{})
		if err != nil {
			return err.Error()
		}
		code, _, _, err := post(c, req)
		if err != nil {
			return err.Error()
		}
		if code != http.StatusAccepted {
			return "status " + strconv.Itoa(code)
		}
		if accepted != nil {
			accepted.Add(1)
		}
		return ""
	}
}

func benchIngest(o options, b bins, dir string, rep *report) error {
	body := payload(o.size)
	rep.section("1. Durable HTTP ingest",
		fmt.Sprintf("%d senders (keep-alive), %d B JSON events in binary mode, %v after %v warm-up; latency is the client's time to the 202.", o.senders, len(body), o.duration, o.warmup))

	// Baseline: plain net/http, reads the body, answers 202.
	base, err := startHelper(b.accept202, dir, "accept202")
	if err != nil {
		return err
	}
	cpu := &cpuWatch{}
	cpu.add("baseline server", func() []int { return []int{base.pid()} })
	cpu.add("load generator", self)
	c := newClient(o.senders)
	logf("ingest: baseline (plain net/http 202) for %v", o.warmup+o.duration)
	rb := closedLoop(o.senders, o.warmup, o.duration, cpu, ingestOp(c, base.base+"/", body, "b", nil))
	if err := base.stop(10 * time.Second); err != nil {
		rep.note("baseline server: %v", err)
	}
	rep.cpu("1 baseline (net/http 202)", rb.cpu)
	rep.errors("1 baseline", rb.errs)

	run := func(name string, held bool) (loopResult, error) {
		path, err := writeFile(dir, name+".yaml", ingestYAML(name, held))
		if err != nil {
			return loopResult{}, err
		}
		f, err := startFreshet(b, dir, name, path)
		if err != nil {
			return loopResult{}, err
		}
		defer f.kill()
		cpu := &cpuWatch{}
		cpu.add("freshet", func() []int { return []int{f.pid()} })
		cpu.add("load generator", self)
		var accepted atomic.Int64
		c := newClient(o.senders)
		logf("ingest: freshet, pipeline %s (%s) for %v", name, map[bool]string{true: "held: nothing drains", false: "log sink running"}[held], o.warmup+o.duration)
		r := closedLoop(o.senders, o.warmup, o.duration, cpu, ingestOp(c, f.base+"/pipelines/default/"+name+"/in", body, "f", &accepted))
		if held {
			// Nothing acks the held vertex's buffer: its backlog must hold
			// every accepted event.
			n, err := backlog(f.base, "default/"+name+"/out")
			switch {
			case err != nil:
				rep.note("%s: reading the backlog: %v", name, err)
			case n == accepted.Load():
				rep.note("Check (held pipeline): the held vertex's buffer holds %d events = the %d events answered 202 (warm-up included).", n, accepted.Load())
			default:
				rep.note("CHECK FAILED (held pipeline): the held vertex's buffer holds %d events but %d were answered 202.", n, accepted.Load())
			}
		}
		if err := f.stop(40 * time.Second); err != nil {
			rep.note("%v", err)
		}
		return r, nil
	}
	rp, err := run("ingest", true)
	if err != nil {
		return err
	}
	rep.cpu("1 freshet, held pipeline", rp.cpu)
	rep.errors("1 freshet, held pipeline", rp.errs)
	rl, err := run("ingestlive", false)
	if err != nil {
		return err
	}
	rep.cpu("1 freshet, log sink running", rl.cpu)
	rep.errors("1 freshet, log sink running", rl.errs)

	rep.row("1", "ingest throughput, nothing draining (ingest alone)", fmtRate(rb.rate()), fmtRate(rp.rate()), "≥ 15,000/s", verdict(rp.rate() >= 15000))
	rep.row("1", "202 latency p50, ingest alone", fmtDur(rb.lat.p50), fmtDur(rp.lat.p50), "", "")
	rep.row("1", "202 latency p99, ingest alone", fmtDur(rb.lat.p99), fmtDur(rp.lat.p99), "≤ 20 ms", verdict(rp.lat.p99 <= 20*time.Millisecond))
	rep.row("1", "ingest throughput, log sink draining concurrently", fmtRate(rb.rate()), fmtRate(rl.rate()), "≥ 15,000/s", verdict(rl.rate() >= 15000))
	rep.row("1", "202 latency p50, log sink running", fmtDur(rb.lat.p50), fmtDur(rl.lat.p50), "", "")
	rep.row("1", "202 latency p99, log sink running", fmtDur(rb.lat.p99), fmtDur(rl.lat.p99), "≤ 20 ms", verdict(rl.lat.p99 <= 20*time.Millisecond))
	return nil
}

// backlog reads freshet_vertex_backlog of vertex from /metrics.
func backlog(base, vertex string) (int64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	prefix := `freshet_vertex_backlog{vertex="` + vertex + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", strings.TrimSpace(prefix))
}
