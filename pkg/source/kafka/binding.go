package kafka

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// The CloudEvents Kafka protocol binding's names.
const (
	// HeaderPrefix starts the header of each attribute in binary mode; the
	// value is the attribute's plain UTF-8 string (not percent-encoded).
	HeaderPrefix = "ce_"
	// ContentTypeHeader carries datacontenttype in binary mode, and
	// cloudevent.StructuredContentType in structured mode.
	ContentTypeHeader = "content-type"
	// PartitionKey is the extension the record key maps to.
	PartitionKey = "partitionkey"
)

// Decode reads a record in the CloudEvents Kafka binding (rule 6):
//
//   - structured mode (content-type application/cloudevents+json): the
//     value is the event in the JSON format;
//   - binary mode (any ce_ header): attributes from the ce_ headers,
//     datacontenttype from content-type, data from the value;
//   - anything else is a plain record, wrapped in an event of eventType
//     and eventSource (default /kafka/<topic>), with the id
//     <topic>/<partition>/<offset> (the same on every delivery), the
//     record's timestamp as its time and the value as its data.
//
// A record that claims to be a CloudEvent but is not a valid one is
// wrapped like a plain record, with the problem in the fresheterror
// extension: nothing is dropped. In every mode the record key becomes the
// partitionkey extension, when it is a valid CloudEvents string.
func Decode(r *kgo.Record, eventType, eventSource string) *cloudevent.Event {
	e, claimed, err := decodeEvent(r)
	if !claimed || err != nil {
		e = wrap(r, eventType, eventSource)
		if err != nil {
			e.SetExtension(source.ErrorExtension, err.Error())
		}
	}
	if r.Key != nil && cloudevent.ValidString(string(r.Key)) {
		e.SetExtension(PartitionKey, string(r.Key))
	}
	return e
}

// decodeEvent reads the event a record carries: claimed is false for a
// plain record, and err says why a claimed event is invalid.
func decodeEvent(r *kgo.Record) (e *cloudevent.Event, claimed bool, err error) {
	contentType, dup := header(r, ContentTypeHeader)
	base := mediaBase(contentType)
	switch {
	case dup:
		claimed = base == cloudevent.StructuredContentType || hasCEHeader(r)
		return nil, claimed, fmt.Errorf("header %s appears more than once", ContentTypeHeader)
	case base == cloudevent.StructuredContentType:
		e, err = cloudevent.UnmarshalJSON(r.Value)
		return e, true, err
	case strings.HasPrefix(base, "application/cloudevents"):
		return nil, true, fmt.Errorf("content-type %q: the Kafka binding reads only single events in JSON", contentType)
	case !hasCEHeader(r):
		return nil, false, nil
	}
	e = &cloudevent.Event{Data: r.Value}
	seen := map[string]bool{}
	for _, h := range r.Headers {
		name, ok := strings.CutPrefix(h.Key, HeaderPrefix)
		if !ok {
			continue
		}
		if seen[name] {
			return nil, true, fmt.Errorf("header %s appears more than once", h.Key)
		}
		seen[name] = true
		e.Set(name, string(h.Value))
	}
	if contentType != "" {
		e.DataContentType = contentType
	}
	return e, true, e.Validate()
}

// wrap makes the event of a plain record.
func wrap(r *kgo.Record, eventType, eventSource string) *cloudevent.Event {
	if eventSource == "" {
		eventSource = "/kafka/" + r.Topic
	}
	e := &cloudevent.Event{
		SpecVersion: cloudevent.SpecVersion,
		ID:          r.Topic + "/" + strconv.FormatInt(int64(r.Partition), 10) + "/" + strconv.FormatInt(r.Offset, 10),
		Source:      eventSource,
		Type:        eventType,
		Data:        r.Value,
	}
	if !r.Timestamp.IsZero() && r.Timestamp.UnixMilli() >= 0 {
		e.Time = r.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	if ct, _ := header(r, ContentTypeHeader); ct != "" {
		e.DataContentType = ct
		if err := e.Validate(); err != nil { // the header is not a media type
			e.DataContentType = ""
			e.SetExtension(source.ErrorExtension, err.Error())
		}
	}
	return e
}

// header returns the value of the record's header named key, and whether
// there is more than one.
func header(r *kgo.Record, key string) (value string, dup bool) {
	n := 0
	for _, h := range r.Headers {
		if h.Key == key {
			if n == 0 {
				value = string(h.Value)
			}
			n++
		}
	}
	return value, n > 1
}

func hasCEHeader(r *kgo.Record) bool {
	for _, h := range r.Headers {
		if strings.HasPrefix(h.Key, HeaderPrefix) {
			return true
		}
	}
	return false
}

// mediaBase is the lower-case type/subtype of a media type.
func mediaBase(s string) string {
	s, _, _ = strings.Cut(s, ";")
	return strings.ToLower(strings.TrimSpace(s))
}
