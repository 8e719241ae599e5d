package cloudevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// MarshalJSON encodes e in the structured JSON format, after validating it.
// Data is written as JSON when datacontenttype is JSON (application/json,
// */*+json, or absent) and Data is valid JSON; as a JSON string when
// datacontenttype is text/* and Data is valid UTF-8; otherwise as
// data_base64.
func MarshalJSON(e *Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("cloudevent: invalid event: %w", err)
	}
	return appendEventJSON(make([]byte, 0, 256+len(e.Data)*4/3), e), nil
}

// MarshalBatch encodes events as a JSON array in the batch format, after
// validating each. No events encode as [].
func MarshalBatch(events []*Event) ([]byte, error) {
	size := 2
	for i, e := range events {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("cloudevent: invalid event: %w", inBatch(err, i))
		}
		size += 256 + len(e.Data)*4/3
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEventJSON(b, e)
	}
	return append(b, ']'), nil
}

func appendEventJSON(b []byte, e *Event) []byte {
	b = append(b, `{"specversion":`...)
	b = appendJSONString(b, e.SpecVersion)
	members := [...]struct{ name, value string }{
		{"id", e.ID}, {"source", e.Source}, {"type", e.Type}, {"subject", e.Subject},
		{"time", e.Time}, {"datacontenttype", e.DataContentType}, {"dataschema", e.DataSchema},
	}
	for _, m := range members {
		if m.value != "" {
			b = appendMember(b, m.name, m.value)
		}
	}
	names := make([]string, 0, len(e.Extensions))
	for name := range e.Extensions {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b = appendMember(b, name, e.Extensions[name])
	}
	if e.Data != nil {
		ct := e.DataContentType
		switch {
		case (ct == "" || isJSONMediaType(ct)) && json.Valid(e.Data):
			b = append(b, `,"data":`...)
			b = appendCompactJSON(b, e.Data)
		case isTextMediaType(ct) && utf8.Valid(e.Data):
			b = append(b, `,"data":`...)
			b = appendJSONString(b, string(e.Data))
		default:
			b = append(b, `,"data_base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, e.Data)
			b = append(b, '"')
		}
	}
	return append(b, '}')
}

func appendMember(b []byte, name, value string) []byte {
	b = append(b, ',')
	b = appendJSONString(b, name)
	b = append(b, ':')
	return appendJSONString(b, value)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendCompactJSON appends valid JSON without insignificant white space,
// so that an event in structured mode is always one line (log sinks and
// JSON-lines consumers rely on it).
func appendCompactJSON(b, data []byte) []byte {
	if !bytes.ContainsAny(data, "\n\r\t ") {
		return append(b, data...)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return append(b, data...) // unreachable: data is valid JSON
	}
	return append(b, buf.Bytes()...)
}
