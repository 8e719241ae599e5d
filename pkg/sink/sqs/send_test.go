package sqs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

// fakeSQS fails entries as fail says (by event id and attempt), and
// records the ids of the entries sent.
type fakeSQS struct {
	mu       sync.Mutex
	fail     func(eventID string, attempt int) (code string, senderFault bool, failed bool)
	callErr  error
	attempts map[string]int
	taken    []string
	calls    int
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *awssqs.SendMessageBatchInput, _ ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.callErr != nil {
		return nil, f.callErr
	}
	out := &awssqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		id := aws.ToString(e.MessageAttributes["ce_id"].StringValue)
		f.attempts[id]++
		if code, sender, failed := f.fail(id, f.attempts[id]); failed {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String(code), SenderFault: sender})
			continue
		}
		f.taken = append(f.taken, id)
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func events(n int) []*cloudevent.Event {
	out := make([]*cloudevent.Event, n)
	for i := range out {
		out[i] = event(func(e *cloudevent.Event) { e.ID = fmt.Sprint("e", i) })
	}
	return out
}

// TestWriteFailures: what Write returns for each kind of failure, and
// what it sent (sink rules 1-3).
func TestWriteFailures(t *testing.T) {
	never := func(string, int) (string, bool, bool) { return "", false, false }
	for _, c := range []struct {
		name      string
		fail      func(id string, attempt int) (string, bool, bool)
		callErr   error
		events    []*cloudevent.Event
		permanent bool // else retriable, when an error is wanted
		ok        bool
		taken     int
		calls     int
	}{
		{name: "all taken, 25 events in 3 batches", fail: never, events: events(25), ok: true, taken: 25, calls: 3},
		{name: "an entry SQS failed once is sent again", events: events(3), ok: true, taken: 3, calls: 2,
			fail: func(id string, attempt int) (string, bool, bool) {
				return "InternalError", false, id == "e1" && attempt == 1
			}},
		{name: "an entry SQS keeps failing: retriable after 4 attempts", events: events(3), taken: 2, calls: maxSendAttempts,
			fail: func(id string, _ int) (string, bool, bool) { return "InternalError", false, id == "e1" }},
		{name: "an entry refused as the sender's fault: permanent, at once", events: events(3), permanent: true, taken: 2, calls: 1,
			fail: func(id string, _ int) (string, bool, bool) { return "InvalidParameterValue", true, id == "e1" }},
		{name: "too large for SQS: permanent, the others sent", fail: never, permanent: true, taken: 2, calls: 1,
			events: append(events(2), event(func(e *cloudevent.Event) { e.Data = make([]byte, MaxMessageBytes) }))},
		{name: "the call failed: retriable", fail: never, callErr: errors.New("connection reset"), events: events(3), calls: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSQS{fail: c.fail, callErr: c.callErr, attempts: map[string]int{}}
			err := newSink("https://sqs.example/1/q", f).Write(t.Context(), c.events)
			var failure *delivery.Failure
			switch {
			case c.ok && err != nil:
				t.Errorf("Write: %v, want nil", err)
			case !c.ok && !errors.As(err, &failure):
				t.Errorf("Write: %v, want a *delivery.Failure", err)
			case !c.ok && failure.Retriable() == c.permanent:
				t.Errorf("Write: %v: retriable %v, want %v", err, failure.Retriable(), !c.permanent)
			}
			if len(f.taken) != c.taken || f.calls != c.calls {
				t.Errorf("%d events taken in %d calls, want %d in %d", len(f.taken), f.calls, c.taken, c.calls)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	s := newSink("q", &fakeSQS{})
	_ = s.Close()
	if err := s.Write(t.Context(), events(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}
