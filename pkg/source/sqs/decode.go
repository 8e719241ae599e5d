package sqs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/source"
)

// The CloudEvents binding of SQS messages, shared with package sink/sqs.
const (
	// AttributePrefix starts the names of the message attributes that carry
	// CloudEvents attributes, binary style: ce_id, ce_type, ce_sequence...
	AttributePrefix = "ce_"
	// ContentTypeAttribute carries datacontenttype (ce_datacontenttype is
	// read too); StructuredContentType there says the body is a whole
	// event in the JSON format.
	ContentTypeAttribute = "content-type"
	// PartitionKeyExtension is the extension the group id of a plain
	// message from a FIFO queue goes to, and the one package sink/sqs
	// sends as the group id.
	PartitionKeyExtension = "partitionkey"
)

// Decode returns the CloudEvent a received message carries (rule 6):
//
//   - content-type application/cloudevents+json: the body is the event in
//     the JSON format (structured);
//   - any ce_ attribute (of type String or Number, with any custom
//     suffix): the event's attributes, with datacontenttype from
//     ce_datacontenttype or content-type, and the body as data (binary);
//   - a body that is a JSON object with specversion, id, source and type:
//     the event in the JSON format, without a content-type;
//   - anything else is plain: wrapped in an event of spec's EventType and
//     EventSource (default the queue URL), whose id is the MessageId (the
//     same on every delivery), time the SentTimestamp, datacontenttype the
//     content-type if any, data the body, and partitionkey the FIFO
//     message group id. Other message attributes are not kept.
//
// A message that claims to be an event in one of the first three ways but
// is not a valid one is wrapped as plain, with the problem in the
// fresheterror extension: nothing is dropped.
func Decode(m types.Message, spec *v1alpha1.SQSSource) *cloudevent.Event {
	body := aws.ToString(m.Body)
	ct, _ := stringAttr(m.MessageAttributes, ContentTypeAttribute)
	var e *cloudevent.Event
	var err error
	switch {
	case cloudevent.ModeOf(ct) == cloudevent.Structured:
		e, err = cloudevent.UnmarshalJSON([]byte(body))
	case cloudevent.ModeOf(ct) == cloudevent.Batch:
		err = errors.New("a batch of events in one message is not supported")
	case hasCEAttributes(m.MessageAttributes):
		e, err = decodeBinary(m.MessageAttributes, ct, body)
	case looksStructured(body):
		e, err = cloudevent.UnmarshalJSON([]byte(body))
	default:
		return wrap(m, spec, ct, "")
	}
	if err != nil {
		return wrap(m, spec, ct, err.Error())
	}
	return e
}

// decodeBinary reads an event from ce_ attributes and the body.
func decodeBinary(attrs map[string]types.MessageAttributeValue, ct, body string) (*cloudevent.Event, error) {
	e := &cloudevent.Event{DataContentType: ct, Data: []byte(body)}
	for name := range attrs {
		attr, ok := strings.CutPrefix(name, AttributePrefix)
		if !ok {
			continue
		}
		v, ok := stringAttr(attrs, name)
		if !ok {
			return nil, fmt.Errorf("message attribute %s: a CloudEvents attribute must be of type String or Number", name)
		}
		e.Set(attr, v)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// wrap makes the event of a plain message, with problem (if any) in the
// fresheterror extension.
func wrap(m types.Message, spec *v1alpha1.SQSSource, ct, problem string) *cloudevent.Event {
	e := &cloudevent.Event{
		SpecVersion: cloudevent.SpecVersion,
		ID:          aws.ToString(m.MessageId),
		Source:      spec.EventSource,
		Type:        spec.EventType,
		Time:        sentTime(m.Attributes),
		Data:        []byte(aws.ToString(m.Body)),
	}
	if e.Source == "" {
		e.Source = spec.QueueURL
	}
	if e.Type == "" {
		e.Type = v1alpha1.DefaultSQSEventType
	}
	if g := m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]; g != "" {
		e.SetExtension(PartitionKeyExtension, g)
	}
	if problem != "" {
		e.SetExtension(source.ErrorExtension, problem)
	}
	if ct != "" && cloudevent.ModeOf(ct) == cloudevent.Binary {
		e.DataContentType = ct
		if e.Validate() != nil {
			e.DataContentType = "" // not a media type: dropped
		}
	}
	if problem != "" && e.Validate() != nil {
		e.SetExtension(source.ErrorExtension, strconv.QuoteToASCII(problem))
	}
	return e
}

// stringAttr returns the value of a String or Number attribute (any custom
// type suffix, as in "String.json").
func stringAttr(attrs map[string]types.MessageAttributeValue, name string) (string, bool) {
	a, ok := attrs[name]
	if !ok || a.StringValue == nil {
		return "", false
	}
	base, _, _ := strings.Cut(aws.ToString(a.DataType), ".")
	return *a.StringValue, base == "String" || base == "Number"
}

func hasCEAttributes(attrs map[string]types.MessageAttributeValue) bool {
	for name := range attrs {
		if strings.HasPrefix(name, AttributePrefix) {
			return true
		}
	}
	return false
}

// looksStructured reports whether body is a JSON object with the members
// every event has: it claims to be an event in the JSON format.
func looksStructured(body string) bool {
	b := bytes.TrimLeft([]byte(body), " \t\r\n")
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"specversion"`)) {
		return false
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(b, &members) != nil {
		return false
	}
	for _, name := range [...]string{"specversion", "id", "source", "type"} {
		if _, ok := members[name]; !ok {
			return false
		}
	}
	return true
}

// sentTime is the SentTimestamp (ms since the epoch) in RFC 3339, or "".
func sentTime(sys map[string]string) string {
	ms, err := strconv.ParseInt(sys[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	if err != nil {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
