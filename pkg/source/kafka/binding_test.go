package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

var recordTime = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

type bindingCase struct {
	name    string
	key     []byte
	headers []string // name, value, name, value...
	value   []byte
	// want is the event read from r: the topic, partition and offset of a
	// plain record are known once it is produced.
	want func(r *kgo.Record) *cloudevent.Event
}

func (c bindingCase) record(topic string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Key: c.key, Value: c.value, Timestamp: recordTime}
	for i := 0; i+1 < len(c.headers); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: c.headers[i], Value: []byte(c.headers[i+1])})
	}
	return r
}

// wrapped is the event a plain record r is wrapped in, with extensions.
func wrapped(r *kgo.Record, contentType string, ext ...string) *cloudevent.Event {
	e := &cloudevent.Event{
		SpecVersion: "1.0", ID: fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset),
		Source: "/kafka/" + r.Topic, Type: "dev.freshet.kafka.record", Time: "2026-03-04T05:06:07.89Z",
		DataContentType: contentType, Data: r.Value,
	}
	for i := 0; i+1 < len(ext); i += 2 {
		e.SetExtension(ext[i], ext[i+1])
	}
	return e
}

var ceHeaders = []string{"ce_specversion", "1.0", "ce_id", "ev-1", "ce_source", "/orders", "ce_type", "order.placed"}

func headers(extra ...string) []string { return append(append([]string(nil), ceHeaders...), extra...) }

var bindingCases = []bindingCase{{
	name: "plain record with a key and a content type",
	key:  []byte("customer-7"), value: []byte("hello"), headers: []string{"content-type", "text/plain"},
	want: func(r *kgo.Record) *cloudevent.Event { return wrapped(r, "text/plain", "partitionkey", "customer-7") },
}, {
	name: "plain record without key or headers", value: []byte{0, 1, 2},
	want: func(r *kgo.Record) *cloudevent.Event { return wrapped(r, "") },
}, {
	name: "tombstone", key: []byte("gone"),
	want: func(r *kgo.Record) *cloudevent.Event { return wrapped(r, "", "partitionkey", "gone") },
}, {
	name: "plain record whose content-type is not a media type", value: []byte("x"),
	headers: []string{"content-type", "not a media type"},
	want: func(r *kgo.Record) *cloudevent.Event {
		return wrapped(r, "", "fresheterror", `attribute "datacontenttype": not a valid media type: "not a media type"`)
	},
}, {
	name: "a key that is not a CloudEvents string is not kept", key: []byte{0xff, 0x00}, value: []byte("x"),
	want: func(r *kgo.Record) *cloudevent.Event { return wrapped(r, "") },
}, {
	name: "binary mode: header values are plain UTF-8, not percent-encoded",
	key:  []byte("k1"), value: []byte(`{"total":3}`),
	headers: headers("ce_subject", "héllo wörld %20", "ce_time", "2026-01-02T03:04:05Z",
		"ce_traceparent", "00-abc-def-01", "content-type", "application/json", "other", "ignored"),
	want: func(*kgo.Record) *cloudevent.Event {
		return &cloudevent.Event{SpecVersion: "1.0", ID: "ev-1", Source: "/orders", Type: "order.placed",
			Subject: "héllo wörld %20", Time: "2026-01-02T03:04:05Z", DataContentType: "application/json",
			Extensions: map[string]string{"traceparent": "00-abc-def-01", "partitionkey": "k1"},
			Data:       []byte(`{"total":3}`)}
	},
}, {
	name: "binary mode: the key is the partitionkey", key: []byte("from-key"), value: []byte("v"),
	headers: headers("ce_partitionkey", "from-header"),
	want: func(*kgo.Record) *cloudevent.Event {
		return &cloudevent.Event{SpecVersion: "1.0", ID: "ev-1", Source: "/orders", Type: "order.placed",
			Extensions: map[string]string{"partitionkey": "from-key"}, Data: []byte("v")}
	},
}, {
	name: "structured mode", key: []byte("k2"),
	headers: []string{"content-type", "application/cloudevents+json; charset=utf-8"},
	value:   []byte(`{"specversion":"1.0","id":"s-1","source":"/s","type":"t","datacontenttype":"application/json","data":{"a":1},"ext1":"x"}`),
	want: func(*kgo.Record) *cloudevent.Event {
		return &cloudevent.Event{SpecVersion: "1.0", ID: "s-1", Source: "/s", Type: "t", DataContentType: "application/json",
			Extensions: map[string]string{"ext1": "x", "partitionkey": "k2"}, Data: []byte(`{"a":1}`)}
	},
}, {
	name: "binary mode without an id is wrapped", value: []byte("v"),
	headers: []string{"ce_specversion", "1.0", "ce_source", "/orders", "ce_type", "order.placed"},
	want: func(r *kgo.Record) *cloudevent.Event {
		return wrapped(r, "", "fresheterror", `attribute "id": required but missing`)
	},
}, {
	name: "binary mode with a header twice is wrapped", value: []byte("v"),
	headers: headers("ce_id", "ev-2"),
	want: func(r *kgo.Record) *cloudevent.Event {
		return wrapped(r, "", "fresheterror", "header ce_id appears more than once")
	},
}, {
	name: "binary mode with a bad time is wrapped", value: []byte("v"), key: []byte("k"),
	headers: headers("ce_time", "yesterday", "content-type", "text/plain"),
	want: func(r *kgo.Record) *cloudevent.Event {
		return wrapped(r, "text/plain", "fresheterror", `attribute "time": not an RFC 3339 timestamp: "yesterday"`, "partitionkey", "k")
	},
}, {
	name: "binary mode with invalid UTF-8 is wrapped", value: []byte("v"),
	headers: headers("ce_subject", "\xff"),
	want: func(r *kgo.Record) *cloudevent.Event {
		return wrapped(r, "", "fresheterror", `attribute "subject": not valid UTF-8`)
	},
}, {
	name: "structured mode that is not JSON is wrapped", value: []byte("{not json"),
	headers: []string{"content-type", "application/cloudevents+json"},
	want: func(r *kgo.Record) *cloudevent.Event {
		_, err := cloudevent.UnmarshalJSON(r.Value)
		return wrapped(r, "application/cloudevents+json", "fresheterror", err.Error())
	},
}, {
	name: "batch mode is not in the Kafka binding", value: []byte("[]"),
	headers: []string{"content-type", "application/cloudevents-batch+json"},
	want: func(r *kgo.Record) *cloudevent.Event {
		return wrapped(r, "application/cloudevents-batch+json", "fresheterror",
			`content-type "application/cloudevents-batch+json": the Kafka binding reads only single events in JSON`)
	},
}}

// TestDecode checks the binding on records made in memory.
func TestDecode(t *testing.T) {
	for _, tc := range bindingCases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.record("orders")
			r.Partition, r.Offset = 2, 41
			if diff := cmp.Diff(tc.want(r), Decode(r, "dev.freshet.kafka.record", "")); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeEventSource: a plain record's source is the configured one.
func TestDecodeEventSource(t *testing.T) {
	e := Decode(&kgo.Record{Topic: "t", Value: []byte("v")}, "my.type", "urn:my-source")
	if e.Source != "urn:my-source" || e.Type != "my.type" || e.ID != "t/0/0" || e.Time != "" {
		t.Errorf("got source %q type %q id %q time %q", e.Source, e.Type, e.ID, e.Time)
	}
	if err := e.Validate(); err != nil {
		t.Error(err)
	}
}

// TestReadsEveryKindOfRecord produces each record of the binding cases to
// kfake and reads it through a Source: the events are the same, and the
// id of a wrapped record does not change when it is read again.
func TestReadsEveryKindOfRecord(t *testing.T) {
	c := fakeCluster(t)
	topic, group := c.topic(t, 1), unique(t, "group")
	records := make([]*kgo.Record, len(bindingCases))
	for i, tc := range bindingCases {
		records[i] = tc.record(topic)
	}
	c.produce(t, records...) // sets partition and offset

	for round := range 2 { // the second source reads what the first did not ack
		s := c.open(t, c.spec(topic), group)
		got := map[int64]*cloudevent.Event{}
		sourcetest.Eventually(t, 20*time.Second, "every record read", func() (bool, string) {
			ms, err := s.Read(context.Background(), 100, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				got[m.(*message).offset] = m.Event()
			}
			return len(got) == len(records), fmt.Sprintf("%d of %d", len(got), len(records))
		})
		for i, r := range records {
			if diff := cmp.Diff(bindingCases[i].want(r), got[r.Offset]); diff != "" {
				t.Errorf("round %d, %s (-want +got):\n%s", round, bindingCases[i].name, diff)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
