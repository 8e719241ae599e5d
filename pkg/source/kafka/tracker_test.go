package kafka

import "testing"

// TestPartitionCommitPoint checks the contiguous-commit rule (rule 4):
// the commit point passes only records all acked, whatever the ack order.
func TestPartitionCommitPoint(t *testing.T) {
	type read struct {
		offset int64
		epoch  int32
	}
	for _, tc := range []struct {
		name      string
		reads     []read
		acks      []int64
		committed int64 // a commit the broker already took, -1 none
		want      position
		wantMoved bool
		pending   int
	}{{
		name:  "nothing acked",
		reads: []read{{0, 0}, {1, 0}, {2, 0}},
		want:  position{-1, -1}, pending: 3, committed: -1,
	}, {
		name:  "acked in order",
		reads: []read{{0, 0}, {1, 0}, {2, 0}},
		acks:  []int64{0, 1, 2},
		want:  position{3, 0}, wantMoved: true, committed: -1,
	}, {
		name:  "a gap holds the commit point",
		reads: []read{{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}},
		acks:  []int64{1, 2, 4},
		want:  position{-1, -1}, pending: 5, committed: -1,
	}, {
		name:  "filling the gap moves it to the next gap",
		reads: []read{{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}},
		acks:  []int64{1, 2, 4, 0},
		want:  position{3, 0}, wantMoved: true, pending: 2, committed: -1,
	}, {
		name:  "offsets that skip (compaction, transaction markers)",
		reads: []read{{10, 1}, {15, 1}, {19, 2}},
		acks:  []int64{15, 10},
		want:  position{16, 1}, wantMoved: true, pending: 1, committed: -1,
	}, {
		name:  "the epoch is the last acked record's",
		reads: []read{{0, 1}, {1, 2}},
		acks:  []int64{1, 0},
		want:  position{2, 2}, wantMoved: true, committed: -1,
	}, {
		name:  "a record read again is not tracked twice",
		reads: []read{{0, 0}, {1, 0}, {1, 0}, {0, 0}, {2, 0}},
		acks:  []int64{0, 1},
		want:  position{2, 0}, wantMoved: true, pending: 1, committed: -1,
	}, {
		name:  "acks of offsets not pending do nothing",
		reads: []read{{5, 0}, {6, 0}},
		acks:  []int64{4, 7, 5, 5},
		want:  position{6, 0}, wantMoved: true, pending: 1, committed: -1,
	}, {
		name:  "a commit point already committed is not sent again",
		reads: []read{{0, 0}, {1, 0}},
		acks:  []int64{0, 1},
		want:  position{2, 0}, committed: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPartition("t", 0)
			for _, r := range tc.reads {
				p.read(r.offset, r.epoch)
			}
			for _, o := range tc.acks {
				p.ack(o)
			}
			if tc.committed >= 0 {
				p.committed(tc.committed)
			}
			got, moved := p.toCommit()
			if got != tc.want || moved != tc.wantMoved {
				t.Errorf("commit point %+v (moved %v), want %+v (moved %v)", got, moved, tc.want, tc.wantMoved)
			}
			if len(p.pending) != tc.pending {
				t.Errorf("%d records pending, want %d", len(p.pending), tc.pending)
			}
		})
	}
}

// TestPartitionReadAgain: read reports a record read before, so the
// source does not deliver it twice from one assignment.
func TestPartitionReadAgain(t *testing.T) {
	p := newPartition("t", 0)
	for i, tc := range []struct {
		offset int64
		want   bool
	}{{3, true}, {4, true}, {4, false}, {2, false}, {9, true}} {
		if got := p.read(tc.offset, 0); got != tc.want {
			t.Errorf("read %d (#%d) = %v, want %v", tc.offset, i, got, tc.want)
		}
	}
}
