package pulsar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// How CloudEvents travel in Pulsar messages, shared with package
// sink/pulsar. Pulsar has no CloudEvents binding of its own; this one
// follows the Kafka binding, with message properties for headers.
const (
	// PropertyPrefix starts the property of each attribute in binary
	// mode; the value is the attribute's plain string.
	PropertyPrefix = "ce_"
	// ContentTypeProperty carries datacontenttype in binary mode, and
	// cloudevent.StructuredContentType in structured mode.
	ContentTypeProperty = "content-type"
	// PartitionKey is the extension the message key maps to.
	PartitionKey = "partitionkey"
)

// Decode reads a message (rule 6):
//
//   - structured mode (content-type application/cloudevents+json): the
//     payload is the event in the JSON format;
//   - binary mode (any ce_ property): attributes from the ce_ properties,
//     datacontenttype from content-type, data from the payload;
//   - anything else is a plain message, wrapped in an event of eventType
//     and eventSource (default /pulsar/<topic>), with the id
//     <topic>/<ledger>:<entry>:<batch index> (the same on every
//     delivery), the event time (else the publish time) as its time and
//     the payload as its data.
//
// A message that claims to be a CloudEvent but is not a valid one is
// wrapped like a plain message, with the problem in the fresheterror
// extension: nothing is dropped. In every mode the message key becomes
// the partitionkey extension, when it is a valid CloudEvents string.
func Decode(m pulsar.Message, eventType, eventSource string) *cloudevent.Event {
	e, claimed, err := decodeEvent(m)
	if !claimed || err != nil {
		e = wrap(m, eventType, eventSource)
		if err != nil {
			e.SetExtension(source.ErrorExtension, err.Error())
		}
	}
	if key := m.Key(); key != "" && cloudevent.ValidString(key) {
		e.SetExtension(PartitionKey, key)
	}
	return e
}

// decodeEvent reads the event a message carries: claimed is false for a
// plain message, and err says why a claimed event is invalid.
func decodeEvent(m pulsar.Message) (e *cloudevent.Event, claimed bool, err error) {
	props := m.Properties()
	contentType := props[ContentTypeProperty]
	base, _, _ := strings.Cut(contentType, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	switch {
	case base == cloudevent.StructuredContentType:
		e, err = cloudevent.UnmarshalJSON(m.Payload())
		return e, true, err
	case strings.HasPrefix(base, "application/cloudevents"):
		return nil, true, fmt.Errorf("content-type %q: Freshet reads only single events in JSON from Pulsar", contentType)
	case !hasCEProperty(props):
		return nil, false, nil
	}
	e = &cloudevent.Event{Data: m.Payload()}
	for k, v := range props {
		if name, ok := strings.CutPrefix(k, PropertyPrefix); ok {
			e.Set(name, v)
		}
	}
	if contentType != "" {
		e.DataContentType = contentType
	}
	return e, true, e.Validate()
}

// wrap makes the event of a plain message.
func wrap(m pulsar.Message, eventType, eventSource string) *cloudevent.Event {
	if eventSource == "" {
		eventSource = "/pulsar/" + m.Topic()
	}
	e := &cloudevent.Event{
		SpecVersion: cloudevent.SpecVersion,
		ID:          MessageKey(m),
		Source:      eventSource,
		Type:        eventType,
		Data:        m.Payload(),
	}
	t := m.EventTime()
	if t.UnixMilli() <= 0 { // unset: the client gives the Unix epoch
		t = m.PublishTime()
	}
	if !t.IsZero() && t.UnixMilli() >= 0 {
		e.Time = t.UTC().Format(time.RFC3339Nano)
	}
	if ct := m.Properties()[ContentTypeProperty]; ct != "" {
		e.DataContentType = ct
		if err := e.Validate(); err != nil { // the property is not a media type
			e.DataContentType = ""
			e.SetExtension(source.ErrorExtension, err.Error())
		}
	}
	return e
}

// MessageKey names a message uniquely and the same on every delivery:
// <topic>/<ledger>:<entry>:<batch index>. The topic of a partitioned
// topic's message names its partition.
func MessageKey(m pulsar.Message) string {
	id := m.ID()
	return m.Topic() + "/" + strconv.FormatInt(id.LedgerID(), 10) + ":" +
		strconv.FormatInt(id.EntryID(), 10) + ":" + strconv.FormatInt(int64(id.BatchIdx()), 10)
}

func hasCEProperty(props map[string]string) bool {
	for k := range props {
		if strings.HasPrefix(k, PropertyPrefix) {
			return true
		}
	}
	return false
}
