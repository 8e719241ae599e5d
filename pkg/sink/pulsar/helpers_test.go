package pulsar

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/sink"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
	pulsarsource "github.com/freshetproj/freshet/pkg/source/pulsar"
	pulsarbroker "github.com/freshetproj/freshet/test/brokers/pulsar"
)

// maxMessageSize is the test broker's: smaller than Pulsar's default (5
// MiB) so that too large messages cost little.
const maxMessageSize = 1 << 20

// cluster is a real standalone broker, shared by the tests of a run.
type cluster struct {
	url string
	b   *pulsarbroker.Broker
	cl  pulsar.Client // reads back what sinks wrote
}

func brokerCluster(t testing.TB) *cluster {
	t.Helper()
	b := pulsarbroker.StartWith(t, pulsarbroker.Options{Properties: map[string]string{
		"maxMessageSize": fmt.Sprint(maxMessageSize),
	}})
	return &cluster{url: b.ServiceURL, b: b, cl: b.Client(t)}
}

// topic names a fresh topic (the broker creates it on first use).
func (c *cluster) topic(t testing.TB) string {
	t.Helper()
	return "persistent://public/default/" + pulsarbroker.UniqueName(t, "topic")
}

func (c *cluster) open(t testing.TB, topic, mode string) *Sink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, &v1alpha1.PulsarSink{ServiceURL: c.url, Topic: topic, Mode: mode})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// reader reads a topic from its start, as a plain consumer would, and
// decodes each message with the source's decoder.
type reader struct {
	mu     sync.Mutex
	r      pulsar.Reader
	events []*cloudevent.Event
	raw    []pulsar.Message
}

func (c *cluster) reader(t testing.TB, topic string) *reader {
	t.Helper()
	r, err := c.cl.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatalf("reader on %s: %v", topic, err)
	}
	t.Cleanup(r.Close)
	return &reader{r: r}
}

// held returns every event read so far, after reading until no message
// comes for 200 ms.
func (r *reader) held(t testing.TB) []*cloudevent.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		m, err := r.r.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		} else if err != nil {
			t.Fatalf("reading %s: %v", r.r.Topic(), err)
		}
		e := pulsarsource.Decode(m, "not.a.cloudevent", "")
		if problem, bad := e.Extensions["fresheterror"]; bad {
			t.Errorf("message %s is not a valid CloudEvent: %s", pulsarsource.MessageKey(m), problem)
		}
		r.events = append(r.events, e)
		r.raw = append(r.raw, m)
	}
	return append([]*cloudevent.Event(nil), r.events...)
}

// wait reads until the topic holds n messages, and returns them.
func (r *reader) wait(t testing.TB, n int) ([]*cloudevent.Event, []pulsar.Message) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if len(r.held(t)) >= n {
			break
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) != n {
		t.Fatalf("the topic holds %d messages, want %d", len(r.events), n)
	}
	return append([]*cloudevent.Event(nil), r.events...), append([]pulsar.Message(nil), r.raw...)
}

// system is a sinktest.System writing to a fresh topic in mode.
func (c *cluster) system(t testing.TB, mode string) *sinktest.System {
	topic := c.topic(t)
	r := c.reader(t, topic)
	return &sinktest.System{
		Open:   func(t testing.TB) sink.Sink { return c.open(t, topic, mode) },
		Held:   r.held,
		Within: 30 * time.Second,
	}
}
