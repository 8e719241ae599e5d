package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

const events = 10_000

// TestTenThousandEvents: 10,000 events through http → Go → Python → sink
// arrive as exactly 10,000 distinct ids.
func TestTenThousandEvents(t *testing.T) {
	sk := newSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(), writePipeline(t, sk.srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newSender(in.base + "/pipelines/default/e2e/in")
	start := time.Now()
	if err := s.sendAll(ctx, events, 32); err != nil {
		t.Fatal(err)
	}
	sk.waitDistinct(t, events, 5*time.Minute)
	dups := sk.checkExactly(t, expected(events))
	t.Logf("%d events end to end in %v, %d duplicates", events, time.Since(start).Round(time.Millisecond), dups)
	in.stop()
}

// TestKillWholeProcess: kill -9 of freshet dev in the middle of the stream,
// then a restart on the same data directory: every event that got a 202
// reaches the sink. Senders retry refused events as any client would.
func TestKillWholeProcess(t *testing.T) {
	sk := newSink(t)
	addr, data := freePort(t), filepath.Join(t.TempDir(), "data")
	file := writePipeline(t, sk.srv.URL)
	first := startFreshet(t, addr, data, file)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := newSender(first.base + "/pipelines/default/e2e/in")
	sent := make(chan error, 1)
	go func() { sent <- s.sendAll(ctx, events, 32) }()

	waitUntil(t, 3*time.Minute, "3,000 events accepted", func() bool { return s.accepted.Load() >= 3000 })
	first.kill9()
	acceptedBeforeKill := s.accepted.Load()
	delivered, _ := sk.counts()
	t.Logf("killed freshet dev after %d accepted events, %d delivered", acceptedBeforeKill, delivered)
	if orphans := first.childPids(""); len(orphans) != 0 {
		t.Errorf("function processes outlived freshet dev: %v", orphans)
	}

	second := startFreshet(t, addr, data, file)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	sk.waitDistinct(t, events, 5*time.Minute)
	dups := sk.checkExactly(t, expected(events))
	t.Logf("all %d events reached the sink after the crash; %d duplicates", events, dups)
	second.stop()
}

// TestKillReplica: kill -9 of a function replica mid-stream loses nothing.
func TestKillReplica(t *testing.T) {
	sk := newSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(), writePipeline(t, sk.srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newSender(in.base + "/pipelines/default/e2e/in")
	sent := make(chan error, 1)
	go func() { sent <- s.sendAll(ctx, events, 32) }()

	waitUntil(t, 3*time.Minute, "3,000 events accepted", func() bool { return s.accepted.Load() >= 3000 })
	pids := in.childPids(bins.enrich)
	if len(pids) == 0 {
		t.Fatal("found no go-enrich replica to kill")
	}
	if err := killPid(pids[0]); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	sk.waitDistinct(t, events, 5*time.Minute)
	dups := sk.checkExactly(t, expected(events))
	t.Logf("killed replica pid %d mid-stream; all %d events arrived, %d duplicates", pids[0], events, dups)
	in.stop()
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

// TestGracefulShutdownResumes: SIGTERM makes freshet dev stop taking
// events, finish what is in flight and exit 0; a restart on the same data
// directory delivers every event that was still buffered.
func TestGracefulShutdownResumes(t *testing.T) {
	sk := newSink(t)
	addr, data := freePort(t), filepath.Join(t.TempDir(), "data")
	file := writePipeline(t, sk.srv.URL)
	first := startFreshet(t, addr, data, file)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 3000
	s := newSender(first.base + "/pipelines/default/e2e/in")
	if err := s.sendAll(ctx, n, 32); err != nil {
		t.Fatal(err)
	}
	stopping := time.Now()
	first.stop()
	delivered, _ := sk.counts()
	t.Logf("%d of %d events delivered before shutdown, which took %v", delivered, n, time.Since(stopping).Round(time.Millisecond))

	second := startFreshet(t, addr, data, file)
	resumed := time.Now()
	sk.waitDistinct(t, n, 3*time.Minute)
	t.Logf("the rest arrived %v after the restart", time.Since(resumed).Round(time.Millisecond))
	dups := sk.checkExactly(t, expected(n))
	t.Logf("all %d events delivered after the restart; %d duplicates", n, dups)
	second.stop()
}
