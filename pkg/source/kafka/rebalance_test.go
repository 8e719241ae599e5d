package kafka

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

// TestRebalanceFake runs the rebalance test against kfake.
func TestRebalanceFake(t *testing.T) { testRebalance(t, fakeCluster(t)) }

// testRebalance: two Sources of one group share a 6-partition topic and
// read and ack concurrently; one goes away mid-stream holding records it
// has not acked. The other ends up with every record the first did not
// ack: nothing is lost (rules 2 and 4), whether the first closed cleanly
// or crashed.
func testRebalance(t *testing.T, c *cluster) {
	t.Run("CloseHoldingUnacked", func(t *testing.T) { rebalance(t, c, false) })
	t.Run("Crash", func(t *testing.T) { rebalance(t, c, true) })
}

func rebalance(t *testing.T, c *cluster, crashes bool) {
	const n = 2000
	topic, group := c.topic(t, 6), unique(t, "group")
	spec := c.spec(topic)
	var static []kgo.Opt
	if crashes {
		// A static member does not leave the group when its client
		// closes: the group notices it is gone at the session timeout.
		static = append(static, kgo.InstanceID(unique(t, "a")))
	}
	a := c.open(t, spec, group, static...)
	b := c.open(t, spec, group)
	sourcetest.Eventually(t, 60*time.Second, "both members assigned partitions", func() (bool, string) {
		na, nb := assignedCount(a), assignedCount(b)
		return na > 0 && nb > 0 && na+nb == 6, fmt.Sprintf("a has %d, b has %d", na, nb)
	})

	records := make([]*kgo.Record, n)
	for i := range records {
		e := &cloudevent.Event{SpecVersion: "1.0", ID: fmt.Sprintf("r-%d", i), Source: "/rebalance", Type: "t", Data: []byte("x")}
		records[i] = binaryRecord(topic, e)
		records[i].Key = fmt.Appendf(nil, "%d", i)
	}
	c.produce(t, records...)

	var (
		mu     sync.Mutex
		done   = map[string]bool{} // acked by a, or read by b
		held   []string            // read by a and never acked
		dups   int
		readsA int
	)
	stopB := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // a acks each batch only after reading the next, then goes away holding one
		var last []source.Message
		for readsA < n/5 {
			ms, err := a.Read(context.Background(), 50, 100*time.Millisecond)
			if err != nil {
				t.Errorf("a: read: %v", err)
				return
			}
			mu.Lock()
			for _, m := range last {
				done[m.Event().ID] = true
				if err := m.Ack(context.Background()); err != nil {
					t.Errorf("a: ack: %v", err)
				}
			}
			readsA += len(ms)
			if len(ms) > 0 {
				last = ms
			}
			mu.Unlock()
		}
		for _, m := range last {
			held = append(held, m.Event().ID)
		}
		if crashes {
			crash(a)
		} else if err := a.Close(); err != nil {
			t.Errorf("a: close: %v", err)
		}
	})
	wg.Go(func() { // b reads and acks everything
		for {
			select {
			case <-stopB:
				return
			default:
			}
			ms, err := b.Read(context.Background(), 50, 100*time.Millisecond)
			if err != nil {
				t.Errorf("b: read: %v", err)
				return
			}
			mu.Lock()
			for _, m := range ms {
				id := m.Event().ID
				if done[id] {
					dups++
				}
				done[id] = true
				if err := m.Ack(context.Background()); err != nil {
					t.Errorf("b: ack: %v", err)
				}
			}
			mu.Unlock()
		}
	})
	began := time.Now()
	sourcetest.Eventually(t, 90*time.Second, "every record acked by a or read by b", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == n, fmt.Sprintf("%d of %d", len(done), n)
	})
	close(stopB)
	wg.Wait()
	t.Logf("a read %d records and went away holding %d; b had all the rest %v later, with %d read twice",
		readsA, len(held), time.Since(began).Round(time.Millisecond), dups)
	if len(held) == 0 {
		t.Error("a held no unacked records when it went away")
	}
	sourcetest.Eventually(t, 30*time.Second, "the backlog at 0", func() (bool, string) {
		got, err := b.Backlog(context.Background())
		return err == nil && got == 0, fmt.Sprint(got, err)
	})
}

func assignedCount(s *Source) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.parts)
}

// crash stops s as a crash would: what it acked and had not committed yet
// is never committed, and it does not leave the group (it is a static
// member, so closing its client sends no LeaveGroup).
func crash(s *Source) {
	s.mu.Lock()
	s.forget(assignment(s))
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.readMu.Lock()
	defer s.readMu.Unlock()
	<-s.loopDone
	s.cl.Close()
}

func assignment(s *Source) map[string][]int32 {
	tps := map[string][]int32{}
	for tp := range s.parts {
		tps[tp.topic] = append(tps[tp.topic], tp.id)
	}
	return tps
}
