package buffertest

import (
	"testing"
	"time"
)

// slack absorbs clock granularity when checking a minimum delay.
const slack = 100 * time.Millisecond

// testNackRedelivery nacks with a delay, then without, and expects
// redelivery with a growing Attempt, not before the delay.
func testNackRedelivery(t *testing.T, h Harness) {
	const delay = time.Second
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{}), "nack")
	write(ctx, t, b, "m")

	d := readN(ctx, t, b, 1)[0]
	if d.Attempt() != 1 {
		t.Fatalf("first delivery has Attempt %d, want 1", d.Attempt())
	}
	nacked := time.Now()
	if err := d.Nack(ctx, delay); err != nil {
		t.Fatalf("Nack: %v", err)
	}
	ds, err := b.Read(ctx, 1, delay/5)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(ds) > 0 {
		t.Fatalf("message nacked with delay %s redelivered after %s", delay, time.Since(nacked))
	}

	d = readN(ctx, t, b, 1)[0]
	if elapsed := time.Since(nacked); elapsed < delay-slack {
		t.Errorf("redelivered %s after Nack(%s)", elapsed, delay)
	}
	if d.Message().ID != "m" || d.Attempt() != 2 {
		t.Fatalf("redelivery is %s attempt %d, want m attempt 2", d.Message().ID, d.Attempt())
	}
	expectPending(ctx, t, b, 1)

	if err := d.Nack(ctx, 0); err != nil {
		t.Fatalf("Nack(0): %v", err)
	}
	d = readN(ctx, t, b, 1)[0]
	if d.Attempt() != 3 {
		t.Fatalf("after Nack(0) Attempt is %d, want 3", d.Attempt())
	}
	ack(ctx, t, d)
	expectPending(ctx, t, b, 0)
}

// testAckTimeoutRedelivery leaves a delivery unsettled and expects it back
// after AckWait.
func testAckTimeoutRedelivery(t *testing.T, h Harness) {
	const ackWait = time.Second
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{AckWait: ackWait}), "ack-timeout")
	write(ctx, t, b, "m")

	read := time.Now()
	d := readN(ctx, t, b, 1)[0]
	if d.Attempt() != 1 {
		t.Fatalf("first delivery has Attempt %d, want 1", d.Attempt())
	}
	again := readN(ctx, t, b, 1)[0]
	if elapsed := time.Since(read); elapsed < ackWait-slack {
		t.Errorf("redelivered %s after the read, before AckWait %s", elapsed, ackWait)
	}
	if again.Message().ID != "m" || again.Attempt() != 2 {
		t.Fatalf("redelivery is %s attempt %d, want m attempt 2", again.Message().ID, again.Attempt())
	}
	ack(ctx, t, again)
	expectPending(ctx, t, b, 0)
}

// testInProgress keeps reporting progress for several AckWaits and
// expects no redelivery meanwhile.
func testInProgress(t *testing.T, h Harness) {
	const ackWait = time.Second
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{AckWait: ackWait}), "in-progress")
	write(ctx, t, b, "m")

	d := readN(ctx, t, b, 1)[0]
	for start := time.Now(); time.Since(start) < 3*ackWait; {
		if err := d.InProgress(ctx); err != nil {
			t.Fatalf("InProgress: %v", err)
		}
		// The Read paces the loop at AckWait/4 and catches a redelivery.
		ds, err := b.Read(ctx, 1, ackWait/4)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(ds) > 0 {
			t.Fatalf("redelivered (attempt %d) %s after the read despite InProgress", ds[0].Attempt(), time.Since(start))
		}
	}
	ack(ctx, t, d)
	expectPending(ctx, t, b, 0)
	expectNothing(ctx, t, b, "after ack")
}
