package buffertest

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// testNoLoss writes 2,000 messages from several goroutines while reading
// and acking concurrently, and expects every ID exactly once.
func testNoLoss(t *testing.T, h Harness) {
	const writers, perWriter, batch = 8, 250, 50
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{}), "no-loss")

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			all := messages(numbered(fmt.Sprintf("w%d", w), perWriter)...)
			for i := 0; i < len(all); i += batch {
				if err := b.Write(ctx, all[i:i+batch]); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}

	seen := map[string]int{}
	for len(seen) < writers*perWriter {
		ds, err := b.Read(ctx, 100, time.Second)
		if err != nil {
			t.Fatalf("Read after %d distinct IDs: %v", len(seen), err)
		}
		for _, d := range ds {
			m := d.Message()
			if want := "data-" + m.ID; string(m.Data) != want {
				t.Fatalf("message %s has data %q, want %q", m.ID, m.Data, want)
			}
			seen[m.ID]++
		}
		ackAll(ctx, t, ds)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for w := range writers {
		for _, id := range numbered(fmt.Sprintf("w%d", w), perWriter) {
			if seen[id] != 1 {
				t.Errorf("ID %s delivered %d times, want 1", id, seen[id])
			}
		}
	}
	if len(seen) != writers*perWriter {
		t.Errorf("%d distinct IDs delivered, want %d", len(seen), writers*perWriter)
	}
	expectNothing(ctx, t, b, "after all were acked")
	expectPending(ctx, t, b, 0)
}
