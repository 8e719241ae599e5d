package router

import (
	"context"
	"testing"
)

// TestTakeSlots: a read takes every free slot; with most slots busy it
// waits for a refill's worth (a quarter) before reading again; batch mode
// reads as soon as one is free.
func TestTakeSlots(t *testing.T) {
	ctx := context.Background()
	busy := func(max, inFlight int) chan struct{} {
		slots := make(chan struct{}, max)
		for range inFlight {
			slots <- struct{}{}
		}
		return slots
	}

	d := &Dispatcher{MaxInFlight: 8}
	if n, ok := d.takeSlots(ctx, busy(8, 0)); !ok || n != 8 {
		t.Fatalf("idle: took %d, want all 8", n)
	}
	if n, _ := d.takeSlots(ctx, busy(8, 3)); n != 5 {
		t.Fatalf("3 in flight: took %d, want the 5 free", n)
	}

	slots := busy(8, 7) // one free: below the refill of 2
	got := make(chan int, 1)
	go func() {
		n, _ := d.takeSlots(ctx, slots)
		got <- n
	}()
	notYet(t, got, "takeSlots with one slot free of a refill of two")
	<-slots // a delivery finishes
	if n := within(t, got, "takeSlots after a second slot freed"); n != 2 {
		t.Fatalf("took %d, want 2", n)
	}

	batch := &Dispatcher{MaxInFlight: 8, BatchSize: 4}
	if n, _ := batch.takeSlots(ctx, busy(8, 7)); n != 1 {
		t.Fatalf("batch mode with one free slot: took %d, want 1", n)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	full := busy(8, 8)
	if _, ok := d.takeSlots(cancelled, full); ok {
		t.Fatal("takeSlots succeeded on a cancelled context with no free slot")
	}
	if len(full) != 8 {
		t.Fatalf("a cancelled takeSlots left %d slots taken, want the 8 of the others", len(full))
	}
}
