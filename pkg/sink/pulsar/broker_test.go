package pulsar

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
)

// TestBroker runs the sink against a real standalone Pulsar (from
// test/brokers/pulsar), one broker for all of it: the suite in both
// modes, the source's decoder reading back what it wrote, the client
// refusing messages too large, and Open failing.
func TestBroker(t *testing.T) {
	c := brokerCluster(t)
	for _, mode := range []string{"binary", "structured"} {
		t.Run("Conformance/"+mode, func(t *testing.T) {
			sinktest.Run(t, func(t testing.TB) *sinktest.System { return c.system(t, mode) })
		})
	}
	for _, mode := range []string{"binary", "structured"} {
		t.Run("ReadBack/"+mode, func(t *testing.T) { testReadBack(t, c, mode) })
	}
	t.Run("Failures", func(t *testing.T) { testFailures(t, c) })
	t.Run("TooLargeAmongOthers", func(t *testing.T) { testTooLargeAmongOthers(t, c) })
	t.Run("OpenFails", func(t *testing.T) { testOpenFails(t, c) })
}

// testReadBack: what the sink wrote to a topic of 3 partitions, a reader
// decodes with pulsarsource.Decode into the same events — attributes,
// extensions, data — with the partitionkey as the message key and the
// time as its event time; the messages of a key are in one partition,
// and a batch the broker stored holds messages of one key only.
func testReadBack(t *testing.T, c *cluster, mode string) {
	topic := c.topic(t)
	if err := c.b.AdminPut("/admin/v2/persistent/"+strings.TrimPrefix(topic, "persistent://")+"/partitions", 3); err != nil {
		t.Fatal(err)
	}
	r := c.reader(t, topic)
	var sent []*cloudevent.Event
	for i := range 30 {
		e := &cloudevent.Event{SpecVersion: "1.0", ID: fmt.Sprintf("rb-%d", i), Source: "/orders", Type: "order.placed",
			Subject: "héllo wörld %20", Time: "2026-01-02T03:04:05.123Z", DataSchema: "https://x/schema",
			DataContentType: "application/json", Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		e.SetExtension("traceparent", "00-a-b-01")
		if i%5 != 4 {
			e.SetExtension("partitionkey", fmt.Sprintf("customer-%d", i%3))
		}
		sent = append(sent, e)
	}
	sent = append(sent, &cloudevent.Event{SpecVersion: "1.0", ID: "rb-bare", Source: "/orders", Type: "order.placed"})
	if err := c.open(t, topic, mode).Write(context.Background(), sent); err != nil {
		t.Fatalf("write: %v", err)
	}

	got, raw := r.wait(t, len(sent))
	if diff := cmp.Diff(sent, got, cmpopts.EquateEmpty(),
		cmpopts.SortSlices(func(a, b *cloudevent.Event) bool { return a.ID < b.ID })); diff != "" {
		t.Errorf("events read back (-sent +read):\n%s", diff)
	}
	keys := map[string]map[string]bool{}       // entry -> keys in it
	partitions := map[string]map[string]bool{} // key -> partitions
	batched := false
	for i, m := range raw {
		e := got[i]
		if want := e.Extensions["partitionkey"]; m.Key() != want {
			t.Errorf("event %s: key %q, want %q", e.ID, m.Key(), want)
		}
		want := time.Unix(0, 0) // what the client reads for no event time
		if e.Time != "" {
			want, _ = time.Parse(time.RFC3339, e.Time)
		}
		if !m.EventTime().Equal(want) {
			t.Errorf("event %s: event time %v, want %v", e.ID, m.EventTime(), want)
		}
		if mode == "binary" && m.Properties()["ce_id"] != e.ID {
			t.Errorf("event %s: properties %v", e.ID, m.Properties())
		}
		if m.Key() != "" {
			if partitions[m.Key()] == nil {
				partitions[m.Key()] = map[string]bool{}
			}
			partitions[m.Key()][m.Topic()] = true
		}
		id := m.ID()
		entry := fmt.Sprintf("%s/%d:%d", m.Topic(), id.LedgerID(), id.EntryID())
		if keys[entry] == nil {
			keys[entry] = map[string]bool{}
		}
		keys[entry][m.Key()] = true
		batched = batched || id.BatchSize() > 1
	}
	for entry, ks := range keys {
		if len(ks) > 1 {
			t.Errorf("entry %s is a batch of several keys: %v", entry, ks)
		}
	}
	for key, ps := range partitions {
		if len(ps) > 1 {
			t.Errorf("messages of key %s are in several partitions: %v", key, ps)
		}
	}
	if len(partitions) != 3 {
		t.Errorf("read keys %v, want 3", partitions)
	}
	if !batched {
		t.Errorf("no two of %d messages written at once were sent in one batch", len(raw))
	}
}

// testFailures: a message larger than the broker takes, or that its
// metadata makes larger, is a permanent failure (rule 3); a write whose
// context ended may pass on another attempt, and does; a closed sink
// refuses to write.
func testFailures(t *testing.T, c *cluster) {
	topic := c.topic(t)
	r := c.reader(t, topic)
	s := c.open(t, topic, "binary")
	huge := &cloudevent.Event{SpecVersion: "1.0", ID: "huge", Source: "/s", Type: "t", Data: make([]byte, maxMessageSize+1)}
	sinktest.WantFailure(t, s.Write(context.Background(), []*cloudevent.Event{huge}), false, "MessageTooBig")
	// Under the limit by its payload, over it with its properties: the
	// client finds out as it makes the batch.
	tipped := &cloudevent.Event{SpecVersion: "1.0", ID: "tipped", Source: "/s", Type: "t", Subject: strings.Repeat("s", 200),
		Data: make([]byte, maxMessageSize-100)}
	sinktest.WantFailure(t, s.Write(context.Background(), []*cloudevent.Event{tipped}), false, "exceeds MaxMessageSize")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	small := &cloudevent.Event{SpecVersion: "1.0", ID: "small", Source: "/s", Type: "t", Data: []byte("x")}
	sinktest.WantFailure(t, s.Write(ctx, []*cloudevent.Event{small}), true, "context canceled")
	if err := s.Write(context.Background(), []*cloudevent.Event{small}); err != nil {
		t.Errorf("a write after failures: %v", err)
	}
	if got, _ := r.wait(t, 1); got[0].ID != "small" {
		t.Errorf("the topic holds %s, want only the small event", got[0].ID)
	}

	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	sinktest.WantFailure(t, s.Write(context.Background(), []*cloudevent.Event{small}), true, "closed")
	if err := s.Close(); err != nil {
		t.Errorf("a second close: %v", err)
	}
}

// testTooLargeAmongOthers: messages too large, sent while other writes
// share the producer's batches, fail alone: every other write succeeds.
func testTooLargeAmongOthers(t *testing.T, c *cluster) {
	topic := c.topic(t)
	r := c.reader(t, topic)
	s := c.open(t, topic, "binary")
	big := make([]byte, maxMessageSize-100)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for w := range errs {
		wg.Go(func() {
			var batch []*cloudevent.Event
			for i := range 10 {
				e := &cloudevent.Event{SpecVersion: "1.0", ID: fmt.Sprintf("w%d-%d", w, i), Source: "/s", Type: "t",
					Data: []byte("small"), Extensions: map[string]string{"partitionkey": fmt.Sprint("k", i%4)}}
				if w%4 == 0 && i == 5 {
					e.Data, e.Subject = big, strings.Repeat("s", 200) // over the limit in the batch
				}
				batch = append(batch, e)
			}
			errs[w] = s.Write(context.Background(), batch)
		})
	}
	wg.Wait()
	for w, err := range errs {
		if w%4 == 0 {
			sinktest.WantFailure(t, err, false, "exceeds MaxMessageSize")
		} else if err != nil {
			t.Errorf("writer %d: %v", w, err)
		}
	}
	// Writers with the big event still wrote their other events.
	if got, _ := r.wait(t, 16*10-4); len(got) != 156 {
		t.Errorf("the topic holds %d events", len(got))
	}
}

// testOpenFails: Open fails on a spec it cannot use, on a topic the
// broker refuses, and within its context when no broker answers.
func testOpenFails(t *testing.T, c *cluster) {
	ctx := context.Background()
	for _, spec := range []*v1alpha1.PulsarSink{
		{ServiceURL: c.url},
		{ServiceURL: "http://127.0.0.1:8080", Topic: "t"},
		{ServiceURL: c.url, Topic: "persistent://no-such-tenant/default/t"},
	} {
		s, err := Open(ctx, spec)
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%+v) succeeded", spec)
		}
		t.Logf("Open(%+v): %v", spec, err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	s, err := Open(ctx, &v1alpha1.PulsarSink{ServiceURL: "pulsar://" + l.Addr().String(), Topic: "t"})
	if err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded against a silent broker")
	}
	if took := time.Since(start); took > 5*time.Second || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("Open against a silent broker failed after %v with %v, want its context's deadline", took, err)
	}
}
