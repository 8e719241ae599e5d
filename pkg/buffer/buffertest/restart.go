package buffertest

import (
	"context"
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

// testCloseReturnsUnread checks that a clean Close of a buffer, and of the
// store, gives back at once the messages a reader may have fetched ahead of
// Read and not handed out: after reopening the buffer, or after a restart,
// they are all readable well before the AckWait runs out.
func testCloseReturnsUnread(t *testing.T, h Harness) {
	const (
		total   = 1000
		ackWait = time.Minute
		// Far below ackWait: only a message that waits for the AckWait
		// can miss it.
		within = 10 * time.Second
	)
	ctx := testContext(t)
	s := h.Open(t, Options{AckWait: ackWait})
	names := []string{"close-buffer", "close-store"}
	var bs []buffer.Buffer
	for _, name := range names {
		b := openBuffer(ctx, t, s, name)
		write(ctx, t, b, numbered(name, total)...)
		// Read a few, which starts the reader, and settle them all.
		ackAll(ctx, t, readN(ctx, t, b, 10))
		bs = append(bs, b)
	}
	time.Sleep(quiet) // let the readers fetch ahead

	// Close only the first buffer, and reopen it.
	b := bs[0]
	if err := b.Close(); err != nil {
		t.Fatalf("Buffer.Close: %v", err)
	}
	b = openBuffer(ctx, t, s, names[0])
	ackAll(ctx, t, readWithin(ctx, t, b, total-10, within, "after a clean Buffer.Close"))
	expectPending(ctx, t, b, 0)

	// Close the store, with the second buffer still open.
	if err := s.Close(); err != nil {
		t.Fatalf("Store.Close: %v", err)
	}
	s = h.Restart(t, s)
	b = openBuffer(ctx, t, s, names[1])
	expectPending(ctx, t, b, total-10)
	ackAll(ctx, t, readWithin(ctx, t, b, total-10, within, "after a clean Store.Close and restart"))
	expectPending(ctx, t, b, 0)
	expectNothing(ctx, t, b, "after all were acked")
}

// readWithin reads until it has n deliveries of distinct IDs, failing t if
// that takes longer than within.
func readWithin(ctx context.Context, t *testing.T, b buffer.Buffer, n int, within time.Duration, when string) []buffer.Delivery {
	t.Helper()
	start := time.Now()
	seen := map[string]bool{}
	var got []buffer.Delivery
	for len(got) < n {
		if elapsed := time.Since(start); elapsed > within {
			t.Fatalf("%s: only %d of %d unread messages came back within %s", when, len(got), n, within)
		}
		max := min(100, n-len(got))
		ds, err := b.Read(ctx, max, time.Second)
		if err != nil {
			t.Fatalf("Read after %d of %d deliveries: %v", len(got), n, err)
		}
		if len(ds) > max {
			t.Fatalf("Read(max %d) returned %d deliveries", max, len(ds))
		}
		for _, d := range ds {
			if id := d.Message().ID; seen[id] {
				t.Fatalf("%s: %s delivered twice", when, id)
			} else {
				seen[id] = true
			}
		}
		got = append(got, ds...)
	}
	return got
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
