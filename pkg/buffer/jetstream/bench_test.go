package jetstream

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
)

const benchBatch = 100

func benchBuffer(b *testing.B) buffer.Buffer {
	b.Helper()
	s, err := Open(context.Background(), Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	buf, err := s.Open(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return buf
}

// filledBuffer is a benchBuffer holding b.N messages of 1 KiB.
func filledBuffer(b *testing.B) buffer.Buffer {
	b.Helper()
	buf := benchBuffer(b)
	for _, batch := range batches(b.N) {
		if err := buf.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	return buf
}

// batches returns b.N 1 KiB messages with unique IDs in batches.
func batches(n int) [][]buffer.Message {
	var out [][]buffer.Message
	data := make([]byte, 1024)
	for i := 0; i < n; i += benchBatch {
		batch := make([]buffer.Message, 0, benchBatch)
		for j := i; j < min(n, i+benchBatch); j++ {
			batch = append(batch, buffer.Message{ID: fmt.Sprintf("m-%d", j), Data: data})
		}
		out = append(out, batch)
	}
	return out
}

func BenchmarkWrite1KiB(b *testing.B) {
	buf := benchBuffer(b)
	ctx := context.Background()
	all := batches(b.N)
	b.SetBytes(1024)
	b.ResetTimer()
	start := time.Now()
	for _, batch := range all {
		if err := buf.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkWriteReadAck1KiB writes b.N messages in batches from one
// goroutine while another reads them and acks each, as the router does.
func BenchmarkWriteReadAck1KiB(b *testing.B) {
	for _, ackers := range []int{1, 8} {
		b.Run(fmt.Sprintf("ackers=%d", ackers), func(b *testing.B) {
			benchWriteReadAck(b, ackers)
		})
	}
}

func benchWriteReadAck(b *testing.B, ackers int) {
	buf := benchBuffer(b)
	ctx := context.Background()
	all := batches(b.N)
	b.SetBytes(1024)
	b.ResetTimer()
	start := time.Now()
	go func() {
		for _, batch := range all {
			if err := buf.Write(ctx, batch); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for acked := 0; acked < b.N; {
		ds, err := buf.Read(ctx, 500, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) == 0 {
			b.Fatalf("stalled after %d of %d", acked, b.N)
		}
		ackConcurrently(ctx, b, ds, ackers)
		acked += len(ds)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// ackConcurrently acks ds from n goroutines.
func ackConcurrently(ctx context.Context, b *testing.B, ds []buffer.Delivery, n int) {
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := w; i < len(ds); i += n {
				if err := ds[i].Ack(ctx); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkReadAck1KiB reads and acks b.N messages written beforehand.
func BenchmarkReadAck1KiB(b *testing.B) {
	for _, ackers := range []int{1, 8} {
		b.Run(fmt.Sprintf("ackers=%d", ackers), func(b *testing.B) {
			buf := filledBuffer(b)
			ctx := context.Background()
			b.SetBytes(1024)
			b.ResetTimer()
			start := time.Now()
			for acked := 0; acked < b.N; {
				ds, err := buf.Read(ctx, 500, time.Second)
				if err != nil || len(ds) == 0 {
					b.Fatalf("Read after %d of %d: %d, %v", acked, b.N, len(ds), err)
				}
				ackConcurrently(ctx, b, ds, ackers)
				acked += len(ds)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkSmallReadsAck1KiB reads b.N messages written beforehand from
// several goroutines, each asking for 1 to 8 messages at a time and acking
// them, as dispatchers with a few free delivery slots do.
func BenchmarkSmallReadsAck1KiB(b *testing.B) {
	const readers = 4
	buf := filledBuffer(b)
	ctx := context.Background()
	b.SetBytes(1024)
	b.ResetTimer()
	start := time.Now()
	var (
		mu      sync.Mutex
		acked   int
		reads   int
		slowest time.Duration // of a Read that returned messages
		empty   int           // Reads that returned none with some left
	)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for i := r; ; i++ {
				mu.Lock()
				done := acked >= b.N
				mu.Unlock()
				if done {
					return
				}
				t0 := time.Now()
				ds, err := buf.Read(ctx, 1+i%8, 500*time.Millisecond)
				took := time.Since(t0)
				if err != nil {
					b.Error(err)
					return
				}
				for _, d := range ds {
					if err := d.Ack(ctx); err != nil {
						b.Error(err)
						return
					}
				}
				mu.Lock()
				acked += len(ds)
				reads++
				if len(ds) > 0 { // the last Reads find nothing left
					slowest = max(slowest, took)
				} else if acked < b.N {
					empty++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/float64(reads), "msgs/read")
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-read-ms")
	b.ReportMetric(float64(empty), "empty-reads")
}
