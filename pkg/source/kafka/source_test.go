package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/source"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

// TestReadWaitsAtMostMaxWait: with nothing to read, Read returns nothing
// and no error after maxWait (rule 1).
func TestReadWaitsAtMostMaxWait(t *testing.T) {
	c := fakeCluster(t)
	s := c.open(t, c.spec(c.topic(t, 1)), unique(t, "group"))
	for range 3 {
		began := time.Now()
		ms, err := s.Read(context.Background(), 10, 300*time.Millisecond)
		took := time.Since(began)
		if err != nil || len(ms) != 0 {
			t.Fatalf("read %d messages, error %v; want none", len(ms), err)
		}
		if took < 250*time.Millisecond || took > 10*time.Second {
			t.Errorf("an empty read took %v, want about 300ms", took)
		}
	}
}

// TestNackDelay: a nacked record comes back no sooner than its delay
// (rule 5), and Read waits for it rather than for maxWait.
func TestNackDelay(t *testing.T) {
	c := fakeCluster(t)
	topic := c.topic(t, 1)
	c.produce(t, &kgo.Record{Topic: topic, Value: []byte("v")})
	s := c.open(t, c.spec(topic), unique(t, "group"))
	id := topic + "/0/0"
	m := sourcetest.ReadUntil(t, s, []string{id}, 20*time.Second, false)[0]
	const delay = 700 * time.Millisecond
	nacked := time.Now()
	if err := m.Nack(context.Background(), delay); err != nil {
		t.Fatal(err)
	}
	again := sourcetest.ReadUntil(t, s, []string{id}, 20*time.Second, true)
	if took := time.Since(nacked); took < delay {
		t.Errorf("the nacked record came back after %v, before its delay %v", took, delay)
	}
	if len(again) != 1 {
		t.Errorf("read %d messages, want the nacked one", len(again))
	}
}

// TestAfterClose: a closed source reads nothing, and acks and nacks
// return ErrClosed (rule 9); acks made before Close are committed (rule
// 3), so a new source starts after them.
func TestAfterClose(t *testing.T) {
	c := fakeCluster(t)
	topic, group := c.topic(t, 1), unique(t, "group")
	c.produce(t, &kgo.Record{Topic: topic, Value: []byte("a")}, &kgo.Record{Topic: topic, Value: []byte("b")},
		&kgo.Record{Topic: topic, Value: []byte("c")})
	s := c.open(t, c.spec(topic), group)
	ms := sourcetest.ReadUntil(t, s, []string{topic + "/0/0", topic + "/0/1", topic + "/0/2"}, 20*time.Second, false)
	sourcetest.AckAll(t, ms[:2])
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := s.Read(context.Background(), 10, time.Millisecond); !errors.Is(err, source.ErrClosed) {
		t.Errorf("read after close: %v, want ErrClosed", err)
	}
	if err := ms[2].Ack(context.Background()); !errors.Is(err, source.ErrClosed) {
		t.Errorf("ack after close: %v, want ErrClosed", err)
	}
	if err := ms[2].Nack(context.Background(), 0); !errors.Is(err, source.ErrClosed) {
		t.Errorf("nack after close: %v, want ErrClosed", err)
	}
	if _, err := s.Backlog(context.Background()); !errors.Is(err, source.ErrClosed) {
		t.Errorf("backlog after close: %v, want ErrClosed", err)
	}

	again := c.open(t, c.spec(topic), group)
	got := sourcetest.ReadUntil(t, again, []string{topic + "/0/2"}, 20*time.Second, true)
	got = append(got, readFor(t, again, 500*time.Millisecond)...)
	for _, m := range got {
		if m.Event().ID != topic+"/0/2" {
			t.Errorf("%s was acked before Close but delivered again", m.Event().ID)
		}
	}
}

func readFor(t *testing.T, s *Source, d time.Duration) []source.Message {
	t.Helper()
	var got []source.Message
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		ms, err := s.Read(context.Background(), 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ms...)
	}
	return got
}
