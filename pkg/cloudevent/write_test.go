package cloudevent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestWriteBinaryPercentEncodes(t *testing.T) {
	e := with(func(e *Event) {
		e.Subject = `café "x" 100%`
		e.SetExtension("note", "a~b!#é\u007e")
		e.DataContentType = "text/plain; charset=utf-8"
	})
	h := http.Header{"Content-Type": {"stale"}, "Ce-Time": {"stale"}}
	WriteBinary(h, e)
	want := http.Header{
		"Ce-Specversion": {"1.0"}, "Ce-Id": {"id-1"}, "Ce-Source": {"/src"}, "Ce-Type": {"dev.t"},
		"Ce-Subject":   {"caf%C3%A9%20%22x%22%20100%25"},
		"Ce-Note":      {"a~b!#%C3%A9~"},
		"Content-Type": {"text/plain; charset=utf-8"},
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("headers =\n %v\nwant\n %v", h, want)
	}
}

func TestPercentDecode(t *testing.T) {
	tests := []struct{ in, want, problem string }{
		{"plain", "plain", ""},
		{"", "", ""},
		{"a%20b", "a b", ""},
		{"%25%2525", "%%25", ""},
		{"%e2%82%AC", "€", ""},
		{"%F0%9F%98%80", "😀", ""},
		{"%C0%A0", "", "percent-decoded value is not valid UTF-8"},
		{"%ED%A0%80", "", "percent-decoded value is not valid UTF-8"}, // surrogate
		{"%E2%82", "", "percent-decoded value is not valid UTF-8"},    // truncated
		{"\xff", "", "not valid UTF-8"},
		{"%", "", "malformed percent-encoding at byte 0"},
		{"ab%4", "", "malformed percent-encoding at byte 2"},
		{"%zz", "", "malformed percent-encoding at byte 0"},
		{"%%41", "", "malformed percent-encoding at byte 0"},
	}
	for _, tt := range tests {
		got, problem := percentDecode(tt.in)
		if got != tt.want || problem != tt.problem {
			t.Errorf("percentDecode(%q) = %q, %q; want %q, %q", tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

func TestPercentRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "%", "%%41", `"`, "\u00e9\u4e16\U0001F600", "\x7f\x01", "~!*'()"} {
		enc := percentEncode(s)
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c <= 0x20 || c >= 0x7f || c == '"' {
				t.Fatalf("percentEncode(%q) = %q has byte %#x", s, enc, c)
			}
		}
		dec, problem := percentDecode(enc)
		if problem != "" || dec != s {
			t.Fatalf("percentDecode(percentEncode(%q)) = %q, %q", s, dec, problem)
		}
	}
}

// echoServer answers every event with itself in binary mode.
func echoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		events, err := ReadRequest(r, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(events) != 1 {
			body, _ := MarshalBatch(events)
			w.Header().Set("Content-Type", BatchContentType)
			_, _ = w.Write(body)
			return
		}
		WriteResponse(w, http.StatusOK, events[0])
	}))
	t.Cleanup(srv.Close)
	return srv
}

// roundTripEvents are events every encoding must carry unchanged.
func roundTripEvents() map[string]*Event {
	return map[string]*Event{
		"minimal":     with(func(*Event) {}),
		"json":        validEvent(),
		"binary data": with(func(e *Event) { e.DataContentType = "application/octet-stream"; e.Data = []byte{0, 1, 0xfe, 0xff} }),
		"untyped bytes": with(func(e *Event) {
			e.Data = []byte("not json <html>") // no content type: must not be sniffed
		}),
		"everything": with(func(e *Event) {
			e.ID = "ключ 😀 \"q\" 100%"
			e.Source = "https://example.com/a%20b?x=1#f"
			e.Subject = "tab\u00a0nbsp"
			e.Time = "2024-03-01T12:00:00.123+02:00"
			e.DataSchema = "urn:schema:1"
			e.DataContentType = "text/plain; charset=utf-8"
			e.Extensions = map[string]string{"a": "", "b1": "x y", "traceparent": "00-1-2-01"}
			e.Data = []byte("hello\nworld")
		}),
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	srv := echoServer(t)
	for name, e := range roundTripEvents() {
		t.Run(name, func(t *testing.T) {
			req, err := NewRequest(context.Background(), srv.URL, e)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := ReadResponse(resp, 0)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d, ReadResponse: %v", resp.StatusCode, err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], e) {
				t.Fatalf("round trip =\n %+v\nwant\n %+v", got[0], e)
			}
		})
	}
}

func TestStructuredRoundTrip(t *testing.T) {
	events := roundTripEvents()
	events["empty text"] = with(func(e *Event) { e.DataContentType = "text/plain"; e.Data = []byte{} })
	events["empty untyped"] = with(func(e *Event) { e.Data = []byte{} })
	events["json string"] = with(func(e *Event) { e.Data = []byte(`"s"`) })
	events["invalid json"] = with(func(e *Event) { e.DataContentType = "application/json"; e.Data = []byte(`{`) })
	events["bad utf8 text"] = with(func(e *Event) { e.DataContentType = "text/plain"; e.Data = []byte{0xff} })
	for name, e := range events {
		t.Run(name, func(t *testing.T) {
			b, err := MarshalJSON(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseStructured(b)
			if err != nil {
				t.Fatalf("parse %s: %v", b, err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Fatalf("round trip of %s =\n %+v\nwant\n %+v", b, got, e)
			}
		})
	}
}

func TestMarshalJSONDataForms(t *testing.T) {
	tests := []struct {
		ct, data, want string
	}{
		{"", `{"a":1}`, `,"data":{"a":1}}`},
		{"application/cloudevents-x+json", `[1]`, `,"data":[1]}`},
		{"application/json", `{`, `,"data_base64":"ew=="}`},
		{"text/csv", "a,b\n", `,"data":"a,b\n"}`},
		{"application/xml", "<x/>", `,"data_base64":"PHgvPg=="}`},
	}
	for _, tt := range tests {
		e := with(func(e *Event) { e.DataContentType = tt.ct; e.Data = []byte(tt.data) })
		b, err := MarshalJSON(e)
		if err != nil || !strings.HasSuffix(string(b), tt.want) {
			t.Errorf("MarshalJSON(%q, %q) = %s, %v; want suffix %s", tt.ct, tt.data, b, err, tt.want)
		}
	}
}

func TestBatchRoundTrip(t *testing.T) {
	srv := echoServer(t)
	var events []*Event
	for _, e := range roundTripEvents() {
		events = append(events, e)
	}
	req, err := NewBatchRequest(context.Background(), srv.URL, events)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := ReadResponse(resp, 0)
	if err != nil {
		t.Fatalf("ReadResponse: %v", err)
	}
	if !reflect.DeepEqual(got, events) {
		t.Fatalf("batch round trip = %+v, want %+v", got, events)
	}
	if b, err := MarshalBatch(nil); err != nil || string(b) != "[]" {
		t.Fatalf("MarshalBatch(nil) = %s, %v; want []", b, err)
	}
}

func TestWritersRejectInvalidEvents(t *testing.T) {
	bad := with(func(e *Event) { e.Source = "" })
	if _, err := MarshalJSON(bad); !errors.As(err, new(*ValidationError)) {
		t.Errorf("MarshalJSON error = %v, want ValidationError", err)
	}
	if _, err := NewRequest(context.Background(), "http://x", bad); !errors.As(err, new(*ValidationError)) {
		t.Errorf("NewRequest error = %v, want ValidationError", err)
	}
	_, err := NewBatchRequest(context.Background(), "http://x", []*Event{validEvent(), bad})
	wantInvalid(t, err, 1, "source", "required but missing")
}

func TestWriteResponseNil(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteResponse(rec, http.StatusNoContent, nil)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("got %d %q, want 204 and no body", rec.Code, rec.Body)
	}
}
