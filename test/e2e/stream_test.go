package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/freshetproj/freshet/internal/poll"
)

// streamPipeline is a broker's topic → noop function → a topic of the
// same broker, under freshet dev: the scenarios below run on Kafka and
// Pulsar alike.
type streamPipeline interface {
	yaml() string                      // the pipeline file
	produce(t *testing.T, from, n int) // plain messages, keys key-<i%7>, values v-<i>
	readOut(t *testing.T) *outReader   // what reaches the out topic
}

// exactCounts: 10,000 plain messages reach the out topic as exactly 10,000
// distinct events, keys kept.
func exactCounts(t *testing.T, p streamPipeline) {
	out := p.readOut(t)
	in := startFreshet(t, freePort(t), t.TempDir(), p.yaml())
	start := time.Now()
	p.produce(t, 0, events)
	dups := out.WaitDistinct(t, events, 5*time.Minute)
	t.Logf("%d messages in → function → out in %v, %d duplicates", events, time.Since(start).Round(time.Millisecond), dups)
	in.stop()
}

// killWholeProcess: kill -9 of freshet dev mid-stream and a restart on the
// same data directory: every message arrives.
func killWholeProcess(t *testing.T, p streamPipeline) {
	out := p.readOut(t)
	addr, data := freePort(t), filepath.Join(t.TempDir(), "data")
	first := startFreshet(t, addr, data, p.yaml())
	p.produce(t, 0, events)
	poll.True(t, 3*time.Minute, "2,000 events in out", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return len(out.values) >= 2000
	})
	first.kill9()
	second := startFreshet(t, addr, data, p.yaml())
	dups := out.WaitDistinct(t, events, 5*time.Minute)
	t.Logf("all %d messages arrived after kill -9; %d duplicates", events, dups)
	second.stop()
}

// scaleFromZero: a function (fnKey) at zero fed by a topic wakes when
// messages arrive, drains them and returns to zero.
func scaleFromZero(t *testing.T, p streamPipeline, fnKey string) {
	out := p.readOut(t)
	in := startFreshet(t, freePort(t), t.TempDir(), p.yaml())
	if n := in.ready(t, fnKey); n != 0 {
		t.Fatalf("%d replicas before any message, want 0", n)
	}
	p.produce(t, 0, 100)
	out.WaitDistinct(t, 100, 2*time.Minute)
	poll.True(t, time.Minute, "the function back at zero", func() bool {
		return in.ready(t, fnKey) == 0 && len(in.childPids(bins.noop)) == 0
	})
	in.stop()
}
