package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/source"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

// TestBacklogFake runs the backlog test against kfake.
func TestBacklogFake(t *testing.T) { testBacklog(t, fakeCluster(t)) }

// testBacklog: the backlog of a group that never committed is what lies
// between the log start and end; records read and not acked count, as do
// acked records behind one not acked (rule 4); it falls to 0 once all are
// acked (rule 7).
func testBacklog(t *testing.T, c *cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := c.topic(t, 1)
	records := make([]*kgo.Record, 10)
	for i := range records {
		records[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i)}
	}
	c.produce(t, records...)
	trim := kadm.Offsets{}
	trim.Add(kadm.Offset{Topic: topic, Partition: 0, At: 4})
	if _, err := c.adm.DeleteRecords(ctx, trim); err != nil {
		t.Fatalf("delete records: %v", err)
	}

	s := c.open(t, c.spec(topic), unique(t, "group"))
	wantBacklog := func(want int64, what string) {
		t.Helper()
		sourcetest.Eventually(t, 20*time.Second, what, func() (bool, string) {
			got, err := s.Backlog(ctx)
			if err != nil {
				t.Fatalf("backlog: %v", err)
			}
			return got == want, fmt.Sprintf("backlog %d, want %d", got, want)
		})
	}
	commit := func() {
		t.Helper()
		if err := s.commit(ctx, nil); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	wantBacklog(6, "end - start for a group that never committed")

	var ids []string
	for i := 4; i < 10; i++ {
		ids = append(ids, fmt.Sprintf("%s/0/%d", topic, i))
	}
	got := sourcetest.ReadUntil(t, s, ids, 20*time.Second, false)
	byOffset := map[int64]source.Message{}
	for _, m := range got {
		byOffset[m.(*message).offset] = m
	}
	ack := func(offsets ...int64) {
		for _, o := range offsets {
			if err := byOffset[o].Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit()
	wantBacklog(6, "read and not acked still counts")
	ack(9)
	commit()
	wantBacklog(6, "acked behind unacked still counts")
	ack(5, 4, 6)
	commit()
	wantBacklog(3, "acked up to the first not acked")
	ack(8, 7)
	wantBacklog(0, "0 once all is acked (committed by the loop)")
}

// TestLag checks the lag sum on listed offsets: committed partitions count
// from the commit, others from the log start (earliest) or not at all
// (latest).
func TestLag(t *testing.T) {
	listed := func(offsets ...int64) kadm.ListedOffsets {
		l := kadm.ListedOffsets{"t": {}}
		for p, o := range offsets {
			l["t"][int32(p)] = kadm.ListedOffset{Topic: "t", Partition: int32(p), Offset: o}
		}
		return l
	}
	commits := func(at map[int32]int64) kadm.OffsetResponses {
		rs := kadm.OffsetResponses{}
		for p, o := range at {
			rs.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "t", Partition: p, At: o}})
		}
		return rs
	}
	starts, ends := listed(0, 5, 10), listed(10, 20, 10)
	for _, tc := range []struct {
		name    string
		commits kadm.OffsetResponses
		latest  bool
		want    int64
	}{
		{"never committed: end - start", nil, false, 10 + 15 + 0},
		{"never committed, starting at the end", nil, true, 0},
		{"committed partitions count from the commit", commits(map[int32]int64{0: 7, 1: 20}), false, 3 + 0 + 0},
		{"a commit of -1 is no commit", commits(map[int32]int64{0: -1}), false, 10 + 15},
		{"a commit past the end counts 0", commits(map[int32]int64{0: 12, 1: 20}), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lag(ends, starts, tc.commits, tc.latest); got != tc.want {
				t.Errorf("lag %d, want %d", got, tc.want)
			}
		})
	}
}
