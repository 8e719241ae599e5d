package cloudevent

import (
	"reflect"
	"testing"
)

func structured(body string) ([]*Event, error) {
	return ReadRequest(request(map[string]string{"Content-Type": "Application/CloudEvents+JSON; charset=UTF-8"}, body), 1<<20)
}

const head = `"specversion":"1.0","id":"id-1","source":"/src","type":"dev.t"`

func TestReadStructured(t *testing.T) {
	tests := []struct {
		name, body string
		want       *Event
	}{
		{"minimal", `{` + head + `}`, with(func(e *Event) {})},
		{"json data without content type", `{` + head + `,"data":{"a": [1, 2]}}`,
			with(func(e *Event) { e.Data = []byte(`{"a": [1, 2]}`) })},
		{"json string data without content type stays JSON", `{` + head + `,"data":"hi"}`,
			with(func(e *Event) { e.Data = []byte(`"hi"`) })},
		{"json string data with JSON content type stays JSON", `{` + head + `,"datacontenttype":"application/json","data":"hi"}`,
			with(func(e *Event) { e.DataContentType = "application/json"; e.Data = []byte(`"hi"`) })},
		{"+json content type", `{` + head + `,"datacontenttype":"application/vnd.x+json","data":"hi"}`,
			with(func(e *Event) { e.DataContentType = "application/vnd.x+json"; e.Data = []byte(`"hi"`) })},
		{"text data becomes the string", `{` + head + `,"datacontenttype":"text/plain","data":"h\u00e9\n\"x\""}`,
			with(func(e *Event) { e.DataContentType = "text/plain"; e.Data = []byte("hé\n\"x\"") })},
		{"empty text data is empty, not nil", `{` + head + `,"datacontenttype":"text/plain","data":""}`,
			with(func(e *Event) { e.DataContentType = "text/plain"; e.Data = []byte{} })},
		{"non-string data with text type stays raw", `{` + head + `,"datacontenttype":"text/plain","data":42}`,
			with(func(e *Event) { e.DataContentType = "text/plain"; e.Data = []byte(`42`) })},
		{"data_base64", `{` + head + `,"datacontenttype":"application/octet-stream","data_base64":"AP8="}`,
			with(func(e *Event) { e.DataContentType = "application/octet-stream"; e.Data = []byte{0, 0xff} })},
		{"empty data_base64", `{` + head + `,"data_base64":""}`, with(func(e *Event) { e.Data = []byte{} })},
		{"extension kinds", `{` + head + `,"s":"v","n":-42,"z":0,"b":true,"f":false}`,
			with(func(e *Event) {
				e.Extensions = map[string]string{"s": "v", "n": "-42", "z": "0", "b": "true", "f": "false"}
			})},
		{"nulls are absent", `{` + head + `,"subject":null,"ext":null,"data":null,"data_base64":"AA=="}`,
			with(func(e *Event) { e.Data = []byte{0} })},
		{"optional attributes", `{` + head + `,"subject":"s","time":"2024-01-02T03:04:05.5+01:00","dataschema":"urn:x:y"}`,
			with(func(e *Event) { e.Subject = "s"; e.Time = "2024-01-02T03:04:05.5+01:00"; e.DataSchema = "urn:x:y" })},
		{"escaped attribute", `{"specversion":"1.0","id":"\u0069d-1","source":"\/src","type":"dev.t"}`, with(func(e *Event) {})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := structured(tt.body)
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Fatalf("ReadRequest =\n %+v\nwant\n %+v", got[0], tt.want)
			}
		})
	}
}

func TestReadStructuredRejects(t *testing.T) {
	tests := []struct{ name, body, attr, problem string }{
		{"invalid JSON", `{` + head, "", "invalid JSON"},
		{"trailing garbage", `{` + head + `} x`, "", "invalid JSON"},
		{"empty body", ``, "", "invalid JSON"},
		{"invalid UTF-8", `{` + head + `,"subject":"` + "\xff" + `"}`, "", "not valid UTF-8"},
		{"array", `[]`, "", "must be a JSON object, got an array"},
		{"id number", `{"specversion":"1.0","id":7,"source":"/src","type":"dev.t"}`, "id", "must be a JSON string, got a number"},
		{"specversion number", `{"specversion":1.0,"id":"1","source":"/src","type":"dev.t"}`, "specversion", "must be a JSON string"},
		{"type object", `{"specversion":"1.0","id":"1","source":"/src","type":{}}`, "type", "must be a JSON string, got an object"},
		{"null id is missing", `{"specversion":"1.0","id":null,"source":"/src","type":"dev.t"}`, "id", "required but missing"},
		{"missing source", `{"specversion":"1.0","id":"1","type":"dev.t"}`, "source", "required but missing"},
		{"data and data_base64", `{` + head + `,"data":{},"data_base64":"AA=="}`, "data", `"data" and "data_base64"`},
		{"bad base64", `{` + head + `,"data_base64":"!!"}`, "data_base64", "invalid base64"},
		{"unpadded base64", `{` + head + `,"data_base64":"AA"}`, "data_base64", "invalid base64"},
		{"base64 not a string", `{` + head + `,"data_base64":12}`, "data_base64", "must be a JSON string"},
		{"float extension", `{` + head + `,"n":1.5}`, "n", "not a 32-bit integer"},
		{"exponent extension", `{` + head + `,"n":1e3}`, "n", "not a 32-bit integer"},
		{"out of range extension", `{` + head + `,"n":2147483648}`, "n", "not a 32-bit integer"},
		{"object extension", `{` + head + `,"o":{"a":1}}`, "o", "must be a string, integer or boolean"},
		{"array extension", `{` + head + `,"o":[1]}`, "o", "must be a string, integer or boolean"},
		{"bad extension name", `{` + head + `,"Bad":"x"}`, "Bad", "only lower-case"},
		{"duplicate member", `{` + head + `,"id":"again"}`, "id", "appears more than once"},
		{"control character", `{` + head + `,"subject":"a\u0007"}`, "subject", "control character"},
		{"bad time", `{` + head + `,"time":"yesterday"}`, "time", "not an RFC 3339 timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := structured(tt.body)
			wantInvalid(t, err, -1, tt.attr, tt.problem)
		})
	}
}

func batch(body string) ([]*Event, error) {
	return ReadRequest(request(map[string]string{"Content-Type": "application/CloudEvents-Batch+json"}, body), 1<<20)
}

func TestReadBatch(t *testing.T) {
	got, err := batch(` [ {` + head + `}, {"specversion":"1.0","id":"id-2","source":"/src","type":"dev.t","data":[1]} ] `)
	if err != nil {
		t.Fatalf("ReadRequest: %v", err)
	}
	want := []*Event{with(func(*Event) {}), with(func(e *Event) { e.ID = "id-2"; e.Data = []byte("[1]") })}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadRequest = %+v, want %+v", got, want)
	}
	for _, empty := range []string{`[]`, " [ ]\n"} {
		got, err := batch(empty)
		if err != nil || len(got) != 0 {
			t.Fatalf("ReadRequest(%q) = %v, %v; want zero events", empty, got, err)
		}
	}
}

func TestReadBatchRejects(t *testing.T) {
	tests := []struct {
		name, body    string
		index         int
		attr, problem string
	}{
		{"object", `{` + head + `}`, -1, "", "must be a JSON array"},
		{"invalid JSON", `[{` + head + `}`, -1, "", "invalid JSON"},
		{"empty body", ``, -1, "", "invalid JSON"},
		{"second event bad", `[{` + head + `},{"specversion":"1.0","id":"2","type":"t"}]`, 1, "source", "required but missing"},
		{"element not an object", `[{` + head + `},{` + head + `},{` + head + `},"x"]`, 3, "", "must be a JSON object"},
		{"data both in batch", `[{` + head + `,"data":1,"data_base64":"AA=="}]`, 0, "data", `"data" and "data_base64"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := batch(tt.body)
			wantInvalid(t, err, tt.index, tt.attr, tt.problem)
		})
	}
}
