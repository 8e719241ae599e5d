package buffertest

import (
	"testing"
)

// testPendingCounts checks that Pending counts written, unacked messages
// exactly, whether undelivered, in flight or nacked.
func testPendingCounts(t *testing.T, h Harness) {
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{}), "pending")
	expectPending(ctx, t, b, 0)

	write(ctx, t, b, numbered("p", 10)...)
	expectPending(ctx, t, b, 10)

	ds := readN(ctx, t, b, 3)
	expectPending(ctx, t, b, 10)
	ackAll(ctx, t, ds)
	expectPending(ctx, t, b, 7)

	ds = readN(ctx, t, b, 2)
	if err := ds[0].Nack(ctx, 0); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	expectPending(ctx, t, b, 7) // one nacked, one in flight
	ack(ctx, t, ds[1])
	expectPending(ctx, t, b, 6)

	ackAll(ctx, t, readN(ctx, t, b, 6))
	expectPending(ctx, t, b, 0)
}

// testSettled checks that a settled delivery ignores later calls.
func testSettled(t *testing.T, h Harness) {
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{}), "settled")
	write(ctx, t, b, "acked", "nacked")

	for _, d := range readN(ctx, t, b, 2) {
		if d.Message().ID == "acked" {
			ack(ctx, t, d)
			if err := d.Nack(ctx, 0); err != nil {
				t.Errorf("Nack after Ack: %v", err)
			}
		} else {
			if err := d.Nack(ctx, 0); err != nil {
				t.Fatalf("Nack: %v", err)
			}
			if err := d.Ack(ctx); err != nil {
				t.Errorf("Ack after Nack: %v", err)
			}
		}
		if err := d.InProgress(ctx); err != nil {
			t.Errorf("InProgress after settling %s: %v", d.Message().ID, err)
		}
	}
	again := readN(ctx, t, b, 1)
	expectIDs(t, again, "nacked")
	expectPending(ctx, t, b, 1)
	ackAll(ctx, t, again)
	expectPending(ctx, t, b, 0)
}
