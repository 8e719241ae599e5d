package sqs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	sqssource "github.com/freshetproj/freshet/pkg/source/sqs"
)

const (
	// MaxMessageBytes is SQS's largest message (body and attributes), and
	// its largest batch: 1 MiB. A queue may set a smaller limit, which SQS
	// then enforces per message.
	MaxMessageBytes = 1 << 20
	// maxAttributes is how many message attributes SQS allows a message.
	maxAttributes = 10
	// maxBatch is how many entries one SendMessageBatch takes.
	maxBatch = 10
	// maxIDLen is the longest FIFO message group or deduplication id.
	maxIDLen = 128
)

// errTooLarge is why an event is refused for good before it is sent.
var errTooLarge = errors.New("message larger than SQS's 1 MiB")

// encode returns e's entry and its size as SQS counts it (body and
// attributes). An event goes binary style (sink rule 4): every attribute
// as a String attribute ce_<name>, datacontenttype as content-type, the
// data as the body. When that cannot be done — more than 10 attributes,
// an empty extension value (SQS refuses empty attribute values), no data
// or data that is not text SQS allows in a body — it goes structured: the
// event in the JSON format as the body, with content-type
// application/cloudevents+json. On a FIFO queue the group id is the
// partitionkey extension (else the event's source) and the deduplication
// id a hash of source and id, so SQS drops a resent duplicate for 5
// minutes. An error means the event can never be sent.
func encode(e *cloudevent.Event, id string, fifo bool) (types.SendMessageBatchRequestEntry, int, error) {
	entry := types.SendMessageBatchRequestEntry{Id: aws.String(id)}
	if err := e.Validate(); err != nil {
		return entry, 0, fmt.Errorf("event %s: %w", e.ID, err)
	}
	if attrs, ok := binaryAttributes(e); ok && validBody(e.Data) {
		entry.MessageBody = aws.String(string(e.Data))
		entry.MessageAttributes = attrs
	} else {
		b, err := cloudevent.MarshalJSON(e)
		if err != nil {
			return entry, 0, fmt.Errorf("event %s: %w", e.ID, err)
		}
		if !validBody(b) {
			return entry, 0, fmt.Errorf("event %s: its JSON form has characters SQS does not allow in a message", e.ID)
		}
		entry.MessageBody = aws.String(string(b))
		entry.MessageAttributes = map[string]types.MessageAttributeValue{
			sqssource.ContentTypeAttribute: stringValue(cloudevent.StructuredContentType),
		}
	}
	if fifo {
		group, _ := e.Get(sqssource.PartitionKeyExtension)
		if group == "" {
			group = e.Source
		}
		entry.MessageGroupId = aws.String(fifoID(group))
		entry.MessageDeduplicationId = aws.String(hashID(e.Source + " " + e.ID))
	}
	size := messageSize(entry)
	if size > MaxMessageBytes {
		return entry, size, fmt.Errorf("event %s: %w (%d bytes)", e.ID, errTooLarge, size)
	}
	return entry, size, nil
}

// binaryAttributes returns e's attributes as message attributes, or false
// when SQS cannot carry them so.
func binaryAttributes(e *cloudevent.Event) (map[string]types.MessageAttributeValue, bool) {
	attrs := make(map[string]types.MessageAttributeValue, maxAttributes)
	ok := true
	e.Each(func(name, value string) {
		ok = ok && value != ""
		attrs[sqssource.AttributePrefix+name] = stringValue(value)
	})
	if e.DataContentType != "" {
		attrs[sqssource.ContentTypeAttribute] = stringValue(e.DataContentType)
	}
	return attrs, ok && len(attrs) <= maxAttributes
}

func stringValue(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// validBody reports whether b can be a message body: not empty, and
// Unicode characters #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and
// #x10000-#x10FFFF only.
func validBody(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r >= 0xd800 && r < 0xe000, r == 0xfffe || r == 0xffff:
			return false
		}
	}
	return true
}

// messageSize is the size SQS counts: the body, and each attribute's
// name, data type and value.
func messageSize(e types.SendMessageBatchRequestEntry) int {
	n := len(aws.ToString(e.MessageBody))
	for name, a := range e.MessageAttributes {
		n += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
	}
	return n
}

// fifoID returns s if it can be a FIFO group id (1-128 printable ASCII
// characters), else a hash of it.
func fifoID(s string) string {
	ok := s != "" && len(s) <= maxIDLen
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] > ' ' && s[i] < 0x7f
	}
	if ok {
		return s
	}
	return hashID(s)
}

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// batches splits entries of the given sizes into SendMessageBatch calls:
// at most 10 entries and MaxMessageBytes in each. It returns the index
// ranges [start, end).
func batches(sizes []int) [][2]int {
	var out [][2]int
	start, total := 0, 0
	for i, n := range sizes {
		if i > start && (i-start == maxBatch || total+n > MaxMessageBytes) {
			out = append(out, [2]int{start, i})
			start, total = i, 0
		}
		total += n
	}
	if start < len(sizes) {
		out = append(out, [2]int{start, len(sizes)})
	}
	return out
}
