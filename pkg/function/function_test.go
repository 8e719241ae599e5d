package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/function"
)

func event(id string) *cloudevent.Event {
	return &cloudevent.Event{SpecVersion: "1.0", ID: id, Source: "/test", Type: "dev.freshet.test",
		DataContentType: "text/plain", Data: []byte("hello " + id)}
}

// testHandler replies with an upper-cased copy, except for special ids.
func testHandler(_ context.Context, e *cloudevent.Event) (*cloudevent.Event, error) {
	switch e.ID {
	case "filter":
		return nil, nil
	case "fail":
		return nil, errors.New("database down")
	case "permanent":
		return nil, fmt.Errorf("wrapped: %w", function.Permanent(errors.New("bad payload")))
	case "invalid":
		return &cloudevent.Event{SpecVersion: "1.0", ID: "x"}, nil
	case "panic":
		panic("boom")
	}
	r := e.Clone()
	r.ID += "-reply"
	r.Data = []byte(strings.ToUpper(string(e.Data)))
	return r, nil
}

func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(function.Handle(testHandler))
	t.Cleanup(srv.Close)
	return srv
}

// do returns a function sending a request built by a (request, error)
// constructor, failing the test on any error.
func do(t *testing.T) func(*http.Request, error) *http.Response {
	return func(req *http.Request, err error) *http.Response {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
}

func TestHealthz(t *testing.T) {
	resp, err := http.Get(server(t).URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
	}
}

func TestSingleEvent(t *testing.T) {
	srv := server(t)
	ctx := context.Background()
	for name, mk := range map[string]func(*cloudevent.Event) (*http.Request, error){
		"binary": func(e *cloudevent.Event) (*http.Request, error) { return cloudevent.NewRequest(ctx, srv.URL, e) },
		"structured": func(e *cloudevent.Event) (*http.Request, error) {
			return cloudevent.NewStructuredRequest(ctx, srv.URL, e)
		},
	} {
		t.Run(name, func(t *testing.T) {
			resp := do(t)(mk(event("a")))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Ce-Id") != "a-reply" {
				t.Fatalf("status %d, ce-id %q; want 200 and a binary-mode reply", resp.StatusCode, resp.Header.Get("Ce-Id"))
			}
			got, err := cloudevent.ReadResponse(resp, 0)
			if err != nil || len(got) != 1 || string(got[0].Data) != "HELLO A" {
				t.Fatalf("reply = %v, %v; want data HELLO A", got, err)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	srv := server(t)
	tests := []struct {
		id        string
		status    int
		errorText string
	}{
		{"filter", http.StatusNoContent, ""},
		{"fail", http.StatusInternalServerError, "database down"},
		{"permanent", http.StatusUnprocessableEntity, "wrapped: bad payload"},
		{"invalid", http.StatusInternalServerError, `handler returned an invalid event: attribute "source": required but missing`},
		{"panic", http.StatusInternalServerError, "handler panicked: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			resp := do(t)(cloudevent.NewRequest(context.Background(), srv.URL, event(tt.id)))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			if tt.errorText == "" {
				if len(body) != 0 {
					t.Fatalf("body = %q, want none", body)
				}
				return
			}
			var msg struct{ Error string }
			if err := json.Unmarshal(body, &msg); err != nil || msg.Error != tt.errorText {
				t.Fatalf("body = %s (%v), want {\"error\": %q}", body, err, tt.errorText)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	srv := server(t)
	tests := []struct {
		name, contentType, body string
		headers                 map[string]string
		status                  int
		errorText               string
	}{
		{"no event", "text/plain", "hi", nil, 400, "not a CloudEvent"},
		{"missing id", "", "", map[string]string{"Ce-Specversion": "1.0", "Ce-Source": "/s", "Ce-Type": "t"}, 400, `attribute "id": required but missing`},
		{"bad json", cloudevent.StructuredContentType, "{", nil, 400, "invalid JSON"},
		{"batch index", cloudevent.BatchContentType, `[{"specversion":"1.0","id":"1","source":"/s"}]`, nil, 400, `event 0: attribute "type"`},
		{"too large", "text/plain", strings.Repeat("x", function.MaxRequestBytes+1), map[string]string{"Ce-Id": "x"}, 413, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp := do(t)(req, err)
			var msg struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&msg)
			if resp.StatusCode != tt.status || !strings.Contains(msg.Error, tt.errorText) {
				t.Fatalf("got %d %q, want %d with error containing %q", resp.StatusCode, msg.Error, tt.status, tt.errorText)
			}
		})
	}
}

func TestBatch(t *testing.T) {
	srv := server(t)
	tests := []struct {
		name    string
		ids     []string
		status  int
		replies []string
	}{
		{"replies skip filtered", []string{"a", "filter", "b"}, 200, []string{"a-reply", "b-reply"}},
		{"one event is still a batch", []string{"a"}, 200, []string{"a-reply"}},
		{"all filtered", []string{"filter"}, 200, []string{}},
		{"empty batch", nil, 200, []string{}},
		{"error fails the batch", []string{"a", "fail"}, 500, nil},
		{"permanent fails the batch", []string{"permanent", "a"}, 422, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := []*cloudevent.Event{}
			for _, id := range tt.ids {
				events = append(events, event(id))
			}
			resp := do(t)(cloudevent.NewBatchRequest(context.Background(), srv.URL, events))
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != cloudevent.BatchContentType {
				t.Fatalf("Content-Type = %q, want batch", ct)
			}
			got, err := cloudevent.ReadResponse(resp, 0)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.replies) {
				t.Fatalf("reply ids = %v, want %v", ids, tt.replies)
			}
		})
	}
}

func TestMethodAndPath(t *testing.T) {
	srv := server(t)
	resp := do(t)(http.NewRequest(http.MethodGet, srv.URL+"/", nil))
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET / = %d, want 405", resp.StatusCode)
	}
	resp = do(t)(cloudevent.NewRequest(context.Background(), srv.URL+"/other", event("a")))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /other = %d, want 404", resp.StatusCode)
	}
}

func TestPermanent(t *testing.T) {
	if function.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	base := errors.New("x")
	p := function.Permanent(base)
	if !function.IsPermanent(fmt.Errorf("ctx: %w", p)) || !errors.Is(p, base) || p.Error() != "x" {
		t.Errorf("Permanent(%v) = %v: not permanent, or does not wrap", base, p)
	}
	if function.IsPermanent(base) {
		t.Error("plain error reported permanent")
	}
}
