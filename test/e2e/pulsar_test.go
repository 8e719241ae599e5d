package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	pulsarbroker "github.com/freshetproj/freshet/test/brokers/pulsar"
)

// pulsarPipeline is a real broker with topics "in" (3 partitions) and
// "out", and a pipeline: pulsar in → noop function → pulsar out.
type pulsarPipeline struct {
	b    *pulsarbroker.Broker
	cl   pulsar.Client
	file string
}

func (p *pulsarPipeline) yaml() string { return p.file }

func newPulsarPipeline(t *testing.T, scale string) *pulsarPipeline {
	t.Helper()
	b := pulsarbroker.Start(t)
	if err := b.AdminPut("/admin/v2/persistent/public/default/in/partitions", 3); err != nil {
		t.Fatalf("create topic in: %v", err)
	}
	yaml := fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: p
spec:
  vertices:
    - name: in
      source: {pulsar: {serviceURL: %q, adminURL: %q, topics: [in]}}
    - name: fn
      function:
        spec:
          container: {command: [%q]}
          scale: %s
    - name: out
      sink: {pulsar: {serviceURL: %q, topic: out}}
  edges:
    - {from: in, to: fn}
    - {from: fn, to: out}
`, b.ServiceURL, b.WebURL, bins.noop, scale, b.ServiceURL)
	path := filepath.Join(t.TempDir(), "pulsar.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return &pulsarPipeline{b: b, cl: b.Client(t), file: path}
}

// produce sends n plain messages (batched, as producers do) with keys
// key-<i%7> and payloads v-<i>.
func (p *pulsarPipeline) produce(t *testing.T, from, n int) {
	t.Helper()
	prod, err := p.cl.CreateProducer(pulsar.ProducerOptions{Topic: "in"})
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make(chan error, n)
	for i := from; i < from+n; i++ {
		msg := &pulsar.ProducerMessage{Key: fmt.Sprintf("key-%d", i%7), Payload: fmt.Appendf(nil, "v-%d", i)}
		prod.SendAsync(ctx, msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { errs <- err })
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
}

// readOut reads the out topic from the start on its own subscription and
// keeps what arrived: the payload of every message by its ce_id property,
// and its key.
func (p *pulsarPipeline) readOut(t *testing.T) *outReader {
	t.Helper()
	cons, err := p.cl.Subscribe(pulsar.ConsumerOptions{
		Topic: "out", SubscriptionName: "e2e-check", Type: pulsar.Exclusive,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatalf("subscribe to out: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &outReader{values: map[string]string{}, keys: map[string]string{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer cons.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case cm := <-cons.Chan():
				id := cm.Properties()["ce_id"]
				r.mu.Lock()
				r.total++
				r.values[id], r.keys[id] = string(cm.Payload()), cm.Key()
				r.mu.Unlock()
				_ = cons.Ack(cm.Message)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// TestPulsarTenThousandMessages: 10,000 plain messages in a topic reach
// the sink topic as exactly 10,000 distinct events, keys kept.
func TestPulsarTenThousandMessages(t *testing.T) {
	exactCounts(t, newPulsarPipeline(t, `{min: 1, max: 2, containerConcurrency: 32}`))
}

// TestPulsarKillWholeProcess: kill -9 of freshet dev mid-stream and a
// restart on the same data directory: every message arrives.
func TestPulsarKillWholeProcess(t *testing.T) {
	killWholeProcess(t, newPulsarPipeline(t, `{min: 1, max: 2, containerConcurrency: 32}`))
}

// TestPulsarScaleFromZero: a function at zero fed by a topic wakes on the
// backlog, drains it and returns to zero.
func TestPulsarScaleFromZero(t *testing.T) {
	scaleFromZero(t, newPulsarPipeline(t, `{min: 0, max: 2, idleTimeout: 2s, scaleDownWindow: 1s}`), "default/p-fn")
}
