package sqs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/freshetproj/freshet/pkg/source"
)

func TestWaitSeconds(t *testing.T) {
	for _, c := range []struct {
		maxWait time.Duration
		want    int32
	}{
		{-time.Second, 0}, {0, 0}, {time.Nanosecond, 1}, {500 * time.Millisecond, 1},
		{time.Second, 1}, {1500 * time.Millisecond, 2}, {20 * time.Second, 20}, {time.Minute, 20},
	} {
		if got := waitSeconds(c.maxWait); got != c.want {
			t.Errorf("waitSeconds(%v) = %d, want %d", c.maxWait, got, c.want)
		}
	}
}

func TestVisibilitySeconds(t *testing.T) {
	for _, c := range []struct {
		delay time.Duration
		want  int32
	}{
		{-time.Second, 0}, {0, 0}, {time.Millisecond, 1}, {2 * time.Second, 2},
		{2100 * time.Millisecond, 3}, {24 * time.Hour, 43200},
	} {
		if got := visibilitySeconds(c.delay); got != c.want {
			t.Errorf("visibilitySeconds(%v) = %d, want %d", c.delay, got, c.want)
		}
	}
}

// queueOf serves n messages, as many per ReceiveMessage as asked, and
// records each call's MaxNumberOfMessages and WaitTimeSeconds.
func queueOf(n int) (*fakeSQS, *[][2]int32) {
	var mu sync.Mutex
	var calls [][2]int32
	next := 0
	f := &fakeSQS{receive: func(in *awssqs.ReceiveMessageInput) (*awssqs.ReceiveMessageOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, [2]int32{in.MaxNumberOfMessages, in.WaitTimeSeconds})
		k := min(int(in.MaxNumberOfMessages), n-next)
		out := &awssqs.ReceiveMessageOutput{Messages: messages(next, k)}
		next += k
		return out, nil
	}}
	return f, &calls
}

// TestReadFillsUpToMax: after a long poll, Read fills up to max with polls
// that do not wait, 10 at most each.
func TestReadFillsUpToMax(t *testing.T) {
	f, calls := queueOf(25)
	s := openFake(t, f)
	got, err := s.Read(t.Context(), 22, time.Second)
	if err != nil || len(got) != 22 {
		t.Fatalf("Read(22) = %d messages, %v; want 22", len(got), err)
	}
	if want := [][2]int32{{10, 1}, {10, 0}, {2, 0}}; !slices.Equal(*calls, want) {
		t.Errorf("ReceiveMessage calls (max, wait) = %v, want %v", *calls, want)
	}
	got, err = s.Read(t.Context(), 64, time.Second)
	if err != nil || len(got) != 3 {
		t.Fatalf("second Read = %d messages, %v; want the 3 left", len(got), err)
	}
}

// TestReadKeepsAPollThatOutlastsIt: a Read that stops waiting leaves its
// long poll under way, and the next Read gets what it received.
func TestReadKeepsAPollThatOutlastsIt(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	polls := 0
	f := &fakeSQS{receive: func(in *awssqs.ReceiveMessageInput) (*awssqs.ReceiveMessageOutput, error) {
		mu.Lock()
		polls++
		first := polls == 1
		mu.Unlock()
		if !first {
			return &awssqs.ReceiveMessageOutput{}, nil
		}
		<-release
		return &awssqs.ReceiveMessageOutput{Messages: messages(0, 2)}, nil
	}}
	s := openFake(t, f)
	for range 3 {
		if got, err := s.Read(t.Context(), 10, 20*time.Millisecond); err != nil || len(got) != 0 {
			t.Fatalf("Read while the poll waits = %d messages, %v; want none", len(got), err)
		}
	}
	close(release)
	got, err := s.Read(t.Context(), 10, 10*time.Second)
	if err != nil || len(got) != 2 {
		t.Fatalf("Read once the poll returned = %d messages, %v; want 2", len(got), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if polls != 2 { // the long poll, then one fill that found nothing
		t.Errorf("%d ReceiveMessage calls, want 2: one poll at a time", polls)
	}
}

// TestCloseSettlesEverything: Close sends the acks made before it (rule
// 3), makes unsettled messages visible at once (rule 2), and settling or
// reading after it returns ErrClosed (rule 9).
func TestCloseSettlesEverything(t *testing.T) {
	f, _ := queueOf(3)
	s := openFake(t, f)
	ms, err := s.Read(t.Context(), 3, time.Second)
	if err != nil || len(ms) != 3 {
		t.Fatalf("Read = %d messages, %v", len(ms), err)
	}
	if err := ms[0].Ack(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	slices.Sort(f.released)
	if !slices.Equal(f.deleted, []string{"r0"}) || !slices.Equal(f.released, []string{"r1", "r2"}) {
		t.Errorf("deleted %v and released %v, want [r0] and [r1 r2]", f.deleted, f.released)
	}
	for i, err := range []error{ms[1].Ack(t.Context()), ms[2].Nack(t.Context(), 0), readErr(s)} {
		if !errors.Is(err, source.ErrClosed) {
			t.Errorf("call %d after Close: %v, want ErrClosed", i, err)
		}
	}
}

func readErr(s *Source) error {
	_, err := s.Read(context.Background(), 1, time.Millisecond)
	return err
}

// TestCloseReportsDeletesNotSent: acks whose deletes keep failing are
// retried until Close gives up, and Close says so.
func TestCloseReportsDeletesNotSent(t *testing.T) {
	f, _ := queueOf(1)
	f.del = func(*awssqs.DeleteMessageBatchInput) (*awssqs.DeleteMessageBatchOutput, error) {
		return nil, errors.New("connection refused")
	}
	s := openFake(t, f)
	ms, _ := s.Read(t.Context(), 1, time.Second)
	if err := ms[0].Ack(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := s.flushAll(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 acked messages") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("flushAll: %v, want 1 acked message not deleted, with the cause", err)
	}
	f.mu.Lock()
	f.del = nil // SQS is back: Close sends it
	f.mu.Unlock()
	if err := s.Close(); err != nil || fmt.Sprint(f.deleted) != "[r0]" {
		t.Errorf("Close: %v, deleted %v; want the delete sent", err, f.deleted)
	}
}
