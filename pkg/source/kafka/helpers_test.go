package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
	"github.com/freshetproj/freshet/test/brokers/kafka"
)

// cluster is a Kafka cluster to test against: kfake or a real broker.
type cluster struct {
	addr string
	adm  *kadm.Client
	cl   *kgo.Client // producer
}

// fakeCluster starts a one-broker kfake cluster on loopback for t.
func fakeCluster(t testing.TB) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return newCluster(t, c.ListenAddrs()[0])
}

// brokerCluster starts a real Kafka broker for t.
func brokerCluster(t testing.TB) *cluster {
	t.Helper()
	b := kafka.StartWith(t, kafka.Options{Properties: map[string]string{"group.min.session.timeout.ms": "1000"}})
	return newCluster(t, b.Addr)
}

func newCluster(t testing.TB, addr string) *cluster {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &cluster{addr: addr, adm: kadm.NewClient(cl), cl: cl}
}

// unique returns a topic or group name unique in the process.
var unique = kafka.UniqueName

// topic creates a fresh topic of n partitions.
func (c *cluster) topic(t testing.TB, partitions int32) string {
	t.Helper()
	name := unique(t, "topic")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.adm.CreateTopic(ctx, partitions, 1, nil, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return name
}

// produce writes records and waits for the broker to take them all.
func (c *cluster) produce(t testing.TB, records ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// testOpts make group membership quick to settle on a loaded machine,
// and a crashed member quick to be noticed.
func testOpts(extra ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SessionTimeout(3 * time.Second),
		kgo.HeartbeatInterval(300 * time.Millisecond),
		kgo.RebalanceTimeout(10 * time.Second),
	}, extra...)
}

func (c *cluster) spec(topics ...string) *v1alpha1.KafkaSource {
	return &v1alpha1.KafkaSource{
		Brokers:       []string{c.addr},
		Topics:        topics,
		InitialOffset: v1alpha1.KafkaEarliest,
		EventType:     v1alpha1.DefaultKafkaEventType,
	}
}

// open opens a Source on topic as group, closed when t ends.
func (c *cluster) open(t testing.TB, spec *v1alpha1.KafkaSource, group string, extra ...kgo.Opt) *Source {
	t.Helper()
	s, err := open(context.Background(), spec, group, testOpts(extra...)...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// system is a sourcetest.System over a fresh topic and group.
func (c *cluster) system(t testing.TB, partitions int32) *sourcetest.System {
	topic, group := c.topic(t, partitions), unique(t, "group")
	return &sourcetest.System{
		Open: func(t testing.TB) source.Source { return c.open(t, c.spec(topic), group) },
		Send: func(t testing.TB, events []*cloudevent.Event) {
			records := make([]*kgo.Record, len(events))
			for i, e := range events {
				records[i] = binaryRecord(topic, e)
			}
			c.produce(t, records...)
		},
		Redelivery: 20 * time.Second,
	}
}

// binaryRecord encodes e in binary mode, as a producer of the CloudEvents
// Kafka binding does: written here independently of the sink's encoder.
func binaryRecord(topic string, e *cloudevent.Event) *kgo.Record {
	r := &kgo.Record{Topic: topic, Value: e.Data}
	e.Each(func(name, value string) {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: "ce_" + name, Value: []byte(value)})
	})
	if e.DataContentType != "" {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: "content-type", Value: []byte(e.DataContentType)})
	}
	return r
}
