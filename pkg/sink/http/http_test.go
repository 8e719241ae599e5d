package http_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
	httpsink "github.com/freshetproj/freshet/pkg/sink/http"
)

func event(id string) *cloudevent.Event {
	return &cloudevent.Event{
		SpecVersion:     "1.0",
		ID:              id,
		Source:          "/sink/http",
		Type:            "dev.freshet.sink",
		Subject:         "ünïcode",
		DataContentType: "application/json",
		Data:            []byte(`{"id":"` + id + `"}`),
	}
}

type received struct {
	method, path string
	header       http.Header
	event        *cloudevent.Event
	err          error
}

// endpoint is a real HTTP server answering with status(i) to the i-th
// request (0-based), and recording what it got.
func endpoint(t *testing.T, status func(i int) int) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		events, err := cloudevent.ReadRequest(r, 0)
		rec := received{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), err: err}
		if err == nil && len(events) == 1 {
			rec.event = events[0]
		}
		mu.Lock()
		i := len(got)
		got = append(got, rec)
		mu.Unlock()
		code := status(i)
		if code == http.StatusOK {
			// A reply the sink must ignore.
			reply := event("reply")
			cloudevent.WriteResponse(w, code, reply)
			return
		}
		w.WriteHeader(code)
		io.WriteString(w, "sink says "+http.StatusText(code))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func TestDeliverPostsBinaryMode(t *testing.T) {
	srv, got := endpoint(t, func(int) int { return http.StatusOK })
	sink := &httpsink.Sink{URL: srv.URL + "/hook", Sender: delivery.NewSender(), Timeout: 5 * time.Second}
	events := []*cloudevent.Event{event("h1"), event("h2")}
	err := sink.Write(context.Background(), events)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want one per event", len(reqs))
	}
	for i, r := range reqs {
		if r.method != http.MethodPost || r.path != "/hook" {
			t.Fatalf("request %d: %s %s, want POST /hook", i, r.method, r.path)
		}
		if r.err != nil {
			t.Fatalf("request %d is not a CloudEvent: %v", i, r.err)
		}
		if r.header.Get("Ce-Id") != events[i].ID || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("request %d is not binary mode: %v", i, r.header)
		}
		if ce := r.header.Get("Ce-Subject"); ce != "%C3%BCn%C3%AFcode" {
			t.Fatalf("ce-subject = %q, want percent-encoded", ce)
		}
		e := r.event
		if e.ID != events[i].ID || e.Subject != "ünïcode" || string(e.Data) != string(events[i].Data) {
			t.Fatalf("request %d carried %+v, want %+v", i, e, events[i])
		}
	}
}

func TestDeliverFailures(t *testing.T) {
	cases := []struct {
		name      string
		status    func(i int) int
		wantCode  int
		retriable bool
		requests  int
	}{
		{"500", func(int) int { return 500 }, 500, true, 1},
		{"503", func(int) int { return 503 }, 503, true, 1},
		{"400", func(int) int { return 400 }, 400, false, 1},
		{"second event fails", func(i int) int {
			if i == 1 {
				return 500
			}
			return 200
		}, 500, true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := endpoint(t, tc.status)
			sink := &httpsink.Sink{URL: srv.URL, Sender: delivery.NewSender(), Timeout: 5 * time.Second}
			err := sink.Write(context.Background(), []*cloudevent.Event{event("f1"), event("f2"), event("f3")})
			var f *delivery.Failure
			if !errors.As(err, &f) {
				t.Fatalf("Deliver error = %v (%T), want *delivery.Failure", err, err)
			}
			if f.Code != tc.wantCode || f.Retriable() != tc.retriable || f.Destination != srv.URL {
				t.Fatalf("failure = %+v (retriable %v), want code %d retriable %v to %s", f, f.Retriable(), tc.wantCode, tc.retriable, srv.URL)
			}
			if want := "sink says " + http.StatusText(tc.wantCode); string(f.Body) != want {
				t.Fatalf("failure body = %q, want %q", f.Body, want)
			}
			if n := len(got()); n != tc.requests {
				t.Fatalf("%d requests, want %d (stop at the first failure)", n, tc.requests)
			}
		})
	}
}

func TestDeliverTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets net/http notice the client going away
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	const timeout = 200 * time.Millisecond
	sink := &httpsink.Sink{URL: srv.URL, Sender: delivery.NewSender(), Timeout: timeout}
	start := time.Now()
	err := sink.Write(context.Background(), []*cloudevent.Event{event("slow")})
	var f *delivery.Failure
	if !errors.As(err, &f) || f.Code != 0 || !f.Retriable() {
		t.Fatalf("Deliver to a hanging URL = %v, want a retriable code-0 failure", err)
	}
	if elapsed := time.Since(start); elapsed < timeout {
		t.Fatalf("gave up after %v, before the %v timeout", elapsed, timeout)
	}
}
