package cloudevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// parseStructured parses one event in the JSON format and validates it.
func parseStructured(body []byte) (*Event, error) {
	if !utf8.Valid(body) {
		return nil, invalid("", "invalid JSON: not valid UTF-8")
	}
	var raw json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, invalid("", "invalid JSON: %s", jsonProblem(err))
	}
	return parseObject(raw)
}

// parseBatch parses a JSON array of events and validates each; errors carry
// the index of the event at fault.
func parseBatch(body []byte) ([]*Event, error) {
	if !utf8.Valid(body) {
		return nil, invalid("", "invalid JSON: not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] != '[' {
		return nil, invalid("", "a batch must be a JSON array of events")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, invalid("", "invalid JSON: %s", jsonProblem(err))
	}
	events := make([]*Event, len(raws))
	for i, raw := range raws {
		e, err := parseObject(raw)
		if err != nil {
			return nil, inBatch(err, i)
		}
		events[i] = e
	}
	return events, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// parseObject parses one JSON object (already known to be valid JSON) as an
// event.
func parseObject(raw []byte) (*Event, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return nil, invalid("", "an event must be a JSON object, got %s", jsonKind(raw))
	}
	e := &Event{}
	seen := make(map[string]bool, 8)
	var data, data64 json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("", "invalid JSON: %s", jsonProblem(err))
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, invalid(name, "invalid JSON: %s", jsonProblem(err))
		}
		if seen[name] {
			return nil, invalid(name, "appears more than once")
		}
		seen[name] = true
		value = bytes.TrimSpace(value)
		if string(value) == "null" {
			continue // null means absent
		}
		if err := e.setJSON(name, value, &data, &data64); err != nil {
			return nil, err
		}
	}
	if err := e.setJSONData(data, data64); err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// setJSON sets one member of a JSON-format event, keeping data members aside.
func (e *Event) setJSON(name string, value json.RawMessage, data, data64 *json.RawMessage) error {
	var dst *string
	switch name {
	case "data":
		*data = value
		return nil
	case "data_base64":
		*data64 = value
		return nil
	case "specversion":
		dst = &e.SpecVersion
	case "id":
		dst = &e.ID
	case "source":
		dst = &e.Source
	case "type":
		dst = &e.Type
	case "subject":
		dst = &e.Subject
	case "time":
		dst = &e.Time
	case "datacontenttype":
		dst = &e.DataContentType
	case "dataschema":
		dst = &e.DataSchema
	}
	if dst != nil {
		if value[0] != '"' {
			return invalid(name, "must be a JSON string, got %s", jsonKind(value))
		}
		if err := json.Unmarshal(value, dst); err != nil {
			return invalid(name, "invalid JSON string: %s", err)
		}
		return nil
	}
	v, err := extensionValue(name, value)
	if err != nil {
		return err
	}
	e.SetExtension(name, v)
	return nil
}

// extensionValue returns the canonical string of a JSON extension value: a
// string, an integer or a boolean.
func extensionValue(name string, value json.RawMessage) (string, error) {
	switch value[0] {
	case '"':
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return "", invalid(name, "invalid JSON string: %s", err)
		}
		return s, nil
	case 't', 'f':
		return string(value), nil
	case '{', '[':
		return "", invalid(name, "extension value must be a string, integer or boolean, got %s", jsonKind(value))
	}
	n, err := strconv.ParseInt(string(value), 10, 32)
	if err != nil {
		return "", invalid(name, "extension value %s is not a 32-bit integer", value)
	}
	return strconv.FormatInt(n, 10), nil
}

// setJSONData sets Data from the data or data_base64 member.
func (e *Event) setJSONData(data, data64 json.RawMessage) error {
	switch {
	case data != nil && data64 != nil:
		return invalid("data", `"data" and "data_base64" must not both be present`)
	case data64 != nil:
		var s string
		if data64[0] != '"' {
			return invalid("data_base64", "must be a JSON string, got %s", jsonKind(data64))
		}
		if err := json.Unmarshal(data64, &s); err != nil {
			return invalid("data_base64", "invalid JSON string: %s", err)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return invalid("data_base64", "invalid base64: %s", err)
		}
		e.Data = b
	case data != nil:
		if data[0] == '"' && e.DataContentType != "" && !isJSONMediaType(e.DataContentType) {
			var s string
			if err := json.Unmarshal(data, &s); err != nil {
				return invalid("data", "invalid JSON string: %s", err)
			}
			e.Data = append(make([]byte, 0, len(s)), s...)
		} else {
			e.Data = data
		}
	}
	return nil
}

// jsonKind names the kind of a JSON value by its first byte.
func jsonKind(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
