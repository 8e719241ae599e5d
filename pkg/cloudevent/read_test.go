package cloudevent

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// request builds a POST request; header keys are used as given (not
// canonicalised) so tests can check case-insensitive handling.
func request(headers map[string]string, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	for k, v := range headers {
		r.Header[k] = append(r.Header[k], v)
	}
	return r
}

func binaryHeaders(extra map[string]string) map[string]string {
	h := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "id-1", "Ce-Source": "/src", "Ce-Type": "dev.t"}
	for k, v := range extra {
		if v == "<delete>" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	return h
}

func base() Event { return Event{SpecVersion: "1.0", ID: "id-1", Source: "/src", Type: "dev.t"} }

func with(f func(e *Event)) *Event { e := base(); f(&e); return &e }

func TestReadRequestBinary(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		want    *Event
	}{
		{"minimal, empty body is nil data", binaryHeaders(nil), "", with(func(e *Event) {})},
		{"data and content type", binaryHeaders(map[string]string{"Content-Type": "application/json; charset=utf-8"}), `{"a":1}`,
			with(func(e *Event) { e.DataContentType = "application/json; charset=utf-8"; e.Data = []byte(`{"a":1}`) })},
		{"no content type keeps bytes", binaryHeaders(nil), "\x00\xff",
			with(func(e *Event) { e.Data = []byte("\x00\xff") })},
		{"header names any case", map[string]string{"CE-SPECVERSION": "1.0", "ce-id": "id-1", "cE-Source": "/src", "Ce-type": "dev.t", "CE-MyExt": "v"}, "",
			with(func(e *Event) { e.SetExtension("myext", "v") })},
		{"optional attributes", binaryHeaders(map[string]string{"Ce-Subject": "s", "Ce-Time": "2024-01-02T03:04:05Z", "Ce-Dataschema": "https://x/s"}), "",
			with(func(e *Event) { e.Subject = "s"; e.Time = "2024-01-02T03:04:05Z"; e.DataSchema = "https://x/s" })},
		{"percent-decoded values", binaryHeaders(map[string]string{"Ce-Subject": "caf%C3%A9%20au%20%22lait%22", "Ce-Note": "100%25%e2%82%ac"}), "",
			with(func(e *Event) { e.Subject = `café au "lait"`; e.SetExtension("note", "100%€") })},
		{"raw UTF-8 accepted", binaryHeaders(map[string]string{"Ce-Subject": "café"}), "", with(func(e *Event) { e.Subject = "café" })},
		{"non-CE content type with ce headers is binary", binaryHeaders(map[string]string{"Content-Type": "text/plain"}), "hi",
			with(func(e *Event) { e.DataContentType = "text/plain"; e.Data = []byte("hi") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRequest(request(tt.headers, tt.body), 1<<20)
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Fatalf("ReadRequest = %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

func TestReadRequestRejects(t *testing.T) {
	tests := []struct {
		name          string
		headers       map[string]string
		body          string
		attr, problem string
	}{
		{"not a CloudEvent", map[string]string{"Content-Type": "text/plain"}, "hello", "", "not a CloudEvent: no ce- headers"},
		{"no headers at all", nil, "hello", "", "not a CloudEvent"},
		{"missing specversion", binaryHeaders(map[string]string{"Ce-Specversion": "<delete>"}), "", "specversion", "required but missing"},
		{"wrong specversion", binaryHeaders(map[string]string{"Ce-Specversion": "0.3"}), "", "specversion", "unsupported version"},
		{"missing id", binaryHeaders(map[string]string{"Ce-Id": "<delete>"}), "", "id", "required but missing"},
		{"overlong UTF-8", binaryHeaders(map[string]string{"Ce-Subject": "%C0%A0"}), "", "subject", "percent-decoded value is not valid UTF-8"},
		{"lone continuation byte", binaryHeaders(map[string]string{"Ce-Id": "a%80"}), "", "id", "percent-decoded value is not valid UTF-8"},
		{"raw invalid UTF-8", binaryHeaders(map[string]string{"Ce-Id": "a\xff"}), "", "id", "not valid UTF-8"},
		{"short escape", binaryHeaders(map[string]string{"Ce-Id": "a%4"}), "", "id", "malformed percent-encoding"},
		{"trailing percent", binaryHeaders(map[string]string{"Ce-Id": "a%"}), "", "id", "malformed percent-encoding"},
		{"non-hex escape", binaryHeaders(map[string]string{"Ce-Myext": "%G1"}), "", "myext", "malformed percent-encoding"},
		{"decoded control char", binaryHeaders(map[string]string{"Ce-Subject": "a%0Ab"}), "", "subject", "control character"},
		{"ce-datacontenttype header", binaryHeaders(map[string]string{"Ce-Datacontenttype": "text/plain"}), "", "datacontenttype", "Content-Type"},
		{"duplicate core via case", binaryHeaders(map[string]string{"ce-id": "other"}), "", "id", "more than once"},
		{"ce-data header", binaryHeaders(map[string]string{"Ce-Data": "x"}), "", "data", "reserved"},
		{"bad extension name", binaryHeaders(map[string]string{"Ce-My_ext": "x"}), "", "my_ext", "only lower-case"},
		{"bad content type", binaryHeaders(map[string]string{"Content-Type": "json"}), "{}", "datacontenttype", "not a valid media type"},
		{"bad source", binaryHeaders(map[string]string{"Ce-Source": "a%20b c"}), "", "source", "not a URI-reference"},
		{"unsupported format", map[string]string{"Content-Type": "application/cloudevents+xml"}, "<x/>", "", "unsupported CloudEvents format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRequest(request(tt.headers, tt.body), 1<<20)
			if got != nil {
				t.Errorf("events = %v, want nil", got)
			}
			wantInvalid(t, err, -1, tt.attr, tt.problem)
		})
	}
}

func TestReadRequestRepeatedHeader(t *testing.T) {
	r := request(binaryHeaders(nil), "")
	r.Header.Add("Ce-Type", "dev.other")
	_, err := ReadRequest(r, 0)
	wantInvalid(t, err, -1, "type", "appears 2 times")
}

func TestReadRequestTooLarge(t *testing.T) {
	body := strings.Repeat("x", 101)
	tests := map[string]func() *http.Request{
		"content length": func() *http.Request { return request(binaryHeaders(nil), body) },
		"unknown length": func() *http.Request {
			r := request(binaryHeaders(nil), "")
			r.Body, r.ContentLength = io.NopCloser(io.MultiReader(strings.NewReader(body))), -1
			return r
		},
		"lying length": func() *http.Request {
			r := request(binaryHeaders(nil), body)
			r.ContentLength = 10
			return r
		},
		"max bytes reader": func() *http.Request {
			r := request(binaryHeaders(nil), body)
			r.Body, r.ContentLength = http.MaxBytesReader(nil, r.Body, 50), -1
			return r
		},
		"structured": func() *http.Request {
			return request(map[string]string{"Content-Type": StructuredContentType}, `{"data":"`+body+`"}`)
		},
	}
	for name, mk := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadRequest(mk(), 100)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error = %v, want ErrTooLarge", err)
			}
		})
	}
	t.Run("exactly max", func(t *testing.T) {
		got, err := ReadRequest(request(binaryHeaders(nil), body[:100]), 100)
		if err != nil || len(got) != 1 || len(got[0].Data) != 100 {
			t.Fatalf("ReadRequest = %v, %v; want one event with 100 bytes", got, err)
		}
	})
}

func TestReadResponse(t *testing.T) {
	response := func(status int, headers map[string]string, body string) *http.Response {
		rec := httptest.NewRecorder()
		for k, v := range headers {
			rec.Header()[k] = []string{v}
		}
		rec.WriteHeader(status)
		_, _ = io.WriteString(rec, body)
		return rec.Result()
	}
	t.Run("empty is a filter", func(t *testing.T) {
		for _, status := range []int{200, 202, 204} {
			got, err := ReadResponse(response(status, nil, ""), 0)
			if err != nil || len(got) != 0 {
				t.Fatalf("status %d: ReadResponse = %v, %v; want no events", status, got, err)
			}
		}
	})
	t.Run("binary", func(t *testing.T) {
		got, err := ReadResponse(response(200, binaryHeaders(map[string]string{"Content-Type": "text/plain"}), "ok"), 0)
		want := with(func(e *Event) { e.DataContentType = "text/plain"; e.Data = []byte("ok") })
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("ReadResponse = %v, %v; want %v", got, err, want)
		}
	})
	t.Run("structured", func(t *testing.T) {
		got, err := ReadResponse(response(200, map[string]string{"Content-Type": StructuredContentType},
			`{"specversion":"1.0","id":"id-1","source":"/src","type":"dev.t"}`), 0)
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], with(func(*Event) {})) {
			t.Fatalf("ReadResponse = %v, %v", got, err)
		}
	})
	t.Run("batch", func(t *testing.T) {
		got, err := ReadResponse(response(200, map[string]string{"Content-Type": BatchContentType}, `[]`), 0)
		if err != nil || len(got) != 0 {
			t.Fatalf("ReadResponse = %v, %v; want no events", got, err)
		}
	})
	t.Run("body without event", func(t *testing.T) {
		_, err := ReadResponse(response(200, map[string]string{"Content-Type": "text/plain"}, "done"), 0)
		wantInvalid(t, err, -1, "", "not a CloudEvent")
	})
	t.Run("invalid reply event", func(t *testing.T) {
		_, err := ReadResponse(response(200, binaryHeaders(map[string]string{"Ce-Type": "<delete>"}), ""), 0)
		wantInvalid(t, err, -1, "type", "required but missing")
	})
}
