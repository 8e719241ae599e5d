package pulsar

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/freshetproj/freshet/pkg/source"
)

// fakeMessage is the part of a pulsar.Message Decode reads; calling any
// other method panics (the embedded interface is nil).
type fakeMessage struct {
	pulsar.Message
	props   map[string]string
	payload string
	key     string
}

func (m fakeMessage) Properties() map[string]string { return m.props }
func (m fakeMessage) Payload() []byte               { return []byte(m.payload) }
func (m fakeMessage) Key() string                   { return m.key }
func (m fakeMessage) Topic() string                 { return "persistent://public/default/t-partition-1" }
func (m fakeMessage) ID() pulsar.MessageID          { return pulsar.NewMessageID(7, 42, 3, 1) }
func (m fakeMessage) EventTime() time.Time          { return time.Unix(0, 0) } // as the client gives it when unset
func (m fakeMessage) PublishTime() time.Time        { return time.UnixMilli(1700000000123) }

func TestDecode(t *testing.T) {
	const plainID = "persistent://public/default/t-partition-1/7:42:3"
	tests := []struct {
		name    string
		m       fakeMessage
		want    map[string]string // attributes and extensions
		data    string
		problem string // in fresheterror
	}{
		{"binary", fakeMessage{props: map[string]string{"ce_specversion": "1.0", "ce_id": "a", "ce_source": "/s", "ce_type": "t", "ce_myext": "v", "content-type": "text/plain", "other": "x"}, payload: "hi", key: "k"},
			map[string]string{"id": "a", "source": "/s", "type": "t", "myext": "v", "datacontenttype": "text/plain", "partitionkey": "k"}, "hi", ""},
		{"structured", fakeMessage{props: map[string]string{"content-type": "application/cloudevents+json; charset=utf-8"}, payload: `{"specversion":"1.0","id":"b","source":"/s","type":"t","data":{"x":1}}`},
			map[string]string{"id": "b", "source": "/s", "type": "t"}, `{"x":1}`, ""},
		{"plain", fakeMessage{payload: "raw", key: "k2"},
			map[string]string{"id": plainID, "source": "/pulsar/persistent://public/default/t-partition-1", "type": "ty", "time": "2023-11-14T22:13:20.123Z", "partitionkey": "k2"}, "raw", ""},
		{"plain with a content type", fakeMessage{props: map[string]string{"content-type": "application/json"}, payload: "{}"},
			map[string]string{"id": plainID, "datacontenttype": "application/json"}, "{}", ""},
		{"binary missing attributes", fakeMessage{props: map[string]string{"ce_id": "c"}, payload: "x"},
			map[string]string{"id": plainID, "type": "ty"}, "x", "specversion"},
		{"malformed structured", fakeMessage{props: map[string]string{"content-type": "application/cloudevents+json"}, payload: "{"},
			map[string]string{"id": plainID}, "{", "JSON"},
		{"batch content type", fakeMessage{props: map[string]string{"content-type": "application/cloudevents-batch+json"}, payload: "[]"},
			map[string]string{"id": plainID}, "[]", "single events"},
		{"key not a CloudEvents string", fakeMessage{payload: "x", key: "a\x01b"},
			map[string]string{"id": plainID}, "x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := Decode(tc.m, "ty", "")
			for name, want := range tc.want {
				if got, _ := e.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if string(e.Data) != tc.data {
				t.Errorf("data %q, want %q", e.Data, tc.data)
			}
			problem := e.Extensions[source.ErrorExtension]
			if (tc.problem == "") != (problem == "") || !strings.Contains(problem, tc.problem) {
				t.Errorf("fresheterror %q, want one saying %q", problem, tc.problem)
			}
			if _, ok := e.Extensions["other"]; ok {
				t.Error("a property without the ce_ prefix became an extension")
			}
			if tc.name == "key not a CloudEvents string" && e.Extensions[PartitionKey] != "" {
				t.Error("a key with a control character became partitionkey")
			}
			if err := e.Validate(); err != nil {
				t.Errorf("decoded event is invalid: %v", err)
			}
		})
	}
}
