package sqs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	sqsbrokers "github.com/freshetproj/freshet/test/brokers/sqs"
)

// structuredFallback: events SQS cannot carry binary style (more than 10
// attributes, an empty extension value, no data, binary data) are sent
// structured, and read back whole.
func structuredFallback(t *testing.T, em *sqsbrokers.Emulator) {
	url := em.NewQueue(t, "structured", nil)
	sent := []*cloudevent.Event{
		newEvent("many-extensions", func(e *cloudevent.Event) {
			for i := range 12 {
				e.SetExtension(fmt.Sprint("x", i), fmt.Sprint(i))
			}
		}),
		newEvent("empty-extension", func(e *cloudevent.Event) { e.SetExtension("empty", "") }),
		newEvent("no-data", func(e *cloudevent.Event) { e.DataContentType, e.Data = "", nil }),
		newEvent("binary-data", func(e *cloudevent.Event) {
			e.DataContentType, e.Data = "application/octet-stream", []byte{0, 1, 0xfe, 0xff}
		}),
		newEvent("binary-style", func(e *cloudevent.Event) { e.Subject, e.Time = "s", "2026-01-02T03:04:05.678Z" }),
	}
	if err := openSink(t, em, url).Write(t.Context(), sent); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := waitHeld(t, held(em, url), len(sent))
	for _, want := range sent {
		if diff := cmp.Diff(want, got[want.ID], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("event %s read back (-sent +read):\n%s", want.ID, diff)
		}
	}
}

// fifo: on a FIFO queue the partitionkey is the message group (else the
// source), and an event written twice is held once (deduplication id).
func fifo(t *testing.T, em *sqsbrokers.Emulator) {
	url := em.NewQueue(t, "ordered", map[string]string{"FifoQueue": "true"})
	sent := []*cloudevent.Event{
		newEvent("k1-a", func(e *cloudevent.Event) { e.SetExtension("partitionkey", "k1") }),
		newEvent("k2-a", func(e *cloudevent.Event) { e.SetExtension("partitionkey", "k2") }),
		newEvent("unkeyed", nil),
	}
	s := openSink(t, em, url)
	for range 2 { // at least once: the second write is a duplicate
		if err := s.Write(t.Context(), sent); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	client := em.Client(t)
	groups := map[string]string{} // event id -> group id
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		out, err := client.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameMessageGroupId},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageAttributes["ce_id"].StringValue)
			if _, dup := groups[id]; dup {
				t.Errorf("event %s held twice", id)
			}
			groups[id] = m.Attributes["MessageGroupId"]
			// Deleted, so a duplicate in its group could be received.
			if _, err := client.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	want := map[string]string{"k1-a": "k1", "k2-a": "k2", "unkeyed": "/sinktest"}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Errorf("group ids by event (-want +got):\n%s", diff)
	}
}

// tooLarge: an event over SQS's 1 MiB among good ones is refused for good
// (before it is sent, on both emulators) and the good ones are sent.
func tooLarge(t *testing.T, em *sqsbrokers.Emulator) {
	url := em.NewQueue(t, "toolarge", nil)
	big := newEvent("big", func(e *cloudevent.Event) { e.Data = []byte(strings.Repeat("a", 1<<20)) })
	err := openSink(t, em, url).Write(t.Context(), []*cloudevent.Event{newEvent("good-1", nil), big, newEvent("good-2", nil)})
	permanent(t, err)
	got := waitHeld(t, held(em, url), 2)
	if got["good-1"] == nil || got["good-2"] == nil || got["big"] != nil {
		t.Errorf("held %v, want good-1 and good-2", got)
	}
}

// queueSizeLimit: a queue whose MaximumMessageSize is 1 KiB. fauxqs
// refuses a larger message as AWS does, per entry with SenderFault, which
// the sink makes a permanent failure while the others are sent; ElasticMQ
// ignores the queue's limit and takes it.
func queueSizeLimit(t *testing.T, em *sqsbrokers.Emulator) {
	url := em.NewQueue(t, "small", map[string]string{"MaximumMessageSize": "1024"})
	big := newEvent("big", func(e *cloudevent.Event) { e.Data = []byte(strings.Repeat("a", 2048)) })
	err := openSink(t, em, url).Write(t.Context(), []*cloudevent.Event{newEvent("good-1", nil), big, newEvent("good-2", nil)})
	want := 2
	if em.Name == sqsbrokers.ElasticMQ {
		if err != nil {
			t.Fatalf("Write: %v; ElasticMQ used to ignore MaximumMessageSize", err)
		}
		want = 3
	} else {
		permanent(t, err)
	}
	if got := waitHeld(t, held(em, url), want); got["good-1"] == nil || got["good-2"] == nil {
		t.Errorf("held %v, want good-1 and good-2", got)
	}
}
