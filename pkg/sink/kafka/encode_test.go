package kafka

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
)

func event(ext ...string) *cloudevent.Event {
	e := &cloudevent.Event{SpecVersion: "1.0", ID: "e-1", Source: "/s", Type: "t", Subject: "héllo %20",
		DataContentType: "application/json", Data: []byte(`{"a":1}`)}
	for i := 0; i+1 < len(ext); i += 2 {
		e.SetExtension(ext[i], ext[i+1])
	}
	return e
}

func headerMap(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// TestEncode checks each mode's record, and that the source's decoder
// reads back the same event.
func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		name        string
		e           *cloudevent.Event
		mode        string
		wantKey     []byte
		wantHeaders map[string]string
		wantValue   []byte
	}{{
		name: "binary with a partition key", e: event("partitionkey", "k1", "traceparent", "00-a-b-01"), mode: "binary",
		wantKey: []byte("k1"),
		wantHeaders: map[string]string{"ce_specversion": "1.0", "ce_id": "e-1", "ce_source": "/s", "ce_type": "t",
			"ce_subject": "héllo %20", "ce_partitionkey": "k1", "ce_traceparent": "00-a-b-01", "content-type": "application/json"},
		wantValue: []byte(`{"a":1}`),
	}, {
		name: "binary is the default, no key without partitionkey", e: event(), mode: "",
		wantHeaders: map[string]string{"ce_specversion": "1.0", "ce_id": "e-1", "ce_source": "/s", "ce_type": "t",
			"ce_subject": "héllo %20", "content-type": "application/json"},
		wantValue: []byte(`{"a":1}`),
	}, {
		name: "binary without data or content type",
		e:    &cloudevent.Event{SpecVersion: "1.0", ID: "e-2", Source: "/s", Type: "t"}, mode: "binary",
		wantHeaders: map[string]string{"ce_specversion": "1.0", "ce_id": "e-2", "ce_source": "/s", "ce_type": "t"},
	}, {
		name: "structured", e: event("partitionkey", "k2"), mode: "structured",
		wantKey:     []byte("k2"),
		wantHeaders: map[string]string{"content-type": "application/cloudevents+json"},
		wantValue: func() []byte {
			b, _ := cloudevent.MarshalJSON(event("partitionkey", "k2"))
			return b
		}(),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := encode(tc.e, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantKey, r.Key); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantHeaders, headerMap(r)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantValue, r.Value); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
			r.Topic = "t"
			back := kafkasource.Decode(r, "wrapped", "")
			if diff := cmp.Diff(tc.e, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decoded back (-want +got):\n%s", diff)
			}
		})
	}
}
