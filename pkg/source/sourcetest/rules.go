package sourcetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/source"
)

// deliversIntact: every event sent is read with its attributes, extension
// and data unchanged (rule 6).
func deliversIntact(t *testing.T, sys *System) {
	src := open(t, sys)
	sent := Events("intact", 5)
	sys.Send(t, sent)
	got := readUntil(t, src, IDs(sent), sys.Redelivery)
	byID := map[string]source.Message{}
	for _, m := range got {
		byID[m.Event().ID] = m
	}
	for _, want := range sent {
		e := byID[want.ID].Event()
		for _, attr := range []string{"specversion", "source", "type", "datacontenttype", "sequence"} {
			w, _ := want.Get(attr)
			if g, _ := e.Get(attr); g != w {
				t.Errorf("event %s: %s = %q, want %q", want.ID, attr, g, w)
			}
		}
		if !bytes.Equal(e.Data, want.Data) {
			t.Errorf("event %s: data %q, want %q", want.ID, e.Data, want.Data)
		}
	}
	AckAll(t, got)
}

// unackedComeBack: messages read but never acked are delivered again
// after the source closes (rule 2).
func unackedComeBack(t *testing.T, sys *System) {
	src := open(t, sys)
	sent := Events("unacked", 20)
	sys.Send(t, sent)
	readUntil(t, src, IDs(sent), sys.Redelivery)
	closeSource(t, src)

	again := open(t, sys)
	AckAll(t, readUntil(t, again, IDs(sent), 2*sys.Redelivery))
}

// ackedStayDone: after a clean Close, acked messages are not delivered
// again (rule 3); later ones are.
func ackedStayDone(t *testing.T, sys *System) {
	src := open(t, sys)
	first := Events("first", 10)
	sys.Send(t, first)
	AckAll(t, readUntil(t, src, IDs(first), sys.Redelivery))
	closeSource(t, src)

	later := Events("later", 5)
	sys.Send(t, later)
	again := open(t, sys)
	got := readUntil(t, again, IDs(later), 2*sys.Redelivery)
	got = append(got, readFor(t, again, time.Second)...)
	for _, m := range got {
		if id := m.Event().ID; id[:5] == "first" {
			t.Errorf("acked event %s was delivered again after a clean close", id)
		}
	}
	AckAll(t, got)
}

// nackComesBack: a nacked message is delivered again (rule 5).
func nackComesBack(t *testing.T, sys *System) {
	src := open(t, sys)
	sent := Events("nack", 1)
	sys.Send(t, sent)
	got := readUntil(t, src, IDs(sent), sys.Redelivery)
	for _, m := range got {
		if err := m.Nack(context.Background(), 0); err != nil {
			t.Fatalf("nack: %v", err)
		}
	}
	AckAll(t, readUntil(t, src, IDs(sent), 2*sys.Redelivery))
}

// outOfOrderAcks: acking every other message, then closing, loses none of
// the others (rule 4).
func outOfOrderAcks(t *testing.T, sys *System) {
	src := open(t, sys)
	sent := Events("order", 10)
	sys.Send(t, sent)
	got := readUntil(t, src, IDs(sent), sys.Redelivery)
	var unacked []string
	seen := map[string]bool{}
	for i, m := range got {
		id := m.Event().ID
		if seen[id] {
			continue
		}
		seen[id] = true
		if i%2 == 0 {
			if err := m.Ack(context.Background()); err != nil {
				t.Fatalf("ack %s: %v", id, err)
			}
			continue
		}
		unacked = append(unacked, id)
	}
	closeSource(t, src)

	again := open(t, sys)
	AckAll(t, readUntil(t, again, unacked, 2*sys.Redelivery))
}

// backlogDrains: the backlog counts what was sent and not acked, and falls
// to 0 once all is acked (rule 7).
func backlogDrains(t *testing.T, sys *System) {
	src := open(t, sys)
	sent := Events("backlog", 12)
	sys.Send(t, sent)
	backlog := func() int64 {
		n, err := src.Backlog(context.Background())
		if err != nil {
			t.Fatalf("backlog: %v", err)
		}
		return n
	}
	Eventually(t, sys.Redelivery, "a backlog of the 12 sent", func() (bool, string) {
		n := backlog()
		return n >= int64(len(sent)), fmt.Sprint(n)
	})
	AckAll(t, readUntil(t, src, IDs(sent), sys.Redelivery))
	Eventually(t, 2*sys.Redelivery, "the backlog at 0 once all is acked", func() (bool, string) {
		n := backlog()
		return n == 0, fmt.Sprint(n)
	})
}

// readWaits: Read on an empty stream returns nothing, without error, once
// maxWait has passed (rule 1) — the pump relies on it to notice its
// context ending. The slack allows for a busy machine.
func readWaits(t *testing.T, sys *System) {
	src := open(t, sys)
	const maxWait, slack = 300 * time.Millisecond, 3 * time.Second
	for range 3 {
		start := time.Now()
		ms, err := src.Read(context.Background(), 10, maxWait)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(ms) != 0 {
			t.Fatalf("read %d messages from an empty stream", len(ms))
		}
		if took > maxWait+slack {
			t.Fatalf("Read(maxWait %v) took %v", maxWait, took)
		}
	}
}

// settleAfterClose: settling a message after Close returns ErrClosed
// (rule 9), and the message comes back.
func settleAfterClose(t *testing.T, sys *System) {
	src := open(t, sys)
	sent := Events("late", 2)
	sys.Send(t, sent)
	got := readUntil(t, src, IDs(sent), sys.Redelivery)
	closeSource(t, src)
	if err := got[0].Ack(context.Background()); !errors.Is(err, source.ErrClosed) {
		t.Errorf("Ack after Close = %v, want ErrClosed", err)
	}
	if err := got[1].Nack(context.Background(), 0); !errors.Is(err, source.ErrClosed) {
		t.Errorf("Nack after Close = %v, want ErrClosed", err)
	}
	again := open(t, sys)
	AckAll(t, readUntil(t, again, IDs(sent), 2*sys.Redelivery))
}
