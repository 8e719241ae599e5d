package buffertest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// testRestart restarts the store with messages acked, read but not acked,
// and never read, and expects exactly the unacked ones back.
func testRestart(t *testing.T, h Harness) {
	ctx := testContext(t)
	// A short AckWait lets read-not-acked messages come back quickly.
	s := h.Open(t, Options{AckWait: time.Second})
	b := openBuffer(ctx, t, s, "restart")
	write(ctx, t, b, "r0", "r1", "r2", "r3", "r4", "r5")

	ds := readN(ctx, t, b, 4)
	ackAll(ctx, t, ds[:2])
	acked := ids(ds[:2])
	expectPending(ctx, t, b, 4)

	s = h.Restart(t, s)
	b = openBuffer(ctx, t, s, "restart")
	expectPending(ctx, t, b, 4)

	var unacked []string
	for _, id := range []string{"r0", "r1", "r2", "r3", "r4", "r5"} {
		if !slices.Contains(acked, id) {
			unacked = append(unacked, id)
		}
	}
	// Stored messages are still deduplicated after the restart.
	write(ctx, t, b, unacked...)
	expectPending(ctx, t, b, 4)
	back := readN(ctx, t, b, 4)
	expectIDs(t, back, unacked...)
	ackAll(ctx, t, back)
	expectPending(ctx, t, b, 0)
	expectNothing(ctx, t, b, "after restart, all acked")
}

// testIndependent checks that buffers of one store share nothing, not even
// their dedup IDs.
func testIndependent(t *testing.T, h Harness) {
	ctx := testContext(t)
	s := h.Open(t, Options{})
	left := openBuffer(ctx, t, s, "left")
	right := openBuffer(ctx, t, s, "right")

	write(ctx, t, left, "l0", "l1", "same")
	write(ctx, t, right, "r0", "r1", "r2", "r3", "same")
	expectPending(ctx, t, left, 3)
	expectPending(ctx, t, right, 5)

	ds := readN(ctx, t, left, 3)
	expectIDs(t, ds, "l0", "l1", "same")
	expectNothing(ctx, t, left, "left holds only its own messages")
	ackAll(ctx, t, ds)
	expectPending(ctx, t, left, 0)
	expectPending(ctx, t, right, 5)

	ds = readN(ctx, t, right, 5)
	expectIDs(t, ds, "r0", "r1", "r2", "r3", "same")
	ackAll(ctx, t, ds)
	expectPending(ctx, t, right, 0)
}

// testClosed checks ErrClosed after Close of a buffer and of the store.
func testClosed(t *testing.T, h Harness) {
	ctx := testContext(t)
	s := h.Open(t, Options{})
	b := openBuffer(ctx, t, s, "closed")
	write(ctx, t, b, "kept")
	if err := b.Close(); err != nil {
		t.Fatalf("Buffer.Close: %v", err)
	}
	if err := b.Write(ctx, messages("x")); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Read(ctx, 1, 0); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Read after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Pending(ctx); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Pending after Close: %v, want ErrClosed", err)
	}

	b = openBuffer(ctx, t, s, "closed") // reopening keeps the messages
	expectPending(ctx, t, b, 1)
	if err := s.Close(); err != nil {
		t.Fatalf("Store.Close: %v", err)
	}
	if _, err := s.Open(ctx, "other"); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Open after Store.Close: %v, want ErrClosed", err)
	}
	if _, err := b.Pending(ctx); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Pending of a buffer after Store.Close: %v, want ErrClosed", err)
	}
}
