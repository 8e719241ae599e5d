package jetstream

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// BenchmarkReadLatency measures how long Read(64) takes to return at low
// load: with one message already stored ("stored"), and with the message
// written while Read waits for the first one ("arriving", timed from the
// end of its Write), as a dispatcher's loop sees it.
func BenchmarkReadLatency(b *testing.B) {
	b.Run("stored", func(b *testing.B) {
		buf := benchBuffer(b)
		ctx := context.Background()
		var lat []time.Duration
		for i := range b.N {
			if err := buf.Write(ctx, []buffer.Message{{ID: fmt.Sprintf("m-%d", i), Data: make([]byte, 1024)}}); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			ds, err := buf.Read(ctx, 64, 500*time.Millisecond)
			took := time.Since(t0)
			if err != nil || len(ds) != 1 {
				b.Fatalf("Read: %d, %v", len(ds), err)
			}
			lat = append(lat, took)
			if err := ds[0].Ack(ctx); err != nil {
				b.Fatal(err)
			}
		}
		reportLatency(b, lat)
	})
	b.Run("arriving", func(b *testing.B) {
		buf := benchBuffer(b)
		ctx := context.Background()
		var lat []time.Duration
		for i := range b.N {
			wrote := make(chan time.Time, 1)
			go func() {
				time.Sleep(20 * time.Millisecond)
				if err := buf.Write(ctx, []buffer.Message{{ID: fmt.Sprintf("m-%d", i), Data: make([]byte, 1024)}}); err != nil {
					b.Error(err)
				}
				wrote <- time.Now()
			}()
			ds, err := buf.Read(ctx, 64, 500*time.Millisecond)
			done := time.Now()
			if err != nil || len(ds) != 1 {
				b.Fatalf("Read: %d, %v", len(ds), err)
			}
			lat = append(lat, max(0, done.Sub(<-wrote)))
			if err := ds[0].Ack(ctx); err != nil {
				b.Fatal(err)
			}
		}
		reportLatency(b, lat)
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// TestReadReturnsPromptly checks that a Read returns as soon as it has
// taken what is stored, not after its pull request's expiry, and that the
// server has ended that request by then: a message written right after
// the Read returns goes to the next Read, at its first attempt.
func TestReadReturnsPromptly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	buf, err := s.Open(ctx, "prompt")
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 40
	var lat []time.Duration
	for i := range rounds {
		id := fmt.Sprintf("m-%d", i)
		if err := buf.Write(ctx, []buffer.Message{{ID: id, Data: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		ds, err := buf.Read(ctx, 64, 2*time.Second)
		lat = append(lat, time.Since(t0))
		if err != nil || len(ds) != 1 {
			t.Fatalf("round %d: Read: %d messages, %v", i, len(ds), err)
		}
		if got := ds[0].Message().ID; got != id || ds[0].Attempt() != 1 {
			t.Fatalf("round %d: got %s attempt %d, want %s attempt 1", i, got, ds[0].Attempt(), id)
		}
		if err := ds[0].Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The median Read must not wait out a gather request's expiry.
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if med := lat[len(lat)/2]; med >= gatherWait {
		t.Errorf("median Read of one stored message took %s, want < %s", med, gatherWait)
	}
}

// TestReadAtMaxAckPending checks that a Read whose request the server
// holds at MaxAckPending returns what it got, and that nothing delivered
// is lost: every message comes once, at its first attempt.
func TestReadAtMaxAckPending(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, Config{DataDir: t.TempDir(), MaxAckPending: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	buf, err := s.Open(ctx, "maxackpending")
	if err != nil {
		t.Fatal(err)
	}
	const total = 10
	var msgs []buffer.Message
	for i := range total {
		msgs = append(msgs, buffer.Message{ID: fmt.Sprintf("m-%d", i), Data: []byte("x")})
	}
	if err := buf.Write(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < total {
		ds, err := buf.Read(ctx, 64, 2*time.Second)
		if err != nil || len(ds) == 0 {
			t.Fatalf("after %d: Read: %d messages, %v", len(seen), len(ds), err)
		}
		if len(ds) > 3 {
			t.Fatalf("Read returned %d messages, above MaxAckPending", len(ds))
		}
		// A second Read before the acks: at MaxAckPending the server holds
		// its requests until they expire, and they must not lose what it
		// delivers after that.
		more, err := buf.Read(ctx, 64, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 3 && len(more) != 0 {
			t.Fatalf("Read at MaxAckPending returned %d messages", len(more))
		}
		ds = append(ds, more...)
		for _, d := range ds {
			id := d.Message().ID
			if seen[id] || d.Attempt() != 1 {
				t.Fatalf("%s: seen %v, attempt %d", id, seen[id], d.Attempt())
			}
			seen[id] = true
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := buf.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("Pending = %d, %v; want 0", n, err)
	}
}
