package buffertest

import (
	"testing"
	"time"
)

// testSlowReader reads one message at a time, slowly, for several AckWaits
// from a buffer holding many more: a message the buffer took from its
// store but has not handed out yet must not be redelivered because of its
// ack wait. Each message must be delivered exactly once, at attempt 1.
func testSlowReader(t *testing.T, h Harness) {
	const (
		ackWait = 3 * time.Second
		total   = 40
		// The reader's pace, as of a caller busy with each message: the
		// gap is the scenario under test, not a wait for an outcome.
		// total×gap (10s) is longer than 3×ackWait.
		gap = 250 * time.Millisecond
	)
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{AckWait: ackWait}), "slow-reader")
	write(ctx, t, b, numbered("s", total)...)

	start := time.Now()
	seen := map[string]bool{}
	for len(seen) < total {
		d := readN(ctx, t, b, 1)[0]
		id := d.Message().ID
		if seen[id] {
			t.Fatalf("%s delivered again (attempt %d) %s after the first Read", id, d.Attempt(), time.Since(start))
		}
		seen[id] = true
		if d.Attempt() != 1 {
			t.Fatalf("%s first delivered with Attempt %d, want 1", id, d.Attempt())
		}
		ack(ctx, t, d)
		time.Sleep(gap)
	}
	if elapsed := time.Since(start); elapsed <= 3*ackWait {
		t.Fatalf("read all in %s, not longer than 3×AckWait: the scenario did not happen", elapsed)
	}
	for _, id := range numbered("s", total) {
		if !seen[id] {
			t.Errorf("%s never delivered", id)
		}
	}
	expectPending(ctx, t, b, 0)
	// Copies redelivered while the first ones waited unread would come
	// after them.
	expectNothing(ctx, t, b, "redelivered after being read and acked")
}
