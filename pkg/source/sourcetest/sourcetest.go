// Package sourcetest is the conformance suite every source.Source passes:
// the delivery rules of package source, checked against the real system
// (a Kafka broker, an SQS emulator, the HTTP ingress).
package sourcetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"

	"github.com/freshetproj/freshet/internal/poll"
)

// System is one fresh stream of a source's system — a new topic and
// consumer group, a new queue — for one test.
type System struct {
	// Open connects a new Source to the stream; every Open reads the same
	// stream as the same consumer (group, subscription, queue).
	Open func(t testing.TB) source.Source
	// Send puts events into the stream as the system's producers would.
	// It may return before the system took them (an HTTP client retries
	// until it is answered 202), but they are taken eventually.
	Send func(t testing.TB, events []*cloudevent.Event)
	// Redelivery bounds how long an unacked message takes to come back
	// after a Nack or a Close (an SQS visibility timeout, a Kafka
	// rebalance). Default 10s.
	Redelivery time.Duration
}

// Factory makes a fresh System for each test.
type Factory func(t testing.TB) *System

// Run runs the suite.
func Run(t *testing.T, fresh Factory) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, sys *System)
	}{
		{"DeliversEveryEventIntact", deliversIntact},
		{"UnackedComeBackAfterClose", unackedComeBack},
		{"AckedDoNotComeBackAfterClose", ackedStayDone},
		{"NackComesBack", nackComesBack},
		{"OutOfOrderAcksLoseNothing", outOfOrderAcks},
		{"BacklogCountsAndDrains", backlogDrains},
		{"ReadWaitsAtMostMaxWait", readWaits},
		{"SettleAfterCloseIsErrClosed", settleAfterClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := fresh(t)
			if sys.Redelivery <= 0 {
				sys.Redelivery = 10 * time.Second
			}
			tc.test(t, sys)
		})
	}
}

// open opens a Source closed at the end of the test (unless closed before).
func open(t *testing.T, sys *System) source.Source {
	t.Helper()
	src := sys.Open(t)
	t.Cleanup(func() { _ = src.Close() })
	return src
}

func closeSource(t *testing.T, src source.Source) {
	t.Helper()
	if err := src.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// Events makes n events with ids prefix-0.. carrying an extension and data.
func Events(prefix string, n int) []*cloudevent.Event {
	out := make([]*cloudevent.Event, n)
	for i := range out {
		e := &cloudevent.Event{
			SpecVersion:     "1.0",
			ID:              fmt.Sprintf("%s-%d", prefix, i),
			Source:          "/sourcetest",
			Type:            "dev.freshet.sourcetest",
			DataContentType: "application/json",
			Data:            fmt.Appendf(nil, `{"n":%d}`, i),
		}
		e.SetExtension("sequence", fmt.Sprint(i))
		out[i] = e
	}
	return out
}

// IDs are the events' ids.
func IDs(es []*cloudevent.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// readUntil reads until every id in want has been delivered at least
// once, or fails t after within; it returns every message read, in order.
func readUntil(t *testing.T, src source.Source, want []string, within time.Duration) []source.Message {
	t.Helper()
	return ReadUntil(t, src, want, within, false)
}

// ReadUntil is readUntil for sources' own tests, acking each message as
// it is read when ack is set.
func ReadUntil(t testing.TB, src source.Source, want []string, within time.Duration, ack bool) []source.Message {
	t.Helper()
	missing := map[string]bool{}
	for _, id := range want {
		missing[id] = true
	}
	var got []source.Message
	deadline := time.Now().Add(within)
	for len(missing) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d events not delivered (e.g. %s)", within, len(missing), len(want), anyKey(missing))
		}
		ms, err := src.Read(context.Background(), 64, 200*time.Millisecond)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, m := range ms {
			delete(missing, m.Event().ID)
			if ack {
				if err := m.Ack(context.Background()); err != nil {
					t.Fatalf("ack %s: %v", m.Event().ID, err)
				}
			}
		}
		got = append(got, ms...)
	}
	return got
}

// readFor reads for d and returns what arrived.
func readFor(t *testing.T, src source.Source, d time.Duration) []source.Message {
	t.Helper()
	var got []source.Message
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		ms, err := src.Read(context.Background(), 64, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		got = append(got, ms...)
	}
	return got
}

// AckAll acks every message, failing t on an error.
func AckAll(t testing.TB, ms []source.Message) {
	t.Helper()
	for _, m := range ms {
		if err := m.Ack(context.Background()); err != nil {
			t.Fatalf("ack %s: %v", m.Event().ID, err)
		}
	}
}

func anyKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

// Eventually polls cond until it holds, or fails t after within with
// cond's last message (poll.Until, for sources' own tests).
func Eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	poll.Until(t, within, what, poll.Check(cond))
}
