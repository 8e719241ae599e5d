package pulsar

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// TestBroker starts a standalone broker, creates a topic, produces 100
// messages with pulsar-client-go, consumes them on a Shared subscription and
// reads the subscription's backlog from the admin REST API before and after.
func TestBroker(t *testing.T) {
	began := time.Now()
	inst, err := Install()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("install (hack/pulsar/pulsar.sh jars; a cold install fetches from Maven Central): %v; cache %s: %s",
		time.Since(began).Round(time.Millisecond), inst.Dir, dirSize(inst.Dir))

	began = time.Now()
	b := Start(t)
	t.Logf("Pulsar %s standalone ready in %v: %s, %s", b.Version, time.Since(began).Round(time.Millisecond), b.ServiceURL, b.WebURL)

	const topicName = "freshet-test"
	topic := "persistent://public/default/" + topicName
	restTopic := "/admin/v2/persistent/public/default/" + topicName
	if err := b.AdminPut(restTopic, nil); err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}

	cl := b.Client(t)
	cons, err := cl.Subscribe(pulsar.ConsumerOptions{
		Topic:                       topic,
		SubscriptionName:            "freshet-sub",
		Type:                        pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatalf("subscribing: %v", err)
	}
	defer cons.Close()
	prod, err := cl.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatalf("creating a producer: %v", err)
	}
	defer prod.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 100
	began = time.Now()
	for i := range n {
		if _, err := prod.Send(ctx, &pulsar.ProducerMessage{Payload: fmt.Appendf(nil, "message %d", i)}); err != nil {
			t.Fatalf("sending message %d: %v", i, err)
		}
	}
	t.Logf("produced %d messages in %v", n, time.Since(began).Round(time.Millisecond))

	if got := backlog(t, b, restTopic, "freshet-sub"); got != n {
		t.Errorf("backlog after producing: %d, want %d", got, n)
	}

	began = time.Now()
	seen := make(map[string]bool)
	for len(seen) < n {
		msg, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("receiving (after %d of %d): %v", len(seen), n, err)
		}
		seen[string(msg.Payload())] = true
		if err := cons.Ack(msg); err != nil {
			t.Fatalf("acking: %v", err)
		}
	}
	for i := range n {
		if !seen[fmt.Sprintf("message %d", i)] {
			t.Errorf("message %d not received", i)
		}
	}
	t.Logf("consumed %d messages in %v", n, time.Since(began).Round(time.Millisecond))

	// Acknowledgements are grouped and sent in the background: poll.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := backlog(t, b, restTopic, "freshet-sub")
		if got == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog after consuming is still %d", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("broker RSS %s", rss(b.Pid()))
}

func backlog(t *testing.T, b *Broker, restTopic, sub string) int64 {
	t.Helper()
	var stats struct {
		Subscriptions map[string]struct {
			MsgBacklog int64 `json:"msgBacklog"`
		} `json:"subscriptions"`
	}
	if err := b.AdminGet(restTopic+"/stats", &stats); err != nil {
		t.Fatal(err)
	}
	s, ok := stats.Subscriptions[sub]
	if !ok {
		t.Fatalf("topic stats list no subscription %s: %+v", sub, stats)
	}
	return s.MsgBacklog
}

func dirSize(dir string) string {
	var size int64
	var files int
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
				files++
			}
		}
		return nil
	})
	return fmt.Sprintf("%d files, %.0f MiB", files, float64(size)/(1<<20))
}

func rss(pid int) string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
