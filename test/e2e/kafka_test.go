package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/internal/poll"
	"github.com/freshetproj/freshet/pkg/buffer/jetstream"
	kafkabroker "github.com/freshetproj/freshet/test/brokers/kafka"
)

// kafkaPipeline is a real broker with topics "in" and "out" (3 partitions
// each) and a pipeline: kafka in → noop function → kafka out.
type kafkaPipeline struct {
	addr string
	file string
}

func (k *kafkaPipeline) yaml() string { return k.file }

func newKafkaPipeline(t *testing.T, scale string) *kafkaPipeline {
	t.Helper()
	b := kafkabroker.Start(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopics(ctx, 3, 1, nil, "in", "out"); err != nil {
		t.Fatalf("create topics: %v", err)
	}
	yaml := fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: k
spec:
  vertices:
    - name: in
      source: {kafka: {brokers: [%q], topics: [in]}}
    - name: fn
      function:
        spec:
          container: {command: [%q]}
          scale: %s
    - name: out
      sink: {kafka: {brokers: [%q], topic: out}}
  edges:
    - {from: in, to: fn}
    - {from: fn, to: out}
`, b.Addr, bins.noop, scale, b.Addr)
	path := filepath.Join(t.TempDir(), "kafka.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return &kafkaPipeline{addr: b.Addr, file: path}
}

// produce writes n plain records with keys key-<i%7> and values v-<i>.
func (k *kafkaPipeline) produce(t *testing.T, from, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addr), kgo.DefaultProduceTopic("in"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := from; i < from+n; i++ {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Key: fmt.Appendf(nil, "key-%d", i%7), Value: fmt.Appendf(nil, "v-%d", i)}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("produce: %v", firstErr)
	}
}

// outReader reads the out topic from the start and keeps what arrived: the
// value of every record by its ce_id header, and its key.
type outReader struct {
	mu     sync.Mutex
	values map[string]string // ce_id → value
	keys   map[string]string // ce_id → key
	total  int
	cancel context.CancelFunc
	done   chan struct{}
}

func (k *kafkaPipeline) readOut(t *testing.T) *outReader {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addr), kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &outReader{values: map[string]string{}, keys: map[string]string{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(rec *kgo.Record) {
				id := ""
				for _, h := range rec.Headers {
					if h.Key == "ce_id" {
						id = string(h.Value)
					}
				}
				r.mu.Lock()
				r.total++
				r.values[id], r.keys[id] = string(rec.Value), string(rec.Key)
				r.mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// waitDistinct waits until n distinct events arrived and checks each one:
// its value is one produced, and its key is the key it was produced with.
func (r *outReader) WaitDistinct(t *testing.T, n int, within time.Duration) (dups int) {
	t.Helper()
	poll.True(t, within, fmt.Sprintf("%d distinct events in the out topic", n), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.values) >= n
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for id, v := range r.values {
		var i int
		if _, err := fmt.Sscanf(v, "v-%d", &i); err != nil || id == "" {
			t.Fatalf("record %q in out: value %q is not one produced", id, v)
		}
		if want := fmt.Sprintf("key-%d", i%7); r.keys[id] != want {
			t.Errorf("record %s: key %q, want %q (the partitionkey kept from in)", id, r.keys[id], want)
		}
		if seen[v] {
			t.Errorf("value %s arrived under two ids", v)
		}
		seen[v] = true
	}
	if len(r.values) != n {
		t.Fatalf("%d distinct events in out, want %d", len(r.values), n)
	}
	return r.total - len(r.values)
}

// TestKafkaTenThousandRecords: 10,000 plain records in a topic reach the
// sink topic as exactly 10,000 distinct events, keys kept.
func TestKafkaTenThousandRecords(t *testing.T) {
	exactCounts(t, newKafkaPipeline(t, `{min: 1, max: 2, containerConcurrency: 32}`))
}

// TestKafkaKillWholeProcess: kill -9 of freshet dev mid-stream and a
// restart on the same data directory: every record arrives.
func TestKafkaKillWholeProcess(t *testing.T) {
	killWholeProcess(t, newKafkaPipeline(t, `{min: 1, max: 2, containerConcurrency: 32}`))
}

// TestKafkaScaleFromZero: a function at zero fed by a topic wakes when
// records arrive, drains them and returns to zero.
func TestKafkaScaleFromZero(t *testing.T) {
	scaleFromZero(t, newKafkaPipeline(t, `{min: 0, max: 2, idleTimeout: 2s, scaleDownWindow: 1s}`), "default/k-fn")
}

// TestKafkaTwoRoutersOneKilled: two freshet dev processes share one
// JetStream (as activators share a cluster) and one consumer group; kill -9
// of one mid-stream loses nothing: the other takes over its partitions
// (from the last committed offsets) and its buffered events.
func TestKafkaTwoRoutersOneKilled(t *testing.T) {
	k := newKafkaPipeline(t, `{min: 1, max: 2, containerConcurrency: 32}`)
	out := k.readOut(t)
	nats, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	t.Cleanup(func() { nats.Close() })
	shared := []string{"--nats-url", nats.ClientURL()}
	a := startFreshetWith(t, freePort(t), t.TempDir(), shared, k.file)
	b := startFreshetWith(t, freePort(t), t.TempDir(), shared, k.file)
	k.produce(t, 0, events)
	poll.True(t, 3*time.Minute, "2,000 events in out", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return len(out.values) >= 2000
	})
	a.kill9()
	dups := out.WaitDistinct(t, events, 5*time.Minute)
	t.Logf("all %d records arrived with one of two routers killed; %d duplicates", events, dups)
	b.stop()
}
