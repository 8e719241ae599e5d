package sqs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
	sqssource "github.com/freshetproj/freshet/pkg/source/sqs"
	sqsbrokers "github.com/freshetproj/freshet/test/brokers/sqs"
)

func str(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func typed(dataType, v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String(dataType), StringValue: aws.String(v)}
}

// mappingCase is one message and the event it decodes to. For a wrapped
// message, want has no id, source or time: the test fills them in.
type mappingCase struct {
	name      string
	body      string
	attrs     map[string]types.MessageAttributeValue
	group     string // FIFO message group id
	want      *cloudevent.Event
	wrapped   bool
	wantError string // in fresheterror, when the message claimed to be an event
}

func ce(mod func(e *cloudevent.Event)) *cloudevent.Event {
	e := &cloudevent.Event{SpecVersion: "1.0", ID: "e-1", Source: "/orders", Type: "dev.freshet.order"}
	mod(e)
	return e
}

func plain(data, ct string, ext map[string]string) *cloudevent.Event {
	return &cloudevent.Event{SpecVersion: "1.0", Type: "dev.freshet.sqs.message", DataContentType: ct, Data: []byte(data), Extensions: ext}
}

var mappingCases = []mappingCase{{
	name: "plain body", body: "hello", wrapped: true,
	want: plain("hello", "", nil),
}, {
	name: "plain with a content-type; other attributes dropped", body: `{"a":1}`, wrapped: true,
	attrs: map[string]types.MessageAttributeValue{"content-type": str("application/json"), "origin": str("billing")},
	want:  plain(`{"a":1}`, "application/json", nil),
}, {
	name: "plain JSON that is not an event", body: `{"specversion":"1.0","id":"x"}`, wrapped: true,
	want: plain(`{"specversion":"1.0","id":"x"}`, "", nil),
}, {
	name: "binary", body: `{"n":1}`,
	attrs: map[string]types.MessageAttributeValue{
		"ce_specversion": str("1.0"), "ce_id": str("e-1"), "ce_source": str("/orders"),
		"ce_type": typed("String.cloudevents", "dev.freshet.order"), "ce_subject": str("o-7"),
		"ce_sequence": typed("Number", "7"), "content-type": str("application/json"),
	},
	want: ce(func(e *cloudevent.Event) {
		e.Subject, e.DataContentType, e.Data = "o-7", "application/json", []byte(`{"n":1}`)
		e.SetExtension("sequence", "7")
	}),
}, {
	name: "binary with ce_datacontenttype", body: "text",
	attrs: map[string]types.MessageAttributeValue{
		"ce_specversion": str("1.0"), "ce_id": str("e-1"), "ce_source": str("/orders"),
		"ce_type": str("dev.freshet.order"), "ce_datacontenttype": str("text/plain"),
	},
	want: ce(func(e *cloudevent.Event) { e.DataContentType, e.Data = "text/plain", []byte("text") }),
}, {
	name:  "structured by content-type",
	body:  `{"specversion":"1.0","id":"e-1","source":"/orders","type":"dev.freshet.order","partitionkey":"k","data":{"n":2}}`,
	attrs: map[string]types.MessageAttributeValue{"content-type": str("application/cloudevents+json; charset=utf-8")},
	want: ce(func(e *cloudevent.Event) {
		e.Data = []byte(`{"n":2}`)
		e.SetExtension("partitionkey", "k")
	}),
}, {
	name: "structured by its members",
	body: ` {"specversion":"1.0","id":"e-1","source":"/orders","type":"dev.freshet.order","data_base64":"AAE="}`,
	want: ce(func(e *cloudevent.Event) { e.Data = []byte{0, 1} }),
}, {
	name: "invalid binary: no source", body: "x", wrapped: true, wantError: `"source": required`,
	attrs: map[string]types.MessageAttributeValue{"ce_specversion": str("1.0"), "ce_id": str("e-1"), "ce_type": str("t")},
	want:  plain("x", "", nil),
}, {
	name: "invalid binary: a Binary attribute", body: "x", wrapped: true, wantError: "ce_id",
	attrs: map[string]types.MessageAttributeValue{
		"ce_specversion": str("1.0"), "ce_id": {DataType: aws.String("Binary"), BinaryValue: []byte("e-1")},
		"ce_source": str("/s"), "ce_type": str("t"),
	},
	want: plain("x", "", nil),
}, {
	name: "invalid structured: not JSON", body: "{nope", wrapped: true, wantError: "invalid JSON",
	attrs: map[string]types.MessageAttributeValue{"content-type": str("application/cloudevents+json")},
	want:  plain("{nope", "", nil),
}, {
	name: "invalid structured by its members: version 0.3", wrapped: true, wantError: "specversion",
	body: `{"specversion":"0.3","id":"e-1","source":"/orders","type":"t"}`,
	want: plain(`{"specversion":"0.3","id":"e-1","source":"/orders","type":"t"}`, "", nil),
}, {
	name: "a batch is not supported", body: "[]", wrapped: true, wantError: "batch",
	attrs: map[string]types.MessageAttributeValue{"content-type": str("application/cloudevents-batch+json")},
	want:  plain("[]", "", nil),
}, {
	name: "FIFO group id to partitionkey", body: "in order", group: "customer-42", wrapped: true,
	want: plain("in order", "", map[string]string{"partitionkey": "customer-42"}),
}}

// check compares a decoded event with c's; a wrapped one must have id,
// source and time as given.
func (c mappingCase) check(t *testing.T, got *cloudevent.Event, id, src, sentTime string) {
	t.Helper()
	want := c.want.Clone()
	if c.wrapped {
		want.ID, want.Source, want.Time = id, src, sentTime
	}
	got = got.Clone()
	if problem := got.Extensions[source.ErrorExtension]; c.wantError != "" {
		if !strings.Contains(problem, c.wantError) {
			t.Errorf("fresheterror %q, want it to mention %q", problem, c.wantError)
		}
		delete(got.Extensions, source.ErrorExtension)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("decoded event (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("decoded event is invalid: %v", err)
	}
}

// TestDecode: the mapping of messages as SQS gives them.
func TestDecode(t *testing.T) {
	spec := &v1alpha1.SQSSource{QueueURL: "https://sqs.eu-west-1.amazonaws.com/1/q", EventType: v1alpha1.DefaultSQSEventType}
	for _, c := range mappingCases {
		t.Run(c.name, func(t *testing.T) {
			m := types.Message{
				MessageId: aws.String("b7e1"), Body: aws.String(c.body), MessageAttributes: c.attrs,
				Attributes: map[string]string{"SentTimestamp": "1700000000123", "ApproximateReceiveCount": "1"},
			}
			if c.group != "" {
				m.Attributes["MessageGroupId"] = c.group
			}
			c.check(t, sqssource.Decode(m, spec), "b7e1", spec.QueueURL, "2023-11-14T22:13:20.123Z")
		})
	}
	t.Run("configured type and source", func(t *testing.T) {
		spec := &v1alpha1.SQSSource{QueueURL: "q", EventType: "com.example.t", EventSource: "/mine"}
		e := sqssource.Decode(types.Message{MessageId: aws.String("1"), Body: aws.String("b")}, spec)
		if e.Type != "com.example.t" || e.Source != "/mine" || e.Time != "" {
			t.Errorf("got type %q source %q time %q, want com.example.t, /mine and no time", e.Type, e.Source, e.Time)
		}
	})
}

// mappingOnEmulator sends each case's message to a queue of its own (FIFO
// for a group id: both emulators have FIFO queues) and reads it back.
func mappingOnEmulator(t *testing.T, em *sqsbrokers.Emulator) {
	client := em.Client(t)
	for _, c := range mappingCases {
		t.Run(c.name, func(t *testing.T) {
			in := &awssqs.SendMessageInput{MessageBody: aws.String(c.body), MessageAttributes: c.attrs}
			var attrs map[string]string
			if c.group != "" {
				attrs = map[string]string{"FifoQueue": "true"}
				in.MessageGroupId, in.MessageDeduplicationId = aws.String(c.group), aws.String("d1")
			}
			url := em.NewQueue(t, "mapping", attrs)
			in.QueueUrl = aws.String(url)
			before := time.Now().Add(-time.Second)
			id := sendRaw(t, client, in)
			src := openSource(t, em, url, 30*time.Second)
			m := readN(t, src, 1, 20*time.Second)[0]
			got := m.Event()
			sent, err := time.Parse(time.RFC3339Nano, got.Time)
			if c.wrapped && (err != nil || sent.Before(before) || sent.After(time.Now().Add(time.Second))) {
				t.Errorf("time %q (%v), want the SentTimestamp, about now", got.Time, err)
			}
			c.check(t, got, id, url, got.Time)
			if err := m.Ack(t.Context()); err != nil {
				t.Fatalf("ack: %v", err)
			}
		})
	}
}
