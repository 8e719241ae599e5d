package sqs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

func event(mod func(e *cloudevent.Event)) *cloudevent.Event {
	e := &cloudevent.Event{SpecVersion: "1.0", ID: "e-1", Source: "/orders", Type: "dev.freshet.order", DataContentType: "application/json", Data: []byte(`{"n":1}`)}
	if mod != nil {
		mod(e)
	}
	return e
}

// TestEncode: binary style when SQS can carry the event so, structured
// otherwise; FIFO ids; events that can never be sent.
func TestEncode(t *testing.T) {
	for _, c := range []struct {
		name       string
		e          *cloudevent.Event
		fifo       bool
		structured bool
		attrs      []string // binary: the attribute names
		group      string
		err        string
	}{
		{name: "binary", e: event(func(e *cloudevent.Event) { e.SetExtension("sequence", "3") }),
			attrs: []string{"ce_id", "ce_sequence", "ce_source", "ce_specversion", "ce_type", "content-type"}},
		{name: "binary, no content type", e: event(func(e *cloudevent.Event) { e.DataContentType = "" }),
			attrs: []string{"ce_id", "ce_source", "ce_specversion", "ce_type"}},
		{name: "10 attributes fit", e: event(func(e *cloudevent.Event) {
			for i := range 5 {
				e.SetExtension(fmt.Sprint("x", i), "v")
			}
		}), attrs: []string{"ce_id", "ce_source", "ce_specversion", "ce_type", "ce_x0", "ce_x1", "ce_x2", "ce_x3", "ce_x4", "content-type"}},
		{name: "11 attributes do not", structured: true, e: event(func(e *cloudevent.Event) {
			for i := range 6 {
				e.SetExtension(fmt.Sprint("x", i), "v")
			}
		})},
		{name: "an empty extension value", structured: true, e: event(func(e *cloudevent.Event) { e.SetExtension("empty", "") })},
		{name: "no data", structured: true, e: event(func(e *cloudevent.Event) { e.Data = nil })},
		{name: "binary data", structured: true, e: event(func(e *cloudevent.Event) { e.DataContentType, e.Data = "application/octet-stream", []byte{0, 1, 0xff} })},
		{name: "text with a control character", structured: true, e: event(func(e *cloudevent.Event) { e.DataContentType, e.Data = "text/plain", []byte("a\x01b") })},
		{name: "FIFO: partitionkey is the group", fifo: true, group: "customer-42",
			e:     event(func(e *cloudevent.Event) { e.SetExtension("partitionkey", "customer-42") }),
			attrs: []string{"ce_id", "ce_partitionkey", "ce_source", "ce_specversion", "ce_type", "content-type"}},
		{name: "FIFO: else the source", fifo: true, group: "/orders",
			e: event(nil), attrs: []string{"ce_id", "ce_source", "ce_specversion", "ce_type", "content-type"}},
		{name: "FIFO: a key SQS refuses is hashed", fifo: true, group: hashID("a key"),
			e:     event(func(e *cloudevent.Event) { e.SetExtension("partitionkey", "a key") }),
			attrs: []string{"ce_id", "ce_partitionkey", "ce_source", "ce_specversion", "ce_type", "content-type"}},
		{name: "invalid event", e: event(func(e *cloudevent.Event) { e.Source = "" }), err: `"source"`},
		{name: "too large", e: event(func(e *cloudevent.Event) { e.Data = []byte(strings.Repeat("a", MaxMessageBytes)) }), err: "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			entry, size, err := encode(c.e, "7", c.fifo)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("encode: %v, want an error mentioning %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if aws.ToString(entry.Id) != "7" || size != messageSize(entry) {
				t.Errorf("entry id %q size %d, want 7 and %d", aws.ToString(entry.Id), size, messageSize(entry))
			}
			ct := aws.ToString(entry.MessageAttributes["content-type"].StringValue)
			if c.structured {
				got, err := cloudevent.UnmarshalJSON([]byte(aws.ToString(entry.MessageBody)))
				if ct != cloudevent.StructuredContentType || len(entry.MessageAttributes) != 1 || err != nil {
					t.Fatalf("want structured: content-type %q, %d attributes, body parses: %v", ct, len(entry.MessageAttributes), err)
				}
				if string(got.Data) != string(c.e.Data) || !maps.Equal(got.Extensions, c.e.Extensions) {
					t.Errorf("structured body decodes to data %q extensions %v, want %q %v", got.Data, got.Extensions, c.e.Data, c.e.Extensions)
				}
			} else {
				if got := slices.Sorted(maps.Keys(entry.MessageAttributes)); !slices.Equal(got, c.attrs) {
					t.Errorf("attributes %v, want %v", got, c.attrs)
				}
				if aws.ToString(entry.MessageBody) != string(c.e.Data) || ct != c.e.DataContentType {
					t.Errorf("body %q content-type %q, want the data and datacontenttype", aws.ToString(entry.MessageBody), ct)
				}
			}
			if g := aws.ToString(entry.MessageGroupId); g != c.group {
				t.Errorf("group id %q, want %q", g, c.group)
			}
			if d := aws.ToString(entry.MessageDeduplicationId); c.fifo != (len(d) == 64) {
				t.Errorf("deduplication id %q on a FIFO queue: %v", d, c.fifo)
			}
		})
	}
	big := event(func(e *cloudevent.Event) { e.Data = make([]byte, MaxMessageBytes) })
	if _, _, err := encode(big, "1", false); !errors.Is(err, errTooLarge) {
		t.Errorf("encode of a too large event: %v, want errTooLarge", err)
	}
}

func TestValidBody(t *testing.T) {
	for body, want := range map[string]bool{
		"": false, "plain": true, "tab\tnewline\ncr\r": true, "nul\x00": false, "bell\x07": false,
		"é ✓ 😀": true, "\uE000": true, "\uFFFD": true, "\uFFFE": false, "\uFFFF": false, "\xff": false,
	} {
		if got := validBody([]byte(body)); got != want {
			t.Errorf("validBody(%q) = %v, want %v", body, got, want)
		}
	}
}

func TestBatches(t *testing.T) {
	const mib = MaxMessageBytes
	for _, c := range []struct {
		name  string
		sizes []int
		want  [][2]int
	}{
		{"none", nil, nil},
		{"one", []int{10}, [][2]int{{0, 1}}},
		{"ten in one", slices.Repeat([]int{1}, 10), [][2]int{{0, 10}}},
		{"25 in three", slices.Repeat([]int{1}, 25), [][2]int{{0, 10}, {10, 20}, {20, 25}}},
		{"1 MiB in all", []int{mib / 2, mib / 2, 1}, [][2]int{{0, 2}, {2, 3}}},
		{"large ones alone", []int{mib, 1, mib, mib}, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}}},
	} {
		if got := batches(c.sizes); !slices.Equal(got, c.want) {
			t.Errorf("%s: batches = %v, want %v", c.name, got, c.want)
		}
	}
}
