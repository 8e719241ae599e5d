package cloudevent

import (
	"errors"
	"strings"
	"testing"
)

// validEvent returns a fresh event that passes Validate.
func validEvent() *Event {
	return &Event{
		SpecVersion: "1.0", ID: "e-1", Source: "/sensors/tn-1", Type: "dev.freshet.test",
		Extensions:      map[string]string{"traceparent": "00-abc", "partition": "3"},
		DataContentType: "application/json", Data: []byte(`{"text":"hi"}`),
	}
}

// wantInvalid fails unless err is (or wraps) a *ValidationError for attr
// whose Problem contains problem.
func wantInvalid(t *testing.T, err error, index int, attr, problem string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError for %q", err, err, attr)
	}
	if ve.Index != index || ve.Attribute != attr || !strings.Contains(ve.Problem, problem) {
		t.Fatalf("error = {Index:%d Attribute:%q Problem:%q}, want {%d %q ...%q...}", ve.Index, ve.Attribute, ve.Problem, index, attr, problem)
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := map[string]func(e *Event){
		"minimal":            func(e *Event) { *e = Event{SpecVersion: "1.0", ID: "1", Source: "s", Type: "t"} },
		"full":               func(e *Event) {},
		"absolute source":    func(e *Event) { e.Source = "https://example.com/a/b?x=1#frag" },
		"urn source":         func(e *Event) { e.Source = "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66" },
		"ipv6 source":        func(e *Event) { e.Source = "http://[::1]:8080/x" },
		"percent source":     func(e *Event) { e.Source = "/a%20b" },
		"time":               func(e *Event) { e.Time = "2024-03-01T12:00:00Z" },
		"time offset nanos":  func(e *Event) { e.Time = "2024-03-01T12:00:00.123456789+05:30" },
		"time lower case":    func(e *Event) { e.Time = "2024-03-01t12:00:00z" },
		"dataschema":         func(e *Event) { e.DataSchema = "https://schemas.example.com/v1.json" },
		"content type param": func(e *Event) { e.DataContentType = `text/plain; charset="utf-8"` },
		"content type case":  func(e *Event) { e.DataContentType = "Application/JSON;charset=UTF-8" },
		"unicode id":         func(e *Event) { e.ID = "ключ-😀" },
		"empty ext value":    func(e *Event) { e.SetExtension("empty", "") },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			e := validEvent()
			mutate(e)
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name, attr, problem string
		mutate              func(e *Event)
	}{
		{"no specversion", "specversion", "required but missing", func(e *Event) { e.SpecVersion = "" }},
		{"old specversion", "specversion", `unsupported version "0.3"`, func(e *Event) { e.SpecVersion = "0.3" }},
		{"no id", "id", "required but missing", func(e *Event) { e.ID = "" }},
		{"no source", "source", "required but missing", func(e *Event) { e.Source = "" }},
		{"no type", "type", "required but missing", func(e *Event) { e.Type = "" }},
		{"source with space", "source", "not a URI-reference", func(e *Event) { e.Source = "/a b" }},
		{"source bad scheme", "source", "invalid scheme", func(e *Event) { e.Source = "1http://x" }},
		{"source bad escape", "source", "malformed percent-escape", func(e *Event) { e.Source = "/a%2" }},
		{"source non-ascii", "source", "not allowed", func(e *Event) { e.Source = "/ä" }},
		{"bad time", "time", "not an RFC 3339 timestamp", func(e *Event) { e.Time = "2024-03-01 12:00:00" }},
		{"time comma", "time", "not an RFC 3339 timestamp", func(e *Event) { e.Time = "2024-03-01T12:00:00,5Z" }},
		{"time no zone", "time", "not an RFC 3339 timestamp", func(e *Event) { e.Time = "2024-03-01T12:00:00" }},
		{"relative dataschema", "dataschema", "missing scheme", func(e *Event) { e.DataSchema = "/schemas/v1" }},
		{"content type no subtype", "datacontenttype", "not a valid media type", func(e *Event) { e.DataContentType = "text" }},
		{"content type bad param", "datacontenttype", "not a valid media type", func(e *Event) { e.DataContentType = "text/plain; charset" }},
		{"content type space", "datacontenttype", "not a valid media type", func(e *Event) { e.DataContentType = "text /plain" }},
		{"ext upper case", "Trace", "only lower-case", func(e *Event) { e.SetExtension("Trace", "x") }},
		{"ext underscore", "my_ext", "only lower-case", func(e *Event) { e.SetExtension("my_ext", "x") }},
		{"ext data", "data", "reserved", func(e *Event) { e.SetExtension("data", "x") }},
		{"ext data_base64", "data_base64", "only lower-case", func(e *Event) { e.SetExtension("data_base64", "x") }},
		{"ext core name", "subject", "reserved", func(e *Event) { e.SetExtension("subject", "x") }},
		{"ext empty name", "", "empty extension name", func(e *Event) { e.SetExtension("", "x") }},
		{"ext control char", "note", "control character", func(e *Event) { e.SetExtension("note", "a\nb") }},
		{"ext invalid utf8", "note", "not valid UTF-8", func(e *Event) { e.SetExtension("note", "\xc0\xa0") }},
		{"id noncharacter", "id", "noncharacter", func(e *Event) { e.ID = "a\uFFFE" }},
		{"subject C1 control", "subject", "control character", func(e *Event) { e.Subject = "\u0085" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.mutate(e)
			wantInvalid(t, e.Validate(), -1, tt.attr, tt.problem)
		})
	}
}

func TestValidateReportsLowestBadExtension(t *testing.T) {
	e := validEvent()
	for _, n := range []string{"Zed", "B_x", "Abc", "data"} {
		e.SetExtension(n, "v")
	}
	for range 20 { // map order varies between runs
		wantInvalid(t, e.Validate(), -1, "Abc", "only lower-case")
	}
}

func TestValidationErrorMessage(t *testing.T) {
	tests := []struct {
		err  ValidationError
		want string
	}{
		{ValidationError{Index: -1, Attribute: "id", Problem: "required but missing"}, `attribute "id": required but missing`},
		{ValidationError{Index: 3, Attribute: "source", Problem: "required but missing"}, `event 3: attribute "source": required but missing`},
		{ValidationError{Index: -1, Problem: "invalid JSON: x"}, `invalid JSON: x`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestCloneKeepsEmptyData(t *testing.T) {
	e := validEvent()
	e.Data = []byte{}
	if c := e.Clone(); c.Data == nil {
		t.Fatal("Clone turned empty Data into nil")
	}
	e.Data = nil
	if c := e.Clone(); c.Data != nil {
		t.Fatal("Clone turned nil Data into non-nil")
	}
}
