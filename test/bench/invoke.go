package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

func invokeYAML(fn string) string {
	return fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: noop
spec:
  container: {command: [%q]}
  scale: {min: 1, containerConcurrency: 8}
`, fn)
}

// invokeBlock is how many requests go to one target before switching to
// the other, so slow drift (other load, CPU frequency) hits both alike.
const invokeBlock = 500

func benchInvoke(o options, b bins, dir string, rep *report) error {
	body := payload(o.size)
	warm := max(o.requests/5, 200)
	rep.section("3. One hop through the router (synchronous invoke)",
		fmt.Sprintf("One client, one request at a time, keep-alive: %d requests to POST /functions/default/noop on freshet dev and %d straight to another process of the same function (and, for reference, %d through a stdlib httputil.ReverseProxy process in front of that one), after %d warm-up requests each, alternating in blocks of %d. Added latency is the difference of the percentiles.", o.requests, o.requests, o.requests, warm, invokeBlock))

	direct, err := startHelper(b.noopfn, dir, "noopfn-direct")
	if err != nil {
		return err
	}
	defer direct.kill()
	proxy, err := startHelper(b.proxyhop, dir, "proxyhop", "TARGET="+direct.base)
	if err != nil {
		return err
	}
	defer proxy.kill()
	path, err := writeFile(dir, "invoke.yaml", invokeYAML(b.noopfn))
	if err != nil {
		return err
	}
	f, err := startFreshet(b, dir, "invoke", path)
	if err != nil {
		return err
	}
	defer f.kill()
	c := newClient(2)
	targets := []string{direct.base + "/", proxy.base + "/", f.base + "/functions/default/noop"}
	call := func(url string, id string) (time.Duration, error) {
		req, err := eventRequest(context.Background(), url, body, id, time.Time{})
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		code, _, _, err := post(c, req)
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if code != http.StatusOK {
			return 0, fmt.Errorf("%s: status %d", url, code)
		}
		return d, nil
	}
	logf("invoke: %d requests, one at a time", 2*(warm+o.requests))
	seq := 0
	for range warm {
		for _, u := range targets {
			seq++
			if _, err := call(u, "w"+strconv.Itoa(seq)); err != nil {
				return fmt.Errorf("invoke warm-up: %w", err)
			}
		}
	}
	lat := make([][]time.Duration, len(targets))
	cpu := &cpuWatch{}
	cpu.add("freshet", func() []int { return []int{f.pid()} })
	cpu.add("function behind freshet", func() []int { return children(f.pid()) })
	cpu.add("direct function", func() []int { return []int{direct.pid()} })
	cpu.add("reverse proxy", func() []int { return []int{proxy.pid()} })
	cpu.add("client", self)
	cpu.begin()
	for done := 0; done < o.requests; done += invokeBlock {
		n := min(invokeBlock, o.requests-done)
		for i, u := range targets {
			for range n {
				seq++
				d, err := call(u, "m"+strconv.Itoa(seq))
				if err != nil {
					return fmt.Errorf("invoke: %w", err)
				}
				lat[i] = append(lat[i], d)
			}
		}
	}
	rep.cpu("3 invoke (both targets, alternating)", cpu.end())
	if err := f.stop(40 * time.Second); err != nil {
		rep.note("%v", err)
	}
	d, p, r := summarize(lat[0]), summarize(lat[1]), summarize(lat[2])
	if err := proxy.stop(10 * time.Second); err != nil {
		rep.note("%v", err)
	}
	rep.row("3", "invoke latency p50 (direct → via router)", fmtDur(d.p50), fmtDur(r.p50), "", "")
	rep.row("3", "invoke latency p99 (direct → via router)", fmtDur(d.p99), fmtDur(r.p99), "", "")
	rep.row("3", "router's added latency p50", "", fmtAdded(r.p50-d.p50), "≤ +100 µs", verdict(r.p50-d.p50 <= 100*time.Microsecond))
	rep.row("3", "router's added latency p99", "", fmtAdded(r.p99-d.p99), "≤ +500 µs", verdict(r.p99-d.p99 <= 500*time.Microsecond))
	rep.row("3", "reference: a stdlib ReverseProxy hop adds p50 / p99", fmtAdded(p.p50-d.p50)+" / "+fmtAdded(p.p99-d.p99), "", "", "")
	return nil
}
