package buffertest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// Generous bounds: they only fail a test that is really stuck.
const (
	deadline = 30 * time.Second // for anything that must happen
	quiet    = 300 * time.Millisecond
)

// testContext is a context bounded by deadline and cancelled with t.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	t.Cleanup(cancel)
	return ctx
}

func openBuffer(ctx context.Context, t *testing.T, s buffer.Store, name string) buffer.Buffer {
	t.Helper()
	b, err := s.Open(ctx, name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	return b
}

// messages builds messages with the given IDs and data "data-<id>".
func messages(ids ...string) []buffer.Message {
	out := make([]buffer.Message, len(ids))
	for i, id := range ids {
		out[i] = buffer.Message{ID: id, Data: []byte("data-" + id)}
	}
	return out
}

// numbered returns IDs prefix-0 … prefix-(n-1).
func numbered(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return ids
}

func write(ctx context.Context, t *testing.T, b buffer.Buffer, ids ...string) {
	t.Helper()
	if err := b.Write(ctx, messages(ids...)); err != nil {
		t.Fatalf("Write(%v): %v", ids, err)
	}
}

// readN reads until it has n deliveries, failing t after deadline.
func readN(ctx context.Context, t *testing.T, b buffer.Buffer, n int) []buffer.Delivery {
	t.Helper()
	var got []buffer.Delivery
	for len(got) < n {
		ds, err := b.Read(ctx, n-len(got), time.Second)
		if err != nil {
			t.Fatalf("Read after %d of %d deliveries: %v", len(got), n, err)
		}
		if len(ds) > n-len(got) {
			t.Fatalf("Read(max %d) returned %d deliveries", n-len(got), len(ds))
		}
		got = append(got, ds...)
	}
	return got
}

// expectNothing fails t if a Read of quiet returns any delivery.
func expectNothing(ctx context.Context, t *testing.T, b buffer.Buffer, why string) {
	t.Helper()
	ds, err := b.Read(ctx, 10, quiet)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(ds) > 0 {
		t.Fatalf("%s: Read returned %v", why, ids(ds))
	}
}

func ackAll(ctx context.Context, t *testing.T, ds []buffer.Delivery) {
	t.Helper()
	for _, d := range ds {
		if err := d.Ack(ctx); err != nil {
			t.Fatalf("Ack(%s): %v", d.Message().ID, err)
		}
	}
}

// ids returns the sorted IDs of ds.
func ids(ds []buffer.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Message().ID
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func expectIDs(t *testing.T, ds []buffer.Delivery, want ...string) {
	t.Helper()
	if got, want := ids(ds), sorted(want...); !slices.Equal(got, want) {
		t.Fatalf("delivered IDs %v, want %v", got, want)
	}
}

func expectPending(ctx context.Context, t *testing.T, b buffer.Buffer, want int64) {
	t.Helper()
	got, err := b.Pending(ctx)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if got != want {
		t.Fatalf("Pending = %d, want %d", got, want)
	}
}

func ack(ctx context.Context, t *testing.T, d buffer.Delivery) {
	t.Helper()
	ackAll(ctx, t, []buffer.Delivery{d})
}
