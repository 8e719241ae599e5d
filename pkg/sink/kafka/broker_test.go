package kafka

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
	"github.com/freshetproj/freshet/test/brokers/kafka"
)

// TestBroker runs the sink against a real Kafka broker (Kafka 4.1 from
// test/brokers/kafka): the suite in both modes, kcat reading what it
// wrote, and the broker refusing a record too large.
func TestBroker(t *testing.T) {
	c := brokerCluster(t)
	for _, mode := range []string{"binary", "structured"} {
		t.Run("Conformance/"+mode, func(t *testing.T) {
			sinktest.Run(t, func(t testing.TB) *sinktest.System { return c.system(t, mode) })
		})
	}
	t.Run("Kcat", func(t *testing.T) { testKcat(t, c) })
	t.Run("Failures", func(t *testing.T) { testFailures(t, c) })
	t.Run("TooLargeForTheTopic", func(t *testing.T) {
		maxBytes := "1024"
		s := c.open(t, c.topic(t, map[string]*string{"max.message.bytes": &maxBytes}), "binary")
		data := make([]byte, 8<<10)
		_, _ = rand.Read(data) // incompressible: franz-go compresses batches
		e := &cloudevent.Event{SpecVersion: "1.0", ID: "big", Source: "/s", Type: "t", Data: data}
		sinktest.WantFailure(t, s.Write(context.Background(), []*cloudevent.Event{e}), false, "MESSAGE_TOO_LARGE")
	})
}

// kcatRecord is a record as `kcat -J` prints it.
type kcatRecord struct {
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	Headers   []string `json:"headers"` // name, value, name, value...
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
}

// testKcat: kcat (librdkafka, an independent client) reads what the sink
// wrote in binary mode: every attribute in a ce_ header as plain UTF-8,
// datacontenttype in content-type, the partitionkey as the key and the
// data as the value.
func testKcat(t *testing.T, c *cluster) {
	kcat := kafka.Kcat(t)
	topic := c.topic(t, nil)
	e := &cloudevent.Event{SpecVersion: "1.0", ID: "kc-1", Source: "/orders", Type: "order.placed",
		Subject: "héllo wörld %20", Time: "2026-01-02T03:04:05Z", DataContentType: "application/json",
		Data: []byte(`{"total":3}`), Extensions: map[string]string{"partitionkey": "customer-7", "traceparent": "00-a-b-01"}}
	noKey := &cloudevent.Event{SpecVersion: "1.0", ID: "kc-2", Source: "/orders", Type: "order.placed", Data: []byte("plain")}
	if err := c.open(t, topic, "binary").Write(context.Background(), []*cloudevent.Event{e, noKey}); err != nil {
		t.Fatalf("write: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-b", c.addr, "-t", topic, "-C", "-o", "beginning", "-e", "-q", "-J").Output()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	byID := map[string]kcatRecord{}
	headers := map[string]map[string]string{}
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		var r kcatRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("kcat printed %q: %v", sc.Text(), err)
		}
		h := map[string]string{}
		for i := 0; i+1 < len(r.Headers); i += 2 {
			h[r.Headers[i]] = r.Headers[i+1]
		}
		byID[h["ce_id"]] = r
		headers[h["ce_id"]] = h
	}
	wantHeaders := map[string]string{"ce_specversion": "1.0", "ce_id": "kc-1", "ce_source": "/orders",
		"ce_type": "order.placed", "ce_subject": "héllo wörld %20", "ce_time": "2026-01-02T03:04:05Z",
		"ce_partitionkey": "customer-7", "ce_traceparent": "00-a-b-01", "content-type": "application/json"}
	if diff := cmp.Diff(wantHeaders, headers["kc-1"]); diff != "" {
		t.Errorf("headers kcat read (-want +got):\n%s\nkcat printed:\n%s", diff, out)
	}
	if r := byID["kc-1"]; r.Key == nil || *r.Key != "customer-7" || r.Payload == nil || *r.Payload != `{"total":3}` {
		t.Errorf("kcat read key %v, value %v; want customer-7 and the data\n%s", r.Key, r.Payload, out)
	}
	if r, ok := byID["kc-2"]; !ok || r.Key != nil || r.Payload == nil || *r.Payload != "plain" {
		t.Errorf("kcat read the event without a partition key as %+v, want no key\n%s", r, out)
	}
}
