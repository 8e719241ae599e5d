package pulsar

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/source"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
	brokers "github.com/freshetproj/freshet/test/brokers/pulsar"
)

// TestBroker runs the tests that need a real Pulsar broker (Pulsar 4.0
// standalone from test/brokers/pulsar) against one broker started for
// them.
func TestBroker(t *testing.T) {
	b := brokers.Start(t)
	c := &cluster{b: b, cl: b.Client(t)}
	t.Run("Conformance", func(t *testing.T) {
		for _, tc := range []struct {
			typ        string
			partitions int
			batching   bool
		}{
			// Unbatched: a batch partly acked when the source closes
			// comes back whole, which the suite's rule 3 check forbids.
			{v1alpha1.PulsarShared, 0, false},
			{v1alpha1.PulsarKeyShared, 0, false},
			{v1alpha1.PulsarFailover, 3, false},
		} {
			t.Run(tc.typ, func(t *testing.T) {
				sourcetest.Run(t, func(t testing.TB) *sourcetest.System { return c.system(t, tc.typ, tc.partitions, tc.batching) })
			})
		}
	})
	t.Run("Plain", func(t *testing.T) { testPlain(t, c) })
	t.Run("Batched", func(t *testing.T) { testBatched(t, c) })
	t.Run("NackDelay", func(t *testing.T) { testNackDelay(t, c) })
	t.Run("SharedSpreads", func(t *testing.T) { testSharedSpreads(t, c) })
	t.Run("PartitionedBacklog", func(t *testing.T) { testPartitionedBacklog(t, c) })
}

// testPlain: messages that are not CloudEvents are wrapped with stable ids,
// the key kept as partitionkey, and a malformed one names its problem.
func testPlain(t *testing.T, c *cluster) {
	topic := c.topic(t, 0)
	c.produce(t, topic, false,
		&pulsar.ProducerMessage{Payload: []byte("hello"), Key: "k1"},
		&pulsar.ProducerMessage{Payload: []byte(`{"a":1}`), Properties: map[string]string{"content-type": "application/json"}},
		&pulsar.ProducerMessage{Payload: []byte("x"), Properties: map[string]string{"ce_id": "1"}}, // no source or type
	)
	spec := c.spec(v1alpha1.PulsarShared, topic)
	spec.EventSource = "/orders"
	s := open(t, spec, unique(t, "sub"))
	var got []source.Message
	sourcetest.Eventually(t, 30*time.Second, "3 messages", func() (bool, string) {
		ms, err := s.Read(context.Background(), 10, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ms...)
		return len(got) >= 3, fmt.Sprint(len(got))
	})
	ids := map[string]bool{}
	for i, m := range got {
		e := m.Event()
		if e.Type != v1alpha1.DefaultPulsarEventType || e.Source != "/orders" || e.Time < "2026" {
			t.Errorf("message %d: type %q source %q time %q, want the defaults and the publish time", i, e.Type, e.Source, e.Time)
		}
		if !strings.HasPrefix(e.ID, topic+"/") || ids[e.ID] {
			t.Errorf("message %d: id %q, want a unique one starting with %s/", i, e.ID, topic)
		}
		ids[e.ID] = true
	}
	if k := got[0].Event().Extensions[PartitionKey]; k != "k1" {
		t.Errorf("partitionkey %q, want k1", k)
	}
	if ct := got[1].Event().DataContentType; ct != "application/json" {
		t.Errorf("datacontenttype %q, want application/json", ct)
	}
	if p := got[2].Event().Extensions[source.ErrorExtension]; !strings.Contains(p, "missing") {
		t.Errorf("fresheterror %q does not name the missing attribute", p)
	}
	// The ids are the same when the messages come again.
	_ = s.Close()
	again := open(t, spec, unique(t, "sub"))
	sourcetest.ReadUntil(t, again, []string{got[0].Event().ID, got[1].Event().ID, got[2].Event().ID}, 30*time.Second, true)
}

// testBatched: messages a producer batched into one entry are each read,
// acked one by one, and none is lost or delivered again after a clean
// close once all are acked.
func testBatched(t *testing.T, c *cluster) {
	sys := c.system(t, v1alpha1.PulsarShared, 0, true)
	sent := sourcetest.Events("batched", 50)
	sys.Send(t, sent)
	s := sys.Open(t)
	sourcetest.ReadUntil(t, s, sourcetest.IDs(sent), 30*time.Second, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := sys.Open(t)
	if ms, err := again.Read(context.Background(), 100, 2*time.Second); err != nil || len(ms) > 0 {
		t.Fatalf("after acking every message and closing: read %d, %v", len(ms), err)
	}
}

// testNackDelay: a nacked message comes back no sooner than its delay,
// longer and shorter than the client's own.
func testNackDelay(t *testing.T, c *cluster) {
	sys := c.system(t, v1alpha1.PulsarShared, 0, false)
	s := sys.Open(t)
	for _, delay := range []time.Duration{100 * time.Millisecond, 2 * time.Second} {
		sent := sourcetest.Events(fmt.Sprintf("nack-%v", delay), 1)
		sys.Send(t, sent)
		got := sourcetest.ReadUntil(t, s, sourcetest.IDs(sent), 30*time.Second, false)
		nacked := time.Now()
		if err := got[0].Nack(context.Background(), delay); err != nil {
			t.Fatal(err)
		}
		sourcetest.ReadUntil(t, s, sourcetest.IDs(sent), 30*time.Second, true)
		if took := time.Since(nacked); took < delay {
			t.Errorf("nacked with delay %v, delivered again after %v", delay, took)
		}
	}
}

// testSharedSpreads: two sources on one Shared subscription (two routers)
// share the messages; together they read every one, and what one read
// and did not ack reaches the other once it closes.
func testSharedSpreads(t *testing.T, c *cluster) {
	sys := c.system(t, v1alpha1.PulsarShared, 0, false)
	a, b := sys.Open(t), sys.Open(t)
	sent := sourcetest.Events("shared", 200)
	// Both subscribe before anything is sent.
	for _, s := range []source.Source{a, b} {
		if _, err := s.Read(context.Background(), 1, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	sys.Send(t, sent)
	want := map[string]bool{}
	for _, id := range sourcetest.IDs(sent) {
		want[id] = true
	}
	var fromA []source.Message
	sourcetest.Eventually(t, 30*time.Second, "a to read some messages", func() (bool, string) {
		ms, err := a.Read(context.Background(), 50, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		fromA = append(fromA, ms...)
		return len(fromA) > 0, fmt.Sprint(len(fromA))
	})
	if err := a.Close(); err != nil { // a acked nothing: all go to b
		t.Fatal(err)
	}
	sourcetest.ReadUntil(t, b, sourcetest.IDs(sent), 30*time.Second, true)
}

// testPartitionedBacklog: the backlog sums a partitioned topic's
// partitions and falls to 0 once all is acked. (The messages are sent
// unbatched: Pulsar counts a batch as one.)
func testPartitionedBacklog(t *testing.T, c *cluster) {
	topic := c.topic(t, 4)
	s := open(t, c.spec(v1alpha1.PulsarFailover, topic), unique(t, "sub"))
	if n, err := s.Backlog(context.Background()); err != nil || n != 0 {
		t.Fatalf("backlog of an empty topic: %d, %v", n, err)
	}
	sent := sourcetest.Events("partitioned", 40)
	msgs := make([]*pulsar.ProducerMessage, len(sent))
	for i, e := range sent {
		msgs[i] = binaryMessage(e)
		msgs[i].Key = fmt.Sprint(i) // spread over the partitions
	}
	c.produce(t, topic, false, msgs...)
	sourcetest.Eventually(t, 30*time.Second, "a backlog of 40", func() (bool, string) {
		n, err := s.Backlog(context.Background())
		return err == nil && n == 40, fmt.Sprint(n, err)
	})
	sourcetest.ReadUntil(t, s, sourcetest.IDs(sent), 30*time.Second, true)
	sourcetest.Eventually(t, 30*time.Second, "the backlog at 0", func() (bool, string) {
		n, err := s.Backlog(context.Background())
		return err == nil && n == 0, fmt.Sprint(n, err)
	})
}
