// Package sinktest is the conformance suite every sink.Sink passes: the
// delivery rules of package sink, checked against the real system (a log
// writer, an HTTP endpoint, a Kafka broker, an SQS emulator).
package sinktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/freshetproj/freshet/pkg/sink"
)

// System is one fresh destination of a sink's system — a new topic, queue
// or endpoint — for one test.
type System struct {
	// Open connects a new Sink to the destination.
	Open func(t testing.TB) sink.Sink
	// Held returns the events the destination holds so far, read back the
	// way the system's consumers read them.
	Held func(t testing.TB) []*cloudevent.Event
	// Within bounds how long written events take to be readable. Default
	// 10s.
	Within time.Duration
}

// Factory makes a fresh System for each test.
type Factory func(t testing.TB) *System

// Run runs the suite.
func Run(t *testing.T, fresh Factory) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, sys *System)
	}{
		{"WritesEveryEventIntact", intact},
		{"ConcurrentWritesAllHeld", concurrent},
		{"WriteAfterCloseFails", afterClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := fresh(t)
			if sys.Within <= 0 {
				sys.Within = 10 * time.Second
			}
			tc.test(t, sys)
		})
	}
}

func events(prefix string, n int) []*cloudevent.Event {
	out := make([]*cloudevent.Event, n)
	for i := range out {
		e := &cloudevent.Event{
			SpecVersion:     "1.0",
			ID:              fmt.Sprintf("%s-%d", prefix, i),
			Source:          "/sinktest",
			Type:            "dev.freshet.sinktest",
			Subject:         fmt.Sprintf("item-%d", i),
			DataContentType: "application/json",
			Data:            fmt.Appendf(nil, `{"n":%d}`, i),
		}
		e.SetExtension("sequence", fmt.Sprint(i))
		e.SetExtension("partitionkey", fmt.Sprintf("key-%d", i%3))
		out[i] = e
	}
	return out
}

func open(t *testing.T, sys *System) sink.Sink {
	t.Helper()
	s := sys.Open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitHeld waits until the destination holds every id of want and
// returns what it holds, by id.
func waitHeld(t *testing.T, sys *System, want []*cloudevent.Event) map[string]*cloudevent.Event {
	t.Helper()
	var held map[string]*cloudevent.Event
	missing := len(want)
	for deadline := time.Now().Add(sys.Within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		held = map[string]*cloudevent.Event{}
		for _, e := range sys.Held(t) {
			held[e.ID] = e
		}
		missing = 0
		for _, e := range want {
			if held[e.ID] == nil {
				missing++
			}
		}
		if missing == 0 {
			return held
		}
	}
	t.Fatalf("after %v the destination lacks %d of %d events written", sys.Within, missing, len(want))
	return nil
}

// intact: every event written is held with its attributes, extensions and
// data (rules 1 and 4).
func intact(t *testing.T, sys *System) {
	s := open(t, sys)
	sent := events("intact", 10)
	if err := s.Write(context.Background(), sent); err != nil {
		t.Fatalf("write: %v", err)
	}
	held := waitHeld(t, sys, sent)
	for _, want := range sent {
		got := held[want.ID]
		for _, attr := range []string{"specversion", "source", "type", "subject", "datacontenttype", "sequence", "partitionkey"} {
			w, _ := want.Get(attr)
			if g, _ := got.Get(attr); g != w {
				t.Errorf("event %s: %s = %q, want %q", want.ID, attr, g, w)
			}
		}
		if !bytes.Equal(got.Data, want.Data) {
			t.Errorf("event %s: data %q, want %q", want.ID, got.Data, want.Data)
		}
	}
}

// concurrent: writes from several goroutines at once are all held (rule 5).
func concurrent(t *testing.T, sys *System) {
	s := open(t, sys)
	var all []*cloudevent.Event
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		batch := events(fmt.Sprintf("c%d", w), 25)
		all = append(all, batch...)
		wg.Go(func() {
			if err := s.Write(context.Background(), batch); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("write: %v", err)
	}
	waitHeld(t, sys, all)
}

// afterClose: a closed sink refuses to write (rule 5), so a dispatcher
// never acks events it did not write.
func afterClose(t *testing.T, sys *System) {
	s := sys.Open(t)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Write(context.Background(), events("closed", 1)); err == nil {
		t.Fatal("a closed sink wrote without error")
	}
}

// WantFailure checks err is a *delivery.Failure, retriable or not, whose
// message says what (rule 3): for sinks' own tests of their failures.
func WantFailure(t testing.TB, err error, retriable bool, what string) {
	t.Helper()
	var f *delivery.Failure
	switch {
	case !errors.As(err, &f):
		t.Errorf("error %v (%T), want a *delivery.Failure", err, err)
	case f.Retriable() != retriable:
		t.Errorf("failure %v: retriable %v, want %v", f, f.Retriable(), retriable)
	case !strings.Contains(f.Error(), what):
		t.Errorf("failure %v does not say %q", f, what)
	}
}
