package pulsar

import (
	"context"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
	brokers "github.com/freshetproj/freshet/test/brokers/pulsar"
)

// cluster is a real broker and a client to produce with.
type cluster struct {
	b  *brokers.Broker
	cl pulsar.Client
}

// unique returns a topic or subscription name unique in the process.
var unique = brokers.UniqueName

// topic creates a fresh topic, partitioned when partitions > 0, and
// returns its full name.
func (c *cluster) topic(t testing.TB, partitions int) string {
	t.Helper()
	name := unique(t, "topic")
	path := "/admin/v2/persistent/public/default/" + name
	var body any
	if partitions > 0 {
		path += "/partitions"
		body = partitions
	}
	if err := c.b.AdminPut(path, body); err != nil {
		t.Fatalf("creating topic %s: %v", name, err)
	}
	return "persistent://public/default/" + name
}

func (c *cluster) spec(typ string, topics ...string) *v1alpha1.PulsarSource {
	src := &v1alpha1.Source{Pulsar: &v1alpha1.PulsarSource{ServiceURL: c.b.ServiceURL, AdminURL: c.b.WebURL, Topics: topics, SubscriptionType: typ}}
	src.SetDefaults()
	return src.Pulsar
}

// open opens a Source, closed when t ends.
func open(t testing.TB, spec *v1alpha1.PulsarSource, sub string) *Source {
	t.Helper()
	s, err := Open(context.Background(), spec, sub)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// produce sends messages to topic and waits for the broker to take them,
// batched as a producer with batching on does (one entry of several
// messages) unless batching is false.
func (c *cluster) produce(t testing.TB, topic string, batching bool, msgs ...*pulsar.ProducerMessage) {
	t.Helper()
	p, err := c.cl.CreateProducer(pulsar.ProducerOptions{Topic: topic, DisableBatching: !batching})
	if err != nil {
		t.Fatalf("creating a producer on %s: %v", topic, err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make(chan error, len(msgs))
	for _, m := range msgs {
		p.SendAsync(ctx, m, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { errs <- err })
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		t.Fatalf("flushing: %v", err)
	}
	for range msgs {
		if err := <-errs; err != nil {
			t.Fatalf("producing: %v", err)
		}
	}
}

// binaryMessage encodes e with ce_ properties, as a producer of CloudEvents
// does: written here independently of the sink's encoder.
func binaryMessage(e *cloudevent.Event) *pulsar.ProducerMessage {
	m := &pulsar.ProducerMessage{Payload: e.Data, Properties: map[string]string{}}
	e.Each(func(name, value string) { m.Properties["ce_"+name] = value })
	if e.DataContentType != "" {
		m.Properties["content-type"] = e.DataContentType
	}
	if k, ok := e.Extensions[PartitionKey]; ok {
		m.Key = k
	}
	return m
}

// produceEvents sends events to topic in binary mode, batched unless
// batching is false.
func (c *cluster) produceEvents(t testing.TB, topic string, batching bool, events []*cloudevent.Event) {
	t.Helper()
	msgs := make([]*pulsar.ProducerMessage, len(events))
	for i, e := range events {
		msgs[i] = binaryMessage(e)
	}
	c.produce(t, topic, batching, msgs...)
}

// system is a sourcetest.System over a fresh topic and subscription.
func (c *cluster) system(t testing.TB, typ string, partitions int, batching bool) *sourcetest.System {
	topic, sub := c.topic(t, partitions), unique(t, "sub")
	return &sourcetest.System{
		Open:       func(t testing.TB) source.Source { return open(t, c.spec(typ, topic), sub) },
		Send:       func(t testing.TB, events []*cloudevent.Event) { c.produceEvents(t, topic, batching, events) },
		Redelivery: 20 * time.Second,
	}
}
