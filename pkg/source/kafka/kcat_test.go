package kafka

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
	"github.com/freshetproj/freshet/test/brokers/kafka"
)

// testKcat: records kcat (librdkafka, an independent client) produces are
// read as the binding says: plain keyed records wrapped, binary-mode
// records by their ce_ headers (plain UTF-8, not percent-decoded), and a
// structured-mode record by its JSON.
func testKcat(t *testing.T, c *cluster) {
	kcat := kafka.Kcat(t)
	topic, group := c.topic(t, 3), unique(t, "group")
	run := func(stdin string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, append([]string{"-b", c.addr, "-t", topic, "-P"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("k1:hello\nk2:world\nk3:with a space\n", "-K:")
	run(`order-1|{"total":3}`+"\n", "-K|",
		"-H", "ce_specversion=1.0", "-H", "ce_id=kc-1", "-H", "ce_source=/kcat", "-H", "ce_type=dev.kcat.test",
		"-H", "ce_subject=héllo wörld %20", "-H", "ce_traceparent=00-abc-def-01", "-H", "content-type=application/json")
	run(`s-key|{"specversion":"1.0","id":"kc-2","source":"/kcat","type":"dev.kcat.structured","data":"hi"}`+"\n", "-K|",
		"-H", "content-type=application/cloudevents+json")

	s := c.open(t, c.spec(topic), group)
	byKey := map[string]*cloudevent.Event{}
	sourcetest.Eventually(t, 30*time.Second, "the 5 records kcat produced", func() (bool, string) {
		ms, err := s.Read(context.Background(), 100, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			byKey[m.Event().Extensions[PartitionKey]] = m.Event()
			if err := m.Ack(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		return len(byKey) == 5, strings.Join(keys(byKey), ",")
	})

	for key, data := range map[string]string{"k1": "hello", "k2": "world", "k3": "with a space"} {
		e := byKey[key]
		if e == nil {
			t.Errorf("no event for key %s", key)
			continue
		}
		if err := e.Validate(); err != nil {
			t.Errorf("key %s: %v", key, err)
		}
		if string(e.Data) != data || e.Type != "dev.freshet.kafka.record" || e.Source != "/kafka/"+topic ||
			!strings.HasPrefix(e.ID, topic+"/") || e.Time == "" || e.DataContentType != "" {
			t.Errorf("key %s: wrapped as %+v", key, e)
		}
	}
	ignoreTime := cmpopts.IgnoreFields(cloudevent.Event{}, "Time")
	want := &cloudevent.Event{SpecVersion: "1.0", ID: "kc-1", Source: "/kcat", Type: "dev.kcat.test",
		Subject: "héllo wörld %20", DataContentType: "application/json", Data: []byte(`{"total":3}`),
		Extensions: map[string]string{"traceparent": "00-abc-def-01", "partitionkey": "order-1"}}
	if diff := cmp.Diff(want, byKey["order-1"], ignoreTime); diff != "" {
		t.Errorf("binary-mode record (-want +got):\n%s", diff)
	}
	want = &cloudevent.Event{SpecVersion: "1.0", ID: "kc-2", Source: "/kcat", Type: "dev.kcat.structured",
		Data: []byte(`"hi"`), Extensions: map[string]string{"partitionkey": "s-key"}}
	if diff := cmp.Diff(want, byKey["s-key"], ignoreTime); diff != "" {
		t.Errorf("structured-mode record (-want +got):\n%s", diff)
	}
}

func keys(m map[string]*cloudevent.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
