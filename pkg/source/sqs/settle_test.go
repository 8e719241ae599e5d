package sqs

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestDueForExtension(t *testing.T) {
	now := time.Unix(1000, 0)
	const vt = 30 * time.Second
	msg := func(left time.Duration, lost bool) *message {
		return &message{visibleUntil: now.Add(left), lost: lost}
	}
	for _, c := range []struct {
		name string
		m    *message
		due  bool
	}{
		{"just received", msg(vt, false), false},
		{"more than 2/3 left", msg(21*time.Second, false), false},
		{"less than 2/3 left", msg(19*time.Second, false), true},
		{"run out", msg(-time.Second, false), true},
		{"lost: not ours any more", msg(time.Second, true), false},
	} {
		if got := len(dueForExtension([]*message{c.m}, now, vt)) == 1; got != c.due {
			t.Errorf("%s: due %v, want %v", c.name, got, c.due)
		}
	}
}

// TestFlushDeletesPerEntryFailures: an entry SQS failed on its side is
// sent again; one whose receipt handle SQS refuses is dropped (the message
// comes back; its dedup id lets the buffer drop it).
func TestFlushDeletesPerEntryFailures(t *testing.T) {
	f, _ := queueOf(3)
	var calls [][]string
	f.del = func(in *awssqs.DeleteMessageBatchInput) (*awssqs.DeleteMessageBatchOutput, error) {
		var handles []string
		for _, e := range in.Entries {
			handles = append(handles, aws.ToString(e.ReceiptHandle))
		}
		calls = append(calls, handles)
		if len(calls) > 1 {
			return &awssqs.DeleteMessageBatchOutput{}, nil
		}
		return &awssqs.DeleteMessageBatchOutput{Failed: []types.BatchResultErrorEntry{
			{Id: in.Entries[0].Id, Code: aws.String("InternalError"), SenderFault: false},
			{Id: in.Entries[1].Id, Code: aws.String("ReceiptHandleIsInvalid"), SenderFault: true},
		}}, nil
	}
	s := openFake(t, f)
	ms, _ := s.Read(t.Context(), 3, time.Second)
	s.cancel() // stop the flusher: this test flushes
	s.bg.Wait()
	for _, m := range ms {
		if err := m.Ack(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.flushDeletes(t.Context()); err == nil {
		t.Error("first flush: no error, want InternalError")
	}
	if err := s.flushDeletes(t.Context()); err != nil {
		t.Errorf("second flush: %v", err)
	}
	want := [][]string{{"r0", "r1", "r2"}, {"r0"}}
	if !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("DeleteMessageBatch calls %v, want %v", calls, want)
	}
}
