package delivery_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
)

func sendEvent(id string) *cloudevent.Event {
	return &cloudevent.Event{
		SpecVersion:     "1.0",
		ID:              id,
		Source:          "/send/test",
		Type:            "dev.freshet.send",
		Subject:         "café au lait",
		DataContentType: "application/json",
		Extensions:      map[string]string{"tenant": "acme"},
		Data:            []byte(`{"x":1}`),
	}
}

// captured is one request as the function saw it.
type captured struct {
	header http.Header
	body   []byte
}

func capture(t *testing.T, status int, reply func(w http.ResponseWriter)) (*httptest.Server, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{header: r.Header.Clone(), body: b})
		mu.Unlock()
		if reply != nil {
			reply(w)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

func TestSendBinaryRequest(t *testing.T) {
	srv, requests := capture(t, http.StatusNoContent, nil)
	e := sendEvent("a1")
	replies, err := delivery.NewSender().Send(context.Background(), srv.URL, []*cloudevent.Event{e}, false, 5*time.Second)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(replies) != 0 {
		t.Fatalf("204 gave %d replies, want 0", len(replies))
	}
	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	h := reqs[0].header
	want := map[string]string{
		"Ce-Specversion": "1.0",
		"Ce-Id":          "a1",
		"Ce-Source":      "/send/test",
		"Ce-Type":        "dev.freshet.send",
		"Ce-Subject":     "caf%C3%A9%20au%20lait",
		"Ce-Tenant":      "acme",
		"Content-Type":   "application/json",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Fatalf("header %s = %q, want %q", k, got, v)
		}
	}
	if string(reqs[0].body) != `{"x":1}` {
		t.Fatalf("body = %q", reqs[0].body)
	}
	// And the request reads back as the same event.
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(reqs[0].body)))
	r.Header = h
	back, err := cloudevent.ReadRequest(r, 0)
	if err != nil || len(back) != 1 || back[0].Subject != e.Subject || back[0].Extensions["tenant"] != "acme" {
		t.Fatalf("request read back as %+v, %v", back, err)
	}
}

func TestSendBatchRequest(t *testing.T) {
	srv, requests := capture(t, http.StatusOK, nil)
	events := []*cloudevent.Event{sendEvent("b1"), sendEvent("b2"), sendEvent("b3")}
	replies, err := delivery.NewSender().Send(context.Background(), srv.URL, events, true, 5*time.Second)
	if err != nil || len(replies) != 0 {
		t.Fatalf("Send = %v, %v; want no replies, no error", replies, err)
	}
	reqs := requests()
	if ct := reqs[0].header.Get("Content-Type"); ct != cloudevent.BatchContentType {
		t.Fatalf("Content-Type = %q", ct)
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(reqs[0].body)))
	r.Header.Set("Content-Type", cloudevent.BatchContentType)
	back, err := cloudevent.ReadRequest(r, 0)
	if err != nil || len(back) != 3 || back[2].ID != "b3" {
		t.Fatalf("batch read back as %+v, %v", back, err)
	}
}

func TestSendOutcomes(t *testing.T) {
	reply := sendEvent("r1")
	reply.Type = "dev.freshet.reply"
	big := strings.Repeat("x", 5000)
	cases := []struct {
		name        string
		handler     func(w http.ResponseWriter)
		wantReplies int
		wantCode    int // 0 with wantErr: transport-level failure
		wantErr     bool
		retriable   bool
		retryAfter  time.Duration
		wantBody    string
	}{
		{
			name:    "200 no body",
			handler: func(w http.ResponseWriter) { w.WriteHeader(200) },
		},
		{
			name:    "202 no body",
			handler: func(w http.ResponseWriter) { w.WriteHeader(202) },
		},
		{
			name:        "200 binary reply",
			handler:     func(w http.ResponseWriter) { cloudevent.WriteResponse(w, 200, reply) },
			wantReplies: 1,
		},
		{
			name: "200 batch reply",
			handler: func(w http.ResponseWriter) {
				b, _ := cloudevent.MarshalBatch([]*cloudevent.Event{reply, sendEvent("r2")})
				w.Header().Set("Content-Type", cloudevent.BatchContentType)
				w.Write(b)
			},
			wantReplies: 2,
		},
		{
			name: "200 with invalid CloudEvent",
			handler: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "hello, not an event")
			},
			wantErr: true, wantCode: 200, retriable: false,
		},
		{
			name: "200 with an event missing its source",
			handler: func(w http.ResponseWriter) {
				w.Header().Set("Ce-Specversion", "1.0")
				w.Header().Set("Ce-Id", "x")
				w.Header().Set("Ce-Type", "t")
				w.WriteHeader(200)
			},
			wantErr: true, wantCode: 200, retriable: false,
		},
		{
			name: "503 Retry-After 2",
			handler: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(503)
				io.WriteString(w, "busy")
			},
			wantErr: true, wantCode: 503, retriable: true, retryAfter: 2 * time.Second, wantBody: "busy",
		},
		{
			name: "429 Retry-After 7",
			handler: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(429)
			},
			wantErr: true, wantCode: 429, retriable: true, retryAfter: 7 * time.Second,
		},
		{
			name: "500 Retry-After ignored",
			handler: func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(500)
				io.WriteString(w, "oops")
			},
			wantErr: true, wantCode: 500, retriable: true, wantBody: "oops",
		},
		{
			name: "422 permanent with body",
			handler: func(w http.ResponseWriter) {
				w.WriteHeader(422)
				io.WriteString(w, `{"error":"bad"}`)
			},
			wantErr: true, wantCode: 422, retriable: false, wantBody: `{"error":"bad"}`,
		},
		{
			name: "500 body truncated to 1 KiB",
			handler: func(w http.ResponseWriter) {
				w.WriteHeader(500)
				io.WriteString(w, big)
			},
			wantErr: true, wantCode: 500, retriable: true, wantBody: big[:delivery.MaxBody],
		},
		{
			name:    "404",
			handler: func(w http.ResponseWriter) { http.NotFound(w, nil) },
			wantErr: true, wantCode: 404, retriable: true, wantBody: "404 page not found\n",
		},
	}
	sender := delivery.NewSender()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := capture(t, 0, tc.handler)
			replies, err := sender.Send(context.Background(), srv.URL, []*cloudevent.Event{sendEvent("s1")}, false, 5*time.Second)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if len(replies) != tc.wantReplies {
					t.Fatalf("%d replies, want %d", len(replies), tc.wantReplies)
				}
				if tc.wantReplies > 0 && (replies[0].ID != "r1" || replies[0].Type != "dev.freshet.reply") {
					t.Fatalf("reply = %+v", replies[0])
				}
				return
			}
			var f *delivery.Failure
			if !errors.As(err, &f) {
				t.Fatalf("Send error = %v (%T), want a *delivery.Failure", err, err)
			}
			if replies != nil {
				t.Fatalf("replies %v with a failure", replies)
			}
			if f.Code != tc.wantCode || f.Retriable() != tc.retriable || f.RetryAfter != tc.retryAfter {
				t.Fatalf("failure = {Code %d, Retriable %v, RetryAfter %v}, want {%d, %v, %v}",
					f.Code, f.Retriable(), f.RetryAfter, tc.wantCode, tc.retriable, tc.retryAfter)
			}
			if f.Destination != srv.URL {
				t.Fatalf("destination = %q, want %q", f.Destination, srv.URL)
			}
			if tc.wantBody != "" && string(f.Body) != tc.wantBody {
				t.Fatalf("body = %q (%d bytes), want %q (%d bytes)", f.Body, len(f.Body), tc.wantBody, len(tc.wantBody))
			}
			if len(f.Body) > delivery.MaxBody {
				t.Fatalf("body of %d bytes kept, max %d", len(f.Body), delivery.MaxBody)
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body so that net/http watches the connection and
		// cancels r.Context when the client gives up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	const timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := delivery.NewSender().Send(context.Background(), srv.URL, []*cloudevent.Event{sendEvent("t1")}, false, timeout)
	elapsed := time.Since(start)
	var f *delivery.Failure
	if !errors.As(err, &f) {
		t.Fatalf("Send error = %v (%T), want a *delivery.Failure", err, err)
	}
	if f.Code != 0 || !f.Retriable() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout failure = %+v (retriable %v), want code 0, retriable, wrapping DeadlineExceeded", f, f.Retriable())
	}
	if elapsed < timeout {
		t.Fatalf("Send gave up after %v, before its %v timeout", elapsed, timeout)
	}
	if elapsed > 20*time.Second {
		t.Fatalf("Send took %v with a %v timeout", elapsed, timeout)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	_, err = delivery.NewSender().Send(context.Background(), url, []*cloudevent.Event{sendEvent("c1")}, false, 5*time.Second)
	var f *delivery.Failure
	if !errors.As(err, &f) || f.Code != 0 || !f.Retriable() || f.Destination != url {
		t.Fatalf("connection refused gave %v (%+v), want a retriable code-0 failure to %s", err, f, url)
	}
}

func TestSendPermanentBeforeSending(t *testing.T) {
	srv, requests := capture(t, 200, nil)
	bad := sendEvent("p1")
	bad.Source = ""
	cases := []struct {
		name   string
		events []*cloudevent.Event
		batch  bool
	}{
		{"invalid event", []*cloudevent.Event{bad}, false},
		{"invalid event in batch", []*cloudevent.Event{sendEvent("p2"), bad}, true},
		{"two events without batch mode", []*cloudevent.Event{sendEvent("p3"), sendEvent("p4")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := delivery.NewSender().Send(context.Background(), srv.URL, tc.events, tc.batch, time.Second)
			var f *delivery.Failure
			if !errors.As(err, &f) || f.Retriable() {
				t.Fatalf("Send = %v, want a permanent *delivery.Failure", err)
			}
		})
	}
	if n := len(requests()); n != 0 {
		t.Fatalf("%d requests sent for events that cannot be encoded", n)
	}
}
