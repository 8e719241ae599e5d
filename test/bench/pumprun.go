package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	"github.com/freshetproj/freshet/pkg/router"
	"github.com/freshetproj/freshet/pkg/source"
)

// freshetGC sets the GC target freshet dev runs with (cmd/freshet raises
// GOGC to 400 unless GOGC is set) for the in-process source benchmarks,
// and returns the function that restores it.
func freshetGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(400)
	return func() { debug.SetGCPercent(old) }
}

// timedSource notes when Read first returned messages, and then calls
// onFirst once; it counts the Reads that returned messages, and those
// messages.
type timedSource struct {
	source.Source
	once     sync.Once
	first    time.Time
	onFirst  func()
	reads    atomic.Int64
	readMsgs atomic.Int64
}

func (s *timedSource) Read(ctx context.Context, max int, maxWait time.Duration) ([]source.Message, error) {
	msgs, err := s.Source.Read(ctx, max, maxWait)
	if len(msgs) > 0 {
		s.once.Do(func() {
			s.first = time.Now()
			s.onFirst()
		})
		s.reads.Add(1)
		s.readMsgs.Add(int64(len(msgs)))
	}
	return msgs, err
}

// countingBuffer counts the messages written (acknowledged by the server)
// and closes reached when the count first reaches target.
type countingBuffer struct {
	buffer.Buffer
	target  int64
	written atomic.Int64
	once    sync.Once
	at      time.Time
	reached chan struct{}
}

func (b *countingBuffer) Write(ctx context.Context, msgs []buffer.Message) error {
	err := b.Buffer.Write(ctx, msgs)
	if err == nil && b.written.Add(int64(len(msgs))) >= b.target {
		b.once.Do(func() {
			b.at = time.Now()
			close(b.reached)
		})
	}
	return err
}

// pumpResult is one in-process Pump run.
type pumpResult struct {
	join     time.Duration // Open → first Read with messages
	elapsed  time.Duration // first Read with messages → the buffer held target
	written  int64         // messages the buffer acknowledged (repeats included)
	pending  int64         // the buffer's count after the run
	reads    int64         // Reads that returned messages, until the target
	readMsgs int64         // the messages they returned
	cpu      string
	err      error // the run did not reach the target in time
}

func (r pumpResult) rate(n int64) float64 { return float64(n) / r.elapsed.Seconds() }

// runPump drains src into a fresh embedded JetStream buffer (under dir) with
// a router.Pump, as the data plane runs a source vertex: one route, the
// Pump's defaults. It stops once the buffer has acknowledged target
// messages (or after timeout), closes src and reads the buffer's count.
// cpu's window is from the first Read with messages to the target. With
// BENCH_CPUPROFILE=PREFIX set, that window is also profiled into
// PREFIX.<name>.
func runPump(dir, name string, src source.Source, opened time.Time, target int64, timeout time.Duration, cpu *cpuWatch) (pumpResult, error) {
	var res pumpResult
	ctx := context.Background()
	store, err := jetstream.Open(ctx, jetstream.Config{DataDir: filepath.Join(dir, name+"-jetstream")})
	if err != nil {
		_ = src.Close()
		return res, err
	}
	defer store.Close()
	buf, err := store.Open(ctx, name)
	if err != nil {
		_ = src.Close()
		return res, err
	}
	cb := &countingBuffer{Buffer: buf, target: target, reached: make(chan struct{})}
	profiling := false
	ts := &timedSource{Source: src, onFirst: func() {
		cpu.begin()
		if prefix := os.Getenv("BENCH_CPUPROFILE"); prefix != "" {
			if f, err := os.Create(prefix + "." + name); err == nil {
				profiling = pprof.StartCPUProfile(f) == nil
			}
		}
	}}
	pump := &router.Pump{
		Vertex: "bench/" + name,
		Source: ts,
		Routes: []router.Route{{To: "buffer", Out: cb}},
		Log:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = pump.Run(runCtx)
	}()
	select {
	case <-cb.reached:
		res.cpu = cpu.end()
		res.join = ts.first.Sub(opened)
		res.elapsed = cb.at.Sub(ts.first)
		res.reads, res.readMsgs = ts.reads.Load(), ts.readMsgs.Load()
	case <-time.After(timeout):
		res.cpu = cpu.end()
		res.err = fmt.Errorf("the buffer acknowledged %d of %d messages within %v", cb.written.Load(), target, timeout)
	}
	if profiling {
		pprof.StopCPUProfile()
		logf("%s: CPU profile of the measured window in %s.%s", name, os.Getenv("BENCH_CPUPROFILE"), name)
	}
	stop()
	<-ran
	if err := src.Close(); err != nil {
		logf("%s: closing the source: %v", name, err)
	}
	res.written = cb.written.Load()
	res.pending, err = buf.Pending(ctx)
	if err != nil {
		return res, err
	}
	return res, nil
}

// randomPayload is JSON data of exactly size bytes (at least 12) whose
// padding is random base64: incompressible, unlike payload's, so no
// compression on the way (franz-go's, the Kafka sink's, gzip over HTTP)
// makes the 1 KiB cheaper than it would be for real data.
func randomPayload(size int) []byte {
	const head, tail = `{"pad":"`, `"}`
	n := max(size-len(head)-len(tail), 0)
	raw := make([]byte, n)
	_, _ = rand.Read(raw)
	pad := base64.StdEncoding.EncodeToString(raw)[:n]
	return []byte(head + pad + tail)
}
