package pulsar

import (
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	pulsarsource "github.com/freshetproj/freshet/pkg/source/pulsar"
)

func event(ext ...string) *cloudevent.Event {
	e := &cloudevent.Event{SpecVersion: "1.0", ID: "e-1", Source: "/s", Type: "t", Subject: "héllo %20",
		Time: "2026-01-02T03:04:05.678+01:00", DataContentType: "application/json", Data: []byte(`{"a":1}`)}
	for i := 0; i+1 < len(ext); i += 2 {
		e.SetExtension(ext[i], ext[i+1])
	}
	return e
}

// received is a message as a consumer receives it, made of what the
// sink sent: what pulsarsource.Decode reads of a message. The embedded
// nil Message panics on anything else Decode would start to use.
type received struct {
	pulsar.Message
	sent *pulsar.ProducerMessage
}

func (r received) Properties() map[string]string { return r.sent.Properties }
func (r received) Payload() []byte               { return r.sent.Payload }
func (r received) Key() string                   { return r.sent.Key }
func (r received) Topic() string                 { return "persistent://public/default/t" }
func (r received) EventTime() time.Time          { return r.sent.EventTime }

// TestEncode checks each mode's message, and that the source's decoder
// reads back the same event.
func TestEncode(t *testing.T) {
	eventTime := time.Date(2026, 1, 2, 2, 4, 5, 678e6, time.UTC)
	for _, tc := range []struct {
		name string
		e    *cloudevent.Event
		mode string
		want *pulsar.ProducerMessage
	}{{
		name: "binary with a partition key", e: event("partitionkey", "k1", "traceparent", "00-a-b-01"), mode: "binary",
		want: &pulsar.ProducerMessage{Key: "k1", EventTime: eventTime, Payload: []byte(`{"a":1}`),
			Properties: map[string]string{"ce_specversion": "1.0", "ce_id": "e-1", "ce_source": "/s", "ce_type": "t",
				"ce_subject": "héllo %20", "ce_time": "2026-01-02T03:04:05.678+01:00", "ce_partitionkey": "k1",
				"ce_traceparent": "00-a-b-01", "content-type": "application/json"}},
	}, {
		name: "binary is the default, no key without partitionkey", e: event(), mode: "",
		want: &pulsar.ProducerMessage{EventTime: eventTime, Payload: []byte(`{"a":1}`),
			Properties: map[string]string{"ce_specversion": "1.0", "ce_id": "e-1", "ce_source": "/s", "ce_type": "t",
				"ce_subject": "héllo %20", "ce_time": "2026-01-02T03:04:05.678+01:00", "content-type": "application/json"}},
	}, {
		name: "binary without data, content type or time",
		e:    &cloudevent.Event{SpecVersion: "1.0", ID: "e-2", Source: "/s", Type: "t", DataSchema: "https://x/s"}, mode: "binary",
		want: &pulsar.ProducerMessage{Properties: map[string]string{"ce_specversion": "1.0", "ce_id": "e-2",
			"ce_source": "/s", "ce_type": "t", "ce_dataschema": "https://x/s"}},
	}, {
		name: "structured", e: event("partitionkey", "k2"), mode: "structured",
		want: &pulsar.ProducerMessage{Key: "k2", EventTime: eventTime,
			Properties: map[string]string{"content-type": "application/cloudevents+json"},
			Payload: func() []byte {
				b, _ := cloudevent.MarshalJSON(event("partitionkey", "k2"))
				return b
			}()},
	}, {
		name: "a time before the epoch is no event time",
		e:    &cloudevent.Event{SpecVersion: "1.0", ID: "e-3", Source: "/s", Type: "t", Time: "1969-07-20T20:17:00Z"}, mode: "structured",
		want: &pulsar.ProducerMessage{Properties: map[string]string{"content-type": "application/cloudevents+json"},
			Payload: func() []byte {
				b, _ := cloudevent.MarshalJSON(&cloudevent.Event{SpecVersion: "1.0", ID: "e-3", Source: "/s", Type: "t", Time: "1969-07-20T20:17:00Z"})
				return b
			}()},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := encode(tc.e, tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, m, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0),
				cmpopts.IgnoreUnexported(pulsar.ProducerMessage{})); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			back := pulsarsource.Decode(received{sent: m}, "wrapped", "")
			if diff := cmp.Diff(tc.e, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decoded back (-want +got):\n%s", diff)
			}
		})
	}
}
