package kafka

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/sink"
	"github.com/freshetproj/freshet/pkg/sink/sinktest"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
	"github.com/freshetproj/freshet/test/brokers/kafka"
)

// cluster is a Kafka cluster to test against: kfake or a real broker.
type cluster struct {
	addr string
	adm  *kadm.Client
}

func fakeCluster(t testing.TB) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return newCluster(t, c.ListenAddrs()[0])
}

func brokerCluster(t testing.TB) *cluster {
	t.Helper()
	return newCluster(t, kafka.Start(t).Addr)
}

func newCluster(t testing.TB, addr string) *cluster {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &cluster{addr: addr, adm: kadm.NewClient(cl)}
}

// topic creates a fresh topic of 3 partitions with configs.
func (c *cluster) topic(t testing.TB, configs map[string]*string) string {
	t.Helper()
	name := kafka.UniqueName(t, "topic")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.adm.CreateTopic(ctx, 3, 1, configs, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return name
}

func (c *cluster) open(t testing.TB, topic, mode string) *Sink {
	t.Helper()
	s, err := Open(context.Background(), &v1alpha1.KafkaSink{Brokers: []string{c.addr}, Topic: topic, Mode: mode})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// reader reads a topic from its start as a plain consumer would, and
// decodes each record with the binding's decoder.
type reader struct {
	mu     sync.Mutex
	cl     *kgo.Client
	events []*cloudevent.Event
	raw    []*kgo.Record
}

func (c *cluster) reader(t testing.TB, topic string) *reader {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &reader{cl: cl}
}

// held returns every event read so far, after a short poll for more.
func (r *reader) held(t testing.TB) []*cloudevent.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r.cl.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
		e := kafkasource.Decode(rec, "not.a.cloudevent", "")
		if problem, bad := e.Extensions["fresheterror"]; bad {
			t.Errorf("record %s/%d/%d is not a valid CloudEvent: %s", rec.Topic, rec.Partition, rec.Offset, problem)
		}
		r.events = append(r.events, e)
		r.raw = append(r.raw, rec)
	})
	return append([]*cloudevent.Event(nil), r.events...)
}

// system is a sinktest.System writing to a fresh topic in mode.
func (c *cluster) system(t testing.TB, mode string) *sinktest.System {
	topic := c.topic(t, nil)
	r := c.reader(t, topic)
	return &sinktest.System{
		Open:   func(t testing.TB) sink.Sink { return c.open(t, topic, mode) },
		Held:   r.held,
		Within: 30 * time.Second,
	}
}
