package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/freshetproj/freshet/internal/poll"
	"github.com/freshetproj/freshet/test/internal/traffic"
)

const events = 10_000

// TestTenThousandEvents: 10,000 events through http → Go → Python → sink
// arrive as exactly 10,000 distinct ids.
func TestTenThousandEvents(t *testing.T) {
	sk := traffic.NewSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(), writePipeline(t, sk.Srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := traffic.NewSender(in.base + "/pipelines/default/e2e/in")
	start := time.Now()
	if err := s.SendAll(ctx, events, 32); err != nil {
		t.Fatal(err)
	}
	sk.WaitDistinct(t, events, 5*time.Minute)
	dups := sk.CheckExactly(t, traffic.Expected(events))
	t.Logf("%d events end to end in %v, %d duplicates", events, time.Since(start).Round(time.Millisecond), dups)
	in.stop()
}

// TestKillWholeProcess: kill -9 of freshet dev in the middle of the stream,
// then a restart on the same data directory: every event that got a 202
// reaches the sink. Senders retry refused events as any client would.
func TestKillWholeProcess(t *testing.T) {
	sk := traffic.NewSink(t)
	addr, data := freePort(t), filepath.Join(t.TempDir(), "data")
	file := writePipeline(t, sk.Srv.URL)
	first := startFreshet(t, addr, data, file)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := traffic.NewSender(first.base + "/pipelines/default/e2e/in")
	sent := make(chan error, 1)
	go func() { sent <- s.SendAll(ctx, events, 32) }()

	poll.True(t, 3*time.Minute, "3,000 events accepted", func() bool { return s.Accepted.Load() >= 3000 })
	first.kill9()
	acceptedBeforeKill := s.Accepted.Load()
	delivered, _ := sk.Counts()
	t.Logf("killed freshet dev after %d accepted events, %d delivered", acceptedBeforeKill, delivered)
	if orphans := first.childPids(""); len(orphans) != 0 {
		t.Errorf("function processes outlived freshet dev: %v", orphans)
	}

	second := startFreshet(t, addr, data, file)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	sk.WaitDistinct(t, events, 5*time.Minute)
	dups := sk.CheckExactly(t, traffic.Expected(events))
	t.Logf("all %d events reached the sink after the crash; %d duplicates", events, dups)
	second.stop()
}

// TestKillReplica: kill -9 of a function replica mid-stream loses nothing.
func TestKillReplica(t *testing.T) {
	sk := traffic.NewSink(t)
	in := startFreshet(t, freePort(t), t.TempDir(), writePipeline(t, sk.Srv.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := traffic.NewSender(in.base + "/pipelines/default/e2e/in")
	sent := make(chan error, 1)
	go func() { sent <- s.SendAll(ctx, events, 32) }()

	poll.True(t, 3*time.Minute, "3,000 events accepted", func() bool { return s.Accepted.Load() >= 3000 })
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
	sk.WaitDistinct(t, events, 5*time.Minute)
	dups := sk.CheckExactly(t, traffic.Expected(events))
	t.Logf("killed replica pid %d mid-stream; all %d events arrived, %d duplicates", pids[0], events, dups)
	in.stop()
}

// TestGracefulShutdownResumes: SIGTERM makes freshet dev stop taking
// events, finish what is in flight and exit 0; a restart on the same data
// directory delivers every event that was still buffered.
func TestGracefulShutdownResumes(t *testing.T) {
	sk := traffic.NewSink(t)
	addr, data := freePort(t), filepath.Join(t.TempDir(), "data")
	file := writePipeline(t, sk.Srv.URL)
	first := startFreshet(t, addr, data, file)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 3000
	s := traffic.NewSender(first.base + "/pipelines/default/e2e/in")
	if err := s.SendAll(ctx, n, 32); err != nil {
		t.Fatal(err)
	}
	stopping := time.Now()
	first.stop()
	delivered, _ := sk.Counts()
	t.Logf("%d of %d events delivered before shutdown, which took %v", delivered, n, time.Since(stopping).Round(time.Millisecond))

	second := startFreshet(t, addr, data, file)
	resumed := time.Now()
	sk.WaitDistinct(t, n, 3*time.Minute)
	t.Logf("the rest arrived %v after the restart", time.Since(resumed).Round(time.Millisecond))
	dups := sk.CheckExactly(t, traffic.Expected(n))
	t.Logf("all %d events delivered after the restart; %d duplicates", n, dups)
	second.stop()
}
