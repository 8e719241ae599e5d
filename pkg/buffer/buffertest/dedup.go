package buffertest

import (
	"testing"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// testDuplicates writes the same IDs twice within one Write and across
// Writes, before and after they are acked, and expects one delivery each.
func testDuplicates(t *testing.T, h Harness) {
	ctx := testContext(t)
	b := openBuffer(ctx, t, h.Open(t, Options{}), "dedup")

	first := []buffer.Message{
		{ID: "a", Data: []byte("first")},
		{ID: "a", Data: []byte("second")},
		{ID: "b", Data: []byte("b")},
	}
	if err := b.Write(ctx, first); err != nil {
		t.Fatalf("Write: %v", err)
	}
	expectPending(ctx, t, b, 2)
	write(ctx, t, b, "a", "b")
	expectPending(ctx, t, b, 2)

	ds := readN(ctx, t, b, 2)
	expectIDs(t, ds, "a", "b")
	for _, d := range ds {
		if m := d.Message(); m.ID == "a" && string(m.Data) != "first" {
			t.Errorf("message a has data %q, want the first write's %q", m.Data, "first")
		}
	}
	expectNothing(ctx, t, b, "duplicates must be dropped")
	ackAll(ctx, t, ds)
	expectPending(ctx, t, b, 0)

	// Acked IDs are still inside the dedup window.
	write(ctx, t, b, "a")
	expectPending(ctx, t, b, 0)
	expectNothing(ctx, t, b, "an acked ID rewritten inside the dedup window")
}
