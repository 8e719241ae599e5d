package main

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// metricSample is one line of a Prometheus text exposition.
type metricSample struct {
	name   string
	labels map[string]string
	value  float64
}

// metricsSnap is one scrape of freshet's /metrics.
type metricsSnap []metricSample

// scrapeMetrics reads base+"/metrics".
func scrapeMetrics(c *http.Client, base string) (metricsSnap, error) {
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	var out metricsSnap
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		// Only freshet's own series: the Go and process collectors'
		// lines are many and never needed here.
		if !strings.HasPrefix(line, "freshet_") {
			continue
		}
		s, ok := parseSample(line)
		if ok {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// parseSample parses `name{k="v",...} value` or `name value`.
func parseSample(line string) (metricSample, bool) {
	var s metricSample
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return s, false
		}
		s.name = line[:i]
		s.labels = map[string]string{}
		for _, kv := range strings.Split(line[i+1:j], ",") {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				s.labels[k] = strings.Trim(v, `"`)
			}
		}
		rest = line[j+1:]
	} else {
		name, r, ok := strings.Cut(line, " ")
		if !ok {
			return s, false
		}
		s.name, rest = name, r
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, false
	}
	s.value = v
	return s, true
}

// sum adds up the series of name whose labels include the given key/value
// pairs; found says whether any matched.
func (m metricsSnap) sum(name string, kv ...string) (total float64, found bool) {
	for _, s := range m {
		if s.name != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				match = false
				break
			}
		}
		if match {
			total += s.value
			found = true
		}
	}
	return total, found
}

// gauge is the value of name{function=fn}, or -1 if it is not exposed yet.
func (m metricsSnap) gauge(name, fn string) float64 {
	v, ok := m.sum(name, "function", fn)
	if !ok {
		return -1
	}
	return v
}

// histogram is a Prometheus histogram's cumulative buckets, count and sum.
type histogram struct {
	le    []float64 // upper bounds, ascending, +Inf last
	cum   []float64
	count float64
	sum   float64
}

// hist reads histogram name{function=fn}.
func (m metricsSnap) hist(name, fn string) histogram {
	var h histogram
	for _, s := range m {
		if s.labels["function"] != fn {
			continue
		}
		switch s.name {
		case name + "_bucket":
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			if err != nil {
				continue
			}
			h.le = append(h.le, le)
			h.cum = append(h.cum, s.value)
		case name + "_count":
			h.count = s.value
		case name + "_sum":
			h.sum = s.value
		}
	}
	return h
}

// minus is h - o, bucket by bucket (both from the same series).
func (h histogram) minus(o histogram) histogram {
	d := histogram{le: h.le, count: h.count - o.count, sum: h.sum - o.sum}
	for i := range h.cum {
		v := h.cum[i]
		if i < len(o.cum) {
			v -= o.cum[i]
		}
		d.cum = append(d.cum, v)
	}
	return d
}

// add is h + o, bucket by bucket (same bucket layout).
func (h histogram) add(o histogram) histogram {
	if len(h.le) == 0 {
		return o
	}
	d := histogram{le: h.le, count: h.count + o.count, sum: h.sum + o.sum}
	for i := range h.cum {
		v := h.cum[i]
		if i < len(o.cum) {
			v += o.cum[i]
		}
		d.cum = append(d.cum, v)
	}
	return d
}

// bucketOf returns the bounds (lo, hi] of the bucket that holds the
// quantile q, as Prometheus's histogram_quantile would interpolate in.
func (h histogram) bucketOf(q float64) (lo, hi float64) {
	if h.count <= 0 || len(h.le) == 0 {
		return math.NaN(), math.NaN()
	}
	rank := math.Ceil(q * h.count)
	for i, c := range h.cum {
		if c >= rank {
			if i > 0 {
				lo = h.le[i-1]
			}
			return lo, h.le[i]
		}
	}
	return h.le[len(h.le)-1], math.Inf(1)
}

// childArgs maps each live child process of pid to its first argument
// (argv[1]), "" if it has none.
func childArgs(pid int) map[int]string {
	out := map[int]string{}
	for _, c := range children(pid) {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		arg := ""
		if len(argv) > 1 {
			arg = argv[1]
		}
		out[c] = arg
	}
	return out
}
